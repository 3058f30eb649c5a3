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
	"github.com/sluice-dev/sluice/pipeline/kafkaconn"
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
	// Ask for the named topics, not for a listing: a listing leaves out the
	// topics this principal may not describe, so "not allowed" would read
	// as "does not exist".
	inputs, err := kafkaconn.LookupTopics(ctx, adm, c.inputs...)
	if err != nil {
		var missing *kafkaconn.MissingTopicError
		switch {
		case errors.Is(err, kafkaconn.ErrAuthorization):
			return &definitiveError{fmt.Sprintf("processor %s: %v", c.name, err)}
		case errors.As(err, &missing):
			return &definitiveError{fmt.Sprintf("processor %s: input topic %s does not exist (create it first)", c.name, missing.Topic)}
		}
		return fmt.Errorf("processor %s: look up input topics: %w", c.name, err)
	}
	var created []string
	for _, in := range c.inputs {
		partitions := len(inputs[in].Partitions)
		outs := c.routes.Outputs(in)
		found, err := kafkaconn.LookupTopics(ctx, adm, outs...)
		switch {
		case errors.Is(err, kafkaconn.ErrAuthorization):
			return &definitiveError{fmt.Sprintf("processor %s: %v", c.name, err)}
		case err != nil && !errors.Is(err, kafkaconn.ErrTopicMissing):
			return fmt.Errorf("processor %s: look up the retry and dead-letter topics of %s: %w", c.name, in, err)
		}
		for _, t := range outs {
			if _, ok := found[t]; ok {
				continue
			}
			if !c.create {
				return &definitiveError{fmt.Sprintf("processor %s: topic %s does not exist and topic creation is off (create it with %d partitions)", c.name, t, partitions)}
			}
			resp, err := adm.CreateTopic(ctx, int32(partitions), -1, nil, t)
			if err == nil {
				err = resp.Err
			}
			switch {
			case errors.Is(err, kerr.TopicAlreadyExists):
				// Another instance of the processor created it first.
			case err != nil:
				return fmt.Errorf("processor %s: create topic %s: %w (create it yourself, or allow this client to create topics: CREATE on the topic or the cluster)", c.name, t, err)
			default:
				c.log.Info("created topic", "topic", t, "partitions", partitions)
			}
			created = append(created, t)
		}
	}
	return c.awaitVisible(ctx, adm, created)
}

// awaitVisible waits, for up to 10 s, until the brokers' metadata has the
// topics just created, so that the group's first join already subscribes
// to them.
func (c *topicCheck) awaitVisible(ctx context.Context, adm *kadm.Client, topics []string) error {
	if len(topics) == 0 {
		return nil
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		details, err := kafkaconn.LookupTopics(ctx, adm, topics...)
		if err == nil && details.Error() == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if time.Now().After(deadline) {
			// Not fatal: the client finds them later, at the cost of a
			// rebalance.
			c.log.Warn("created topics not visible in metadata yet; starting anyway", "topics", topics, "err", err)
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
}
