package pipeline_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/sluice-dev/sluice/pipeline"
)

type reading struct {
	Sensor  string  `json:"sensor"`
	Celsius float64 `json:"celsius"`
}

type alert struct {
	Sensor string `json:"sensor"`
	Level  string `json:"level"`
}

// jsonCodec is a Codec over encoding/json that records the context it was
// called with and can be told to fail.
type jsonCodec[T any] struct {
	decodeErr, encodeErr error
	sawCtx               *[]context.Context
}

func (c jsonCodec[T]) Decode(ctx context.Context, b []byte) (T, error) {
	c.saw(ctx)
	var v T
	if c.decodeErr != nil {
		return v, c.decodeErr
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return v, fmt.Errorf("decode %T: %w", v, err)
	}
	return v, nil
}

func (c jsonCodec[T]) Encode(ctx context.Context, v T) ([]byte, error) {
	c.saw(ctx)
	if c.encodeErr != nil {
		return nil, c.encodeErr
	}
	return json.Marshal(v)
}

func (c jsonCodec[T]) saw(ctx context.Context) {
	if c.sawCtx != nil {
		*c.sawCtx = append(*c.sawCtx, ctx)
	}
}

// alerts writes an alert per threshold the reading crosses, to topic
// "alerts", keyed by sensor, with a header naming the rule.
func alerts(_ context.Context, r reading) ([]pipeline.Message[alert], error) {
	var out []pipeline.Message[alert]
	for _, th := range []struct {
		level string
		above float64
	}{{"warm", 30}, {"hot", 40}} {
		if r.Celsius > th.above {
			out = append(out, pipeline.Message[alert]{
				Topic: "alerts", Key: []byte(r.Sensor), Value: alert{r.Sensor, th.level},
				Headers: []pipeline.Header{{Key: "rule", Value: []byte(th.level)}},
			})
		}
	}
	return out, nil
}

func TestTypedDecodesCallsAndEncodesInOrder(t *testing.T) {
	h := pipeline.Typed(jsonCodec[reading]{}, jsonCodec[alert]{}, alerts)
	outs, err := h(context.Background(), &pipeline.Record{Topic: "readings", Value: []byte(`{"sensor":"s-1","celsius":41.5}`)})
	if err != nil {
		t.Fatalf("handler: %v", err)
	}
	want := []pipeline.Output{
		{Topic: "alerts", Key: []byte("s-1"), Value: []byte(`{"sensor":"s-1","level":"warm"}`), Headers: []pipeline.Header{{Key: "rule", Value: []byte("warm")}}},
		{Topic: "alerts", Key: []byte("s-1"), Value: []byte(`{"sensor":"s-1","level":"hot"}`), Headers: []pipeline.Header{{Key: "rule", Value: []byte("hot")}}},
	}
	if !reflect.DeepEqual(outs, want) {
		t.Fatalf("outputs:\n got %q\nwant %q", outs, want)
	}
}

func TestTypedWithoutOutputsProducesNothing(t *testing.T) {
	h := pipeline.Typed(jsonCodec[reading]{}, jsonCodec[alert]{}, alerts)
	outs, err := h(context.Background(), &pipeline.Record{Value: []byte(`{"sensor":"s-1","celsius":12}`)})
	if err != nil || outs != nil {
		t.Fatalf("handler = %v, %v; want no outputs and no error", outs, err)
	}
}

// The codecs and the handler get the handler's context, which bounds what
// they call (a schema registry, say) and carries its deadline.
func TestTypedPassesTheContextOn(t *testing.T) {
	type key struct{}
	ctx := context.WithValue(context.Background(), key{}, "record ctx")
	var seen []context.Context
	var handlerCtx context.Context
	h := pipeline.Typed(jsonCodec[reading]{sawCtx: &seen}, jsonCodec[alert]{sawCtx: &seen},
		func(ctx context.Context, r reading) ([]pipeline.Message[alert], error) {
			handlerCtx = ctx
			return alerts(ctx, r)
		})
	if _, err := h(ctx, &pipeline.Record{Value: []byte(`{"sensor":"s-1","celsius":35}`)}); err != nil {
		t.Fatal(err)
	}
	seen = append(seen, handlerCtx)
	if len(seen) != 3 { // decode, handler, one encode
		t.Fatalf("saw %d contexts, want 3 (decode, handler, encode)", len(seen))
	}
	for i, c := range seen {
		if c == nil || c.Value(key{}) != "record ctx" {
			t.Fatalf("call %d got another context than the handler's", i)
		}
	}
}

func TestTypedErrorClasses(t *testing.T) {
	errRegistry := errors.New("schema registry unreachable")
	errRule := errors.New("sensor not registered")
	errBug := errors.New("unsupported value")
	good := []byte(`{"sensor":"s-1","celsius":45}`)
	tests := []struct {
		name      string
		in        jsonCodec[reading]
		out       jsonCodec[alert]
		handler   func(context.Context, reading) ([]pipeline.Message[alert], error)
		value     []byte
		wantClass pipeline.Class
		wantIs    error  // must be in the chain; nil: not checked
		wantMsg   string // must be in the message
	}{
		{name: "undecodable bytes are poison", value: []byte(`{"sensor":`), wantClass: pipeline.Poison, wantMsg: "decode pipeline_test.reading"},
		{name: "a decode error the codec marked retryable stays retryable",
			in: jsonCodec[reading]{decodeErr: pipeline.MarkRetryable(errRegistry)}, value: good,
			wantClass: pipeline.Retryable, wantIs: errRegistry},
		{name: "a handler error keeps its class",
			handler: func(context.Context, reading) ([]pipeline.Message[alert], error) {
				return nil, pipeline.MarkRetryable(errRule)
			}, value: good, wantClass: pipeline.Retryable, wantIs: errRule},
		{name: "an unmarked handler error stays permanent",
			handler: func(context.Context, reading) ([]pipeline.Message[alert], error) { return nil, errRule },
			value:   good, wantClass: pipeline.Permanent, wantIs: errRule},
		{name: "an encode error is permanent and names the output",
			out: jsonCodec[alert]{encodeErr: errBug}, value: good,
			wantClass: pipeline.Permanent, wantIs: errBug, wantMsg: `output 0 to alerts, key "s-1"`},
		{name: "an encode error the codec marked retryable stays retryable",
			out: jsonCodec[alert]{encodeErr: pipeline.MarkRetryable(errRegistry)}, value: good,
			wantClass: pipeline.Retryable, wantIs: errRegistry},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			handler := tt.handler
			if handler == nil {
				handler = alerts
			}
			outs, err := pipeline.Typed(tt.in, tt.out, handler)(context.Background(), &pipeline.Record{Value: tt.value})
			if err == nil {
				t.Fatalf("handler returned %d outputs and no error", len(outs))
			}
			if outs != nil {
				t.Errorf("handler returned %d outputs with its error, want none", len(outs))
			}
			if got := pipeline.ClassOf(err); got != tt.wantClass {
				t.Errorf("class of %q = %v, want %v", err, got, tt.wantClass)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("error %q does not wrap %q", err, tt.wantIs)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not say %q", err, tt.wantMsg)
			}
		})
	}
}
