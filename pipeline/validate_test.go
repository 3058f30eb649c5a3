package pipeline_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/pipeline"
)

// TestNewRefusesBadOptions: every bad value and contradictory combination
// is refused by New with a message naming the option and the value.
func TestNewRefusesBadOptions(t *testing.T) {
	onError := pipeline.OnError(func(context.Context, *pipeline.Record, error) ([]pipeline.Output, error) { return nil, nil })
	h := passthrough("out")
	for _, c := range []struct {
		name    string
		handler pipeline.Handler
		opts    []pipeline.Option
		want    string // every part must appear in the error
	}{
		{"nil handler", nil, nil, "handler is nil"},
		{"no topics", h, []pipeline.Option{}, "Topics: no input topics"},
		{"duplicate input", h, []pipeline.Option{pipeline.Topics("a", "b", "a")}, "input topic a is given twice"},
		{"empty input", h, []pipeline.Option{pipeline.Topics("")}, "input topic name is empty"},
		{"empty group", h, []pipeline.Option{pipeline.Group("")}, `Group("")`},
		{"unknown ordering", h, []pipeline.Option{pipeline.OrderBy(pipeline.Ordering(7))}, "OrderBy(Ordering(7))"},
		{"no workers", h, []pipeline.Option{pipeline.Workers(0)}, "Workers(0): want at least 1"},
		{"zero record cap", h, []pipeline.Option{pipeline.MaxInFlight(0, 1)}, "MaxInFlight(0, 1): the record cap"},
		{"negative byte cap", h, []pipeline.Option{pipeline.MaxInFlight(10, -1)}, "MaxInFlight(10, -1): the byte cap"},
		{"zero commit interval", h, []pipeline.Option{pipeline.CommitInterval(0)}, "CommitInterval(0s): want a positive duration"},
		{"zero revoke timeout", h, []pipeline.Option{pipeline.RevokeTimeout(0)}, "RevokeTimeout(0s)"},
		{"negative drain timeout", h, []pipeline.Option{pipeline.DrainTimeout(-1)}, "DrainTimeout(-1ns)"},
		{"negative handler timeout", h, []pipeline.Option{pipeline.HandlerTimeout(-5)}, "HandlerTimeout(-5ns)"},
		{"nil logger", h, []pipeline.Option{pipeline.Logger(nil)}, "Logger(nil)"},
		{"nil middleware", h, []pipeline.Option{pipeline.Use(nil)}, "Use: a middleware is nil"},
		{"decreasing latency buckets", h, []pipeline.Option{pipeline.LatencyBuckets(1, 0.5)}, "LatencyBuckets([1 0.5])"},
		{"sub-millisecond retry delay", h, []pipeline.Option{pipeline.RetryDelays(time.Microsecond)}, "RetryDelays([1µs]): delay 1µs must be a whole number of milliseconds"},
		{"fractional millisecond delay", h, []pipeline.Option{pipeline.RetryDelays(1500 * time.Microsecond)}, "delay 1.5ms must be a whole number"},
		{"zero retry delay", h, []pipeline.Option{pipeline.RetryDelays(0)}, "RetryDelays([0s])"},
		{"decreasing retry delays", h, []pipeline.Option{pipeline.RetryDelays(time.Minute, time.Second)}, "delays must increase (1s after 1m0s)"},
		{"equal retry delays", h, []pipeline.Option{pipeline.RetryDelays(time.Second, time.Second)}, "delays must increase (1s after 1s)"},
		{"dead-letter topic is an input", h, []pipeline.Option{pipeline.DeadLetterTopic("in")}, "DeadLetterTopic: input topic in is also the dead-letter topic"},
		{"dead-letter topic is a retry tier", h, []pipeline.Option{pipeline.RetryDelays(5 * time.Second), pipeline.DeadLetterTopic("in.retry.5s")}, "retry topic in.retry.5s of input in is also the dead-letter topic"},
		{"an input is another's retry tier", h, []pipeline.Option{pipeline.Topics("in.retry.5s"), pipeline.RetryDelays(5 * time.Second)}, "input topic in.retry.5s is also retry tier in.retry.5s"},
		{"an input is another's dead-letter topic", h, []pipeline.Option{pipeline.Topics("in.dlq")}, "input topic in.dlq is also the dead-letter topic"},
		{"StopOnError with RetryDelays", h, []pipeline.Option{pipeline.StopOnError(), pipeline.RetryDelays(time.Second)}, "RetryDelays with StopOnError"},
		{"StopOnError with DeadLetterTopic", h, []pipeline.Option{pipeline.StopOnError(), pipeline.DeadLetterTopic("d")}, "DeadLetterTopic with StopOnError"},
		{"OnError with ConnectHeaders", h, []pipeline.Option{onError, pipeline.ConnectHeaders()}, "ConnectHeaders with OnError"},
		{"OnError with CreateTopics", h, []pipeline.Option{onError, pipeline.CreateTopics(true)}, "CreateTopics with OnError"},
		{"StopOnError and OnError", h, []pipeline.Option{onError, pipeline.StopOnError()}, "give one error handler"},
		{"key-ordered retries without key order", h, []pipeline.Option{pipeline.RetryDelays(time.Second), pipeline.OrderBy(pipeline.PartitionOrder), pipeline.KeyOrderedRetries(true)}, "KeyOrderedRetries(true) with OrderBy(partition)"},
		{"key-ordered retries without tiers", h, []pipeline.Option{pipeline.KeyOrderedRetries(true)}, "KeyOrderedRetries(true) without RetryDelays"},
	} {
		t.Run(c.name, func(t *testing.T) {
			opts := c.opts
			if c.name != "no topics" && c.name != "duplicate input" && c.name != "empty input" {
				opts = append([]pipeline.Option{pipeline.Topics("in")}, opts...)
			}
			_, err := pipeline.New("p", c.handler, opts...)
			if err == nil {
				t.Fatalf("New accepted it, want an error containing %q", c.want)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q does not contain %q", err, c.want)
			}
			if !strings.HasPrefix(err.Error(), "processor p: ") {
				t.Errorf("error %q does not name the processor", err)
			}
		})
	}
}

// TestNewReportsEveryProblemAtOnce: a user fixing a configuration sees all
// that is wrong with it, not one thing per attempt.
func TestNewReportsEveryProblemAtOnce(t *testing.T) {
	_, err := pipeline.New("p", nil, pipeline.Workers(0), pipeline.CommitInterval(-time.Second))
	if err == nil {
		t.Fatal("New accepted it")
	}
	for _, want := range []string{"handler is nil", "Topics: no input topics", "Workers(0)", "CommitInterval(-1s)"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
}

// TestNewAcceptsTheDefaults: zero configuration beyond the inputs works.
func TestNewAcceptsTheDefaults(t *testing.T) {
	if _, err := pipeline.New("p", passthrough("out"), pipeline.Topics("in")); err != nil {
		t.Fatal(err)
	}
	if _, err := pipeline.New("p", passthrough("out"), pipeline.Topics("in"), pipeline.RetryDelays(5*time.Second, 30*time.Second, 5*time.Minute),
		pipeline.OrderBy(pipeline.PartitionOrder)); err != nil {
		t.Errorf("retry tiers with partition order (key-ordered retries left at their default): %v", err)
	}
}
