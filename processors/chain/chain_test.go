package chain_test

import (
	"context"
	"errors"
	"flag"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/pipeline"
	"github.com/sluice-dev/sluice/processors/chain"
	"github.com/sluice-dev/sluice/processors/order"
	"github.com/sluice-dev/sluice/schemas"
)

func TestStagesFormAChain(t *testing.T) {
	stages := chain.All()
	if names := []string{stages[0].Name, stages[1].Name, stages[2].Name}; !slices.Equal(names, []string{"validate", "score", "decide"}) {
		t.Fatalf("stages %v, want validate, score, decide", names)
	}
	if stages[0].Input != chain.Placed {
		t.Errorf("the first stage reads %v, want placed", stages[0].Input)
	}
	for i, s := range stages {
		if !slices.Contains(s.Outputs, chain.Status) {
			t.Errorf("%s does not write the status topic", s.Name)
		}
		if i > 0 && !slices.Contains(stages[i-1].Outputs, s.Input) {
			t.Errorf("%s reads %v, which %s does not write (%v)", s.Name, s.Input, stages[i-1].Name, stages[i-1].Outputs)
		}
		if got, ok := chain.Lookup(s.Name); !ok || got.Name != s.Name {
			t.Errorf("Lookup(%q) = %v, %v", s.Name, got.Name, ok)
		}
	}
	if _, ok := chain.Lookup("status"); ok {
		t.Error(`Lookup("status") found a stage; the status view is not one`)
	}
}

func TestTopics(t *testing.T) {
	var zero chain.Topics
	ci := chain.Prefixed("ci")
	tests := []struct {
		topic       chain.Topic
		name, flag  string
		def, prefix string
	}{
		{chain.Placed, "placed", "placed-topic", "orders", "ci.orders"},
		{chain.Validated, "validated", "validated-topic", "orders.validated", "ci.orders.validated"},
		{chain.Scored, "scored", "scored-topic", "orders.scored", "ci.orders.scored"},
		{chain.Decided, "decided", "decided-topic", "orders.decided", "ci.orders.decided"},
		{chain.Status, "status", "status-topic", "order-status", "ci.order-status"},
	}
	for _, tt := range tests {
		if tt.topic.String() != tt.name || tt.topic.Flag() != tt.flag || zero.Of(tt.topic) != tt.def || ci.Of(tt.topic) != tt.prefix {
			t.Errorf("%v: name %q flag %q default %q prefixed %q; want %q %q %q %q", int(tt.topic),
				tt.topic, tt.topic.Flag(), zero.Of(tt.topic), ci.Of(tt.topic), tt.name, tt.flag, tt.def, tt.prefix)
		}
	}
}

func TestRegisterFlags(t *testing.T) {
	tests := []struct {
		stage chain.Stage
		args  []string
		want  func(c *chain.Config)
	}{
		{chain.Validate(), []string{"--validated-topic", "v", "--decided-topic", "d", "--status-topic", "s"}, func(c *chain.Config) {
			c.Topics = chain.Topics{Validated: "v", Decided: "d", Status: "s"}
		}},
		{chain.Score(), []string{"--scored-topic", "sc", "--model-seed", "7", "--model-trees", "10", "--model-depth", "3"}, func(c *chain.Config) {
			c.Topics.Scored = "sc"
			c.ModelSeed, c.ModelTrees, c.ModelDepth = 7, 10, 3
		}},
		{chain.Decide(), []string{"--risk-threshold", "0.5", "--limit-cents", "100"}, func(c *chain.Config) {
			c.Policy.Threshold, c.Policy.DefaultLimit = 0.5, 100
		}},
	}
	for _, tt := range tests {
		t.Run(tt.stage.Name, func(t *testing.T) {
			// Defaults: what DefaultConfig says, and every output topic's
			// name filled in.
			def := chain.DefaultConfig()
			fs := flag.NewFlagSet(tt.stage.Name, flag.ContinueOnError)
			tt.stage.RegisterFlags(fs, &def)
			if err := fs.Parse(nil); err != nil {
				t.Fatal(err)
			}
			for _, out := range tt.stage.Outputs {
				if f := fs.Lookup(out.Flag()); f == nil || f.DefValue != (chain.Topics{}).Of(out) {
					t.Errorf("--%s: %v, want a flag defaulting to %q", out.Flag(), f, (chain.Topics{}).Of(out))
				}
			}

			got := chain.DefaultConfig()
			fs = flag.NewFlagSet(tt.stage.Name, flag.ContinueOnError)
			tt.stage.RegisterFlags(fs, &got)
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			want := chain.DefaultConfig()
			for _, out := range tt.stage.Outputs { // as the flags' defaults fill them in
				*topicField(&want.Topics, out) = (chain.Topics{}).Of(out)
			}
			tt.want(&want)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("config after %v:\n got %+v\nwant %+v", tt.args, got, want)
			}
		})
	}
}

func topicField(ts *chain.Topics, t chain.Topic) *string {
	return map[chain.Topic]*string{chain.Placed: &ts.Placed, chain.Validated: &ts.Validated, chain.Scored: &ts.Scored, chain.Decided: &ts.Decided, chain.Status: &ts.Status}[t]
}

func TestHandlerRefusesSettingsOutOfRange(t *testing.T) {
	serde := newSerde(t)
	tests := []struct {
		stage   chain.Stage
		change  func(c *chain.Config)
		wantMsg string
	}{
		{chain.Score(), func(c *chain.Config) { c.ModelTrees = 0 }, "--model-trees 0"},
		{chain.Score(), func(c *chain.Config) { c.ModelDepth = 21 }, "--model-depth 21"},
		{chain.Decide(), func(c *chain.Config) { c.Policy.Threshold = 1.5 }, "--risk-threshold 1.5"},
		{chain.Decide(), func(c *chain.Config) { c.Policy.Threshold = 0 }, "--risk-threshold 0"},
		{chain.Decide(), func(c *chain.Config) { c.Policy.DefaultLimit = -1 }, "--limit-cents -1"},
	}
	for _, tt := range tests {
		c := chain.DefaultConfig()
		tt.change(&c)
		if _, err := tt.stage.Handler(serde, c); err == nil || !strings.Contains(err.Error(), tt.wantMsg) {
			t.Errorf("%s Handler: %v, want an error naming %q", tt.stage.Name, err, tt.wantMsg)
		}
	}
}

func newSerde(t *testing.T) *schemas.Serde {
	t.Helper()
	s, err := schemas.NewDefaultSerde()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestHandlersRunTheChainOnBytes runs one order through the three handlers
// as the processors do, bytes in and bytes out: each stage reads what the
// one before wrote, and every status it writes is ranked.
func TestHandlersRunTheChainOnBytes(t *testing.T) {
	ctx := context.Background()
	serde := newSerde(t)
	codecs, err := order.NewCodecs(serde)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 4, 12, 31, 0, 0, time.UTC)
	cfg := chain.DefaultConfig()
	cfg.ModelTrees = 20
	cfg.Topics = chain.Prefixed("t")
	cfg.Now = func() time.Time { return at }

	value, err := order.Encode(ctx, serde, order.Placed{
		OrderID: "o-1", CustomerID: "c-1", PlacedAt: at.Add(-time.Minute), Currency: "EUR",
		Lines: []order.Line{{SKU: "mug", Quantity: 2, UnitPriceCents: 1250}}, TotalCents: 2500, ShippingCountry: "DE", Channel: "web",
	})
	if err != nil {
		t.Fatal(err)
	}
	stages := chain.All()
	var states []order.State
	for i, stage := range stages {
		h, err := stage.Handler(serde, cfg)
		if err != nil {
			t.Fatal(err)
		}
		outs, err := h(ctx, &pipeline.Record{Topic: cfg.Topics.Of(stage.Input), Key: []byte("o-1"), Value: value})
		if err != nil {
			t.Fatalf("%s: %v", stage.Name, err)
		}
		value = nil
		for _, out := range outs {
			if !slices.ContainsFunc(stage.Outputs, func(t chain.Topic) bool { return cfg.Topics.Of(t) == out.Topic }) || string(out.Key) != "o-1" {
				t.Fatalf("%s wrote to %q with key %q; its outputs are %v, keyed o-1", stage.Name, out.Topic, out.Key, stage.Outputs)
			}
			e, err := codecs.Event.Decode(ctx, out.Value)
			if err != nil {
				t.Fatalf("%s output to %s: %v", stage.Name, out.Topic, err)
			}
			if s, ok := e.(order.Status); ok {
				if s.Rank == 0 || s.Rank != s.State.Rank() || s.Stage != stage.Name {
					t.Errorf("%s wrote status %+v: want it ranked (%d) and signed %q", stage.Name, s, s.State.Rank(), stage.Name)
				}
				states = append(states, s.State)
			}
			if i+1 < len(stages) && out.Topic == cfg.Topics.Of(stages[i+1].Input) {
				value = out.Value
			}
		}
		if i+1 < len(stages) && value == nil {
			t.Fatalf("%s wrote nothing to %s, the next stage's input", stage.Name, cfg.Topics.Of(stages[i+1].Input))
		}
	}
	if want := []order.State{order.StateValidated, order.StateScored, order.StateConfirmed}; !slices.Equal(states, want) {
		t.Fatalf("statuses %v, want %v", states, want)
	}
}

// Bytes a stage cannot read are poison: the runtime dead-letters them at
// once instead of retrying.
func TestHandlersTreatUndecodableRecordsAsPoison(t *testing.T) {
	serde := newSerde(t)
	for _, stage := range chain.All() {
		h, err := stage.Handler(serde, chain.DefaultConfig())
		if err != nil {
			t.Fatal(err)
		}
		_, err = h(context.Background(), &pipeline.Record{Value: []byte(`{"order_id":"o-1"}`)})
		if pipeline.ClassOf(err) != pipeline.Poison || !errors.Is(err, schemas.ErrNotAvro) {
			t.Errorf("%s on JSON: %v (class %v), want a poison error wrapping schemas.ErrNotAvro", stage.Name, err, pipeline.ClassOf(err))
		}
	}
}
