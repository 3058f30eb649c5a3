package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluice-dev/sluice/pipeline/internal/retry"
)

// topicCheck makes sure, at start, that the inputs exist and that their
// retry and dead-letter topics exist, creating those (with the partition
// count of their input) when allowed.
type topicCheck struct {
	name   string
	inputs []string
	create bool
	routes *retry.Routes
	log    *slog.Logger
}

// run checks until it succeeds, ctx ends, or a failure that waiting will
// not fix. Failures that may pass (the broker unreachable for a moment, a
// name that does not resolve yet, a retriable Kafka error) are retried with
// backoff, as the client does for consuming; a missing input topic,
// disabled creation or a refused request fail at once.
func (c *topicCheck) check(ctx context.Context, cl *kgo.Client) error {
	backoff := 500 * time.Millisecond
	for {
		err := c.once(ctx, kadm.NewClient(cl))
		var definitive *definitiveError
		var ke *kerr.Error
		switch {
		case err == nil:
			return nil
		case ctx.Err() != nil, errors.As(err, &definitive), errors.As(err, &ke) && !ke.Retriable:
			return err
		}
		c.log.Warn("cannot check or create retry and dead-letter topics yet; retrying", "in", backoff, "err", err)
		select {
		case <-ctx.Done():
			return err
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 10*time.Second)
	}
}

// definitiveError is a topic problem that waiting will not fix.
type definitiveError struct{ msg string }

func (e *definitiveError) Error() string { return e.msg }

func (c *topicCheck) once(ctx context.Context, adm *kadm.Client) error {
	details, err := adm.ListTopics(ctx)
	if err != nil {
		return fmt.Errorf("processor %s: list topics: %w", c.name, err)
	}
	for _, in := range c.inputs {
		d, ok := details[in]
		if !ok || d.Err != nil {
			return &definitiveError{fmt.Sprintf("processor %s: input topic %s does not exist (create it first)", c.name, in)}
		}
		for _, t := range c.routes.Outputs(in) {
			if _, exists := details[t]; exists {
				continue
			}
			if !c.create {
				return &definitiveError{fmt.Sprintf("processor %s: topic %s does not exist and topic creation is off (create it with %d partitions)", c.name, t, len(d.Partitions))}
			}
			resp, err := adm.CreateTopic(ctx, int32(len(d.Partitions)), -1, nil, t)
			if err == nil {
				err = resp.Err
			}
			details[t] = kadm.TopicDetail{Topic: t}
			switch {
			case errors.Is(err, kerr.TopicAlreadyExists):
				// Another instance of the processor created it first.
			case err != nil:
				return fmt.Errorf("processor %s: create topic %s: %w (create it yourself, or allow this client to create topics)", c.name, t, err)
			default:
				c.log.Info("created topic", "topic", t, "partitions", len(d.Partitions))
			}
		}
	}
	return nil
}
