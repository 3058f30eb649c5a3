// Package chain declares the stages of Sluice's order pipeline, once: each
// stage's name, the topic it reads, the topics it writes, its flags, its
// default in-flight cap and how its handler is built. The binaries
// (cmd/validate, cmd/score and cmd/decide, through internal/runner), the
// demo (cmd/demo) and the integration suites (integration/orderchain) all
// take them from here, so a new stage or topic is one change.
//
// A stage's handler is its pure function of decoded events
// (validate.Outputs, score.Outputs, decide.Outputs) behind pipeline.Typed
// with the order codecs (order.Codecs): a record that does not decode is
// poison and goes to the dead-letter topic before the stage sees it.
package chain

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/sluice-dev/sluice/pipeline"
	"github.com/sluice-dev/sluice/processors/decide"
	"github.com/sluice-dev/sluice/processors/order"
	"github.com/sluice-dev/sluice/processors/score"
	"github.com/sluice-dev/sluice/processors/validate"
	"github.com/sluice-dev/sluice/schemas"
)

// Topic is one of the chain's topics, by its role.
type Topic int

// The chain's topics, in pipeline order.
const (
	Placed    Topic = iota // orders as the storefront places them (OrderPlaced)
	Validated              // valid, normalized orders (OrderValidated)
	Scored                 // orders with their fraud risk (OrderScored)
	Decided                // final outcomes (OrderDecided)
	Status                 // the compacted order-status topic (OrderStatus)
)

var topicNames = [...]string{Placed: "placed", Validated: "validated", Scored: "scored", Decided: "decided", Status: "status"}

func (t Topic) String() string {
	if t >= 0 && int(t) < len(topicNames) {
		return topicNames[t]
	}
	return fmt.Sprintf("Topic(%d)", int(t))
}

// Flag is the flag that names the topic in a binary that writes it, e.g.
// "scored-topic". A stage's input topic is the runner's --input instead.
func (t Topic) Flag() string { return t.String() + "-topic" }

// Topics names the chain's topics. An empty field means the default of
// package order (orders, orders.validated, orders.scored, orders.decided,
// order-status).
type Topics struct {
	Placed, Validated, Scored, Decided, Status string
}

// Prefixed returns the default names with prefix and a dot in front, so that
// chains can share a cluster without meeting: Prefixed("ci").Validated is
// "ci.orders.validated".
func Prefixed(prefix string) Topics {
	var ts Topics
	for t := Placed; t <= Status; t++ {
		*ts.field(t) = prefix + "." + Topics{}.Of(t)
	}
	return ts
}

// Of returns the name of topic t.
func (ts Topics) Of(t Topic) string {
	if name := *ts.field(t); name != "" {
		return name
	}
	switch t {
	case Placed:
		return order.TopicPlaced
	case Validated:
		return order.TopicValidated
	case Scored:
		return order.TopicScored
	case Decided:
		return order.TopicDecided
	}
	return order.TopicStatus
}

func (ts *Topics) field(t Topic) *string {
	switch t {
	case Placed:
		return &ts.Placed
	case Validated:
		return &ts.Validated
	case Scored:
		return &ts.Scored
	case Decided:
		return &ts.Decided
	case Status:
		return &ts.Status
	}
	panic(fmt.Sprintf("chain: no topic %v", t))
}

// Config is what the stages' handlers are built from: each stage reads the
// fields it needs. Start from DefaultConfig; a stage's flags
// (Stage.RegisterFlags) set the same fields.
type Config struct {
	// Topics are the topics the stages write to.
	Topics Topics
	// ModelSeed, ModelTrees and ModelDepth size score's fraud model
	// (score.NewModel). Every score instance must use the same.
	ModelSeed              int64
	ModelTrees, ModelDepth int
	// Policy is decide's rules.
	Policy decide.Policy
	// Now stamps the records a stage writes; nil means time.Now.
	Now func() time.Time
}

// DefaultConfig is the configuration the binaries run with when no flag is
// given: package order's topics, score's default model and decide's default
// policy.
func DefaultConfig() Config {
	return Config{
		ModelSeed:  score.DefaultSeed,
		ModelTrees: score.DefaultTrees,
		ModelDepth: score.DefaultDepth,
		Policy:     decide.Policy{Threshold: decide.DefaultThreshold, DefaultLimit: decide.DefaultLimitCents},
	}
}

func (c Config) now() func() time.Time {
	if c.Now == nil {
		return time.Now
	}
	return c.Now
}

// Stage declares one processor of the chain.
type Stage struct {
	// Name names the processor: its binary, default consumer group, client
	// ID and metrics label, and the stage field of what it writes.
	Name string
	// Input is the topic the stage reads; Outputs are the topics it writes,
	// in the order its records go out.
	Input   Topic
	Outputs []Topic
	// MaxInFlight is the stage's default in-flight cap (pipeline.MaxInFlight
	// records); 0 means the library's default, which suits fast stages. A
	// slow stage sets about a second's worth of records: what a crash
	// redoes and a graceful stop waits for.
	MaxInFlight int

	flags   func(fs *flag.FlagSet, c *Config)
	handler func(codecs order.Codecs, c Config) (pipeline.Handler, error)
}

// RegisterFlags registers the stage's flags on fs, writing into c: one
// --<topic>-topic for each output (Topic.Flag), then the stage's own. Each
// flag's default is c's value at the time of the call.
func (s Stage) RegisterFlags(fs *flag.FlagSet, c *Config) {
	for _, t := range s.Outputs {
		fs.StringVar(c.Topics.field(t), t.Flag(), c.Topics.Of(t), t.usage())
	}
	if s.flags != nil {
		s.flags(fs, c)
	}
}

func (t Topic) usage() string {
	switch t {
	case Placed:
		return "topic of placed orders"
	case Validated:
		return "topic for valid, normalized orders"
	case Scored:
		return "topic for scored orders"
	case Decided:
		return "topic for final decisions (confirmations and rejections)"
	}
	return "compacted order-status topic"
}

// Handler builds the stage's handler from c, decoding and encoding with
// serde. It fails, naming the flag, if a setting the stage uses is out of
// range.
func (s Stage) Handler(serde *schemas.Serde, c Config) (pipeline.Handler, error) {
	if s.handler == nil {
		return nil, fmt.Errorf("stage %q is not declared by package chain: take it from All, Lookup or Validate, Score, Decide", s.Name)
	}
	codecs, err := order.NewCodecs(serde)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.Name, err)
	}
	return s.handler(codecs, c)
}

// Validate is the first stage: it checks placed orders against the business
// rules, passes valid ones on and rejects the others (validate.Outputs).
func Validate() Stage {
	return Stage{
		Name:    validate.Stage,
		Input:   Placed,
		Outputs: []Topic{Validated, Decided, Status},
		handler: func(codecs order.Codecs, c Config) (pipeline.Handler, error) {
			t := validate.Topics{Validated: c.Topics.Of(Validated), Decided: c.Topics.Of(Decided), Status: c.Topics.Of(Status)}
			now := c.now()
			return pipeline.Typed(codecs.Placed, codecs.Event, func(_ context.Context, p order.Placed) ([]order.Message, error) {
				return validate.Outputs(p, t, now()), nil
			}), nil
		},
	}
}

// Score is the compute-heavy stage: it rates each validated order's fraud
// risk with a tree-ensemble model (score.Outputs).
func Score() Stage {
	return Stage{
		Name:    score.Stage,
		Input:   Validated,
		Outputs: []Topic{Scored, Status},
		// About one second of work on 2 cores at ~0.3 ms per order with the
		// default model.
		MaxInFlight: 5_000,
		flags: func(fs *flag.FlagSet, c *Config) {
			fs.Int64Var(&c.ModelSeed, "model-seed", c.ModelSeed, "seed the model is generated from; every instance must use the same")
			fs.IntVar(&c.ModelTrees, "model-trees", c.ModelTrees, "trees in the ensemble: CPU cost per order grows linearly with it")
			fs.IntVar(&c.ModelDepth, "model-depth", c.ModelDepth, "depth of each tree (1-20)")
		},
		handler: func(codecs order.Codecs, c Config) (pipeline.Handler, error) {
			if c.ModelTrees < 1 || c.ModelDepth < 1 || c.ModelDepth > 20 {
				return nil, fmt.Errorf("--model-trees %d / --model-depth %d: want trees >= 1 and depth 1-20", c.ModelTrees, c.ModelDepth)
			}
			model := score.NewModel(c.ModelSeed, c.ModelTrees, c.ModelDepth)
			t := score.Topics{Scored: c.Topics.Of(Scored), Status: c.Topics.Of(Status)}
			now := c.now()
			return pipeline.Typed(codecs.Validated, codecs.Event, func(_ context.Context, v order.Validated) ([]order.Message, error) {
				return score.Outputs(v, model, t, now()), nil
			}), nil
		},
	}
}

// Decide is the last stage: it confirms or rejects each scored order
// (decide.Outputs).
func Decide() Stage {
	return Stage{
		Name:    decide.Stage,
		Input:   Scored,
		Outputs: []Topic{Decided, Status},
		flags: func(fs *flag.FlagSet, c *Config) {
			fs.Float64Var(&c.Policy.Threshold, "risk-threshold", c.Policy.Threshold, "reject orders whose fraud-risk score is at or above this (0-1)")
			fs.Int64Var(&c.Policy.DefaultLimit, "limit-cents", c.Policy.DefaultLimit, "reject orders whose total is above this many cents")
		},
		handler: func(codecs order.Codecs, c Config) (pipeline.Handler, error) {
			if c.Policy.Threshold <= 0 || c.Policy.Threshold > 1 {
				return nil, fmt.Errorf("--risk-threshold %v: want a value in (0, 1]", c.Policy.Threshold)
			}
			if c.Policy.DefaultLimit <= 0 {
				return nil, fmt.Errorf("--limit-cents %d: want a positive amount", c.Policy.DefaultLimit)
			}
			t := decide.Topics{Decided: c.Topics.Of(Decided), Status: c.Topics.Of(Status)}
			now := c.now()
			return pipeline.Typed(codecs.Scored, codecs.Event, func(_ context.Context, s order.Scored) ([]order.Message, error) {
				return decide.Outputs(s, c.Policy, t, now()), nil
			}), nil
		},
	}
}

// All returns the stages in pipeline order: each reads what the one before
// it writes.
func All() []Stage { return []Stage{Validate(), Score(), Decide()} }

// Lookup returns the stage named name.
func Lookup(name string) (Stage, bool) {
	for _, s := range All() {
		if s.Name == name {
			return s, true
		}
	}
	return Stage{}, false
}
