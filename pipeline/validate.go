package pipeline

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/sluice-dev/sluice/pipeline/failure"
)

// validate checks every option and every combination, in the manner of
// hashicorp/raft's ValidateConfig: all problems are reported at once, each
// naming the option and the bad value.
func (c *config) validate(h Handler) error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	if c.name == "" {
		bad("name is empty")
	}
	if h == nil {
		bad("handler is nil")
	}
	if c.group == "" {
		bad("Group(%q): the consumer group is empty", c.group)
	}
	if len(c.topics) == 0 {
		bad("Topics: no input topics given")
	}
	seen := map[string]bool{}
	for _, t := range c.topics {
		switch {
		case t == "":
			bad("Topics: an input topic name is empty")
		case seen[t]:
			bad("Topics: input topic %s is given twice", t)
		}
		seen[t] = true
	}
	if c.ordering < KeyOrder || c.ordering > Unordered {
		bad("OrderBy(%v): unknown ordering", c.ordering)
	}
	if c.workers < 1 {
		bad("Workers(%d): want at least 1", c.workers)
	}
	if c.maxRecords < 1 {
		bad("MaxInFlight(%d, %d): the record cap must be positive", c.maxRecords, c.maxBytes)
	}
	if c.maxBytes < 1 {
		bad("MaxInFlight(%d, %d): the byte cap must be positive", c.maxRecords, c.maxBytes)
	}
	positive := func(opt string, d time.Duration) {
		if d <= 0 {
			bad("%s(%v): want a positive duration", opt, d)
		}
	}
	positive("CommitInterval", c.commitInterval)
	positive("RevokeTimeout", c.revokeTimeout)
	positive("DrainTimeout", c.drainTimeout)
	if c.handlerTimeout < 0 {
		bad("HandlerTimeout(%v): want a positive duration, or 0 for none", c.handlerTimeout)
	}
	if c.set["InstanceID"] > 0 && (c.instanceID == "" || len(c.instanceID) > 249) {
		bad("InstanceID(%q): want 1 to 249 characters", c.instanceID)
	}
	if c.metadataMaxBytes < 64 {
		bad("OffsetMetadataMaxBytes(%d): want at least 64 (Kafka's default is 4096)", c.metadataMaxBytes)
	}
	if c.set["TransactionalID"] > 0 && !c.exactlyOnce {
		bad("TransactionalID without ExactlyOnce: only exactly-once mode uses transactions")
	}
	if c.set["TransactionalID"] > 0 && c.transactionalID == "" {
		bad("TransactionalID(%q): want a non-empty ID", c.transactionalID)
	}
	if c.logger == nil {
		bad("Logger(nil): want a logger")
	}
	for _, mw := range c.middleware {
		if mw == nil {
			bad("Use: a middleware is nil")
			break
		}
	}
	if len(c.latencyBuckets) == 0 || !slices.IsSorted(c.latencyBuckets) || len(slices.Compact(slices.Clone(c.latencyBuckets))) != len(c.latencyBuckets) {
		bad("LatencyBuckets(%v): want increasing bounds", c.latencyBuckets)
	}

	// The failure path.
	for i, d := range c.retryDelays {
		switch {
		case d < time.Millisecond || d%time.Millisecond != 0:
			bad("RetryDelays(%v): delay %v must be a whole number of milliseconds, at least 1ms (it is part of a topic name)", c.retryDelays, d)
		case i > 0 && d <= c.retryDelays[i-1]:
			bad("RetryDelays(%v): delays must increase (%v after %v)", c.retryDelays, d, c.retryDelays[i-1])
		}
	}
	if c.set["StopOnError"] > 0 && c.set["OnError"] > 0 || c.set["StopOnError"]+c.set["OnError"] > 1 {
		bad("StopOnError and OnError: give one error handler, not several")
	}
	if c.onError != nil {
		errHandler := "OnError"
		if c.set["StopOnError"] > 0 {
			errHandler = "StopOnError"
		}
		for _, opt := range []string{"RetryDelays", "DeadLetterTopic", "ConnectHeaders", "KeyOrderedRetries", "CreateTopics"} {
			if c.set[opt] > 0 {
				bad("%s with %s: %s replaces the retry tiers and dead-letter topic, so %s would do nothing", opt, errHandler, errHandler, opt)
			}
		}
	}
	if c.set["KeyOrderedRetries"] > 0 && c.keyOrderedRetries && c.ordering != KeyOrder {
		bad("KeyOrderedRetries(true) with OrderBy(%v): key-ordered retries need KeyOrder", c.ordering)
	}
	if c.set["KeyOrderedRetries"] > 0 && c.keyOrderedRetries && len(c.retryDelays) == 0 {
		bad("KeyOrderedRetries(true) without RetryDelays: there are no retry tiers to keep in order")
	}
	if c.onError == nil {
		outputs := map[string]string{} // failure-path topic → what it is
		for _, in := range c.topics {
			dlq := failure.DeadLetterTopic(in)
			if c.deadLetterTopic != "" {
				dlq = c.deadLetterTopic
			}
			outputs[dlq] = "the dead-letter topic"
			for _, d := range c.retryDelays {
				t := failure.RetryTopic(in, d)
				if outputs[t] != "" {
					bad("RetryDelays(%v): retry topic %s of input %s is also %s", c.retryDelays, t, in, outputs[t])
				}
				outputs[t] = "retry tier " + t
			}
		}
		for _, in := range c.topics {
			if what, ok := outputs[in]; ok {
				opt := "RetryDelays"
				if what == "the dead-letter topic" {
					opt = "DeadLetterTopic"
				}
				bad("%s: input topic %s is also %s", opt, in, what)
			}
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("processor %s: %w", c.name, errors.Join(errs...))
}
