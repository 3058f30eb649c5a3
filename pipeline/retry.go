package pipeline

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-dev/sluice/pipeline/failure"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// tierRef tells, for a retry topic, which input and tier it belongs to.
type tierRef struct {
	input string
	tier  int
}

// retryRoutes are the retry and dead-letter topics of a processor, derived
// once from its config.
type retryRoutes struct {
	delays []time.Duration
	tiers  map[string][]string // input → its retry topics, by tier
	of     map[string]tierRef  // retry topic → input and tier
	dlq    map[string]string   // input → dead-letter topic
}

func newRetryRoutes(cfg *config) retryRoutes {
	r := retryRoutes{delays: cfg.retryDelays, tiers: map[string][]string{}, of: map[string]tierRef{}, dlq: map[string]string{}}
	for _, in := range cfg.topics {
		for i, d := range cfg.retryDelays {
			t := failure.RetryTopic(in, d)
			r.tiers[in] = append(r.tiers[in], t)
			r.of[t] = tierRef{in, i}
		}
		r.dlq[in] = in + ".dlq"
		if cfg.deadLetterTopic != "" {
			r.dlq[in] = cfg.deadLetterTopic
		}
	}
	return r
}

// consumed returns the inputs and their retry topics: what the processor
// subscribes to.
func (r retryRoutes) consumed(inputs []string) []string {
	out := append([]string(nil), inputs...)
	for _, in := range inputs {
		out = append(out, r.tiers[in]...)
	}
	return out
}

// ensureTopics creates missing retry and dead-letter topics with the
// partition count of their input.
//
// Failures that may pass (the broker unreachable for a moment, a name that
// does not resolve yet, a retriable Kafka error) are retried with backoff
// until ctx ends, as the client does for consuming; a missing input topic,
// disabled creation or a refused request fail at once.
func (p *Processor) ensureTopics(ctx context.Context) error {
	backoff := 500 * time.Millisecond
	for {
		err := p.ensureTopicsOnce(ctx)
		var definitive *definitiveError
		var ke *kerr.Error
		switch {
		case err == nil:
			return nil
		case ctx.Err() != nil, errors.As(err, &definitive), errors.As(err, &ke) && !ke.Retriable:
			return err
		}
		p.cfg.logger.Warn("cannot check or create retry and dead-letter topics yet; retrying", "processor", p.cfg.name, "in", backoff, "err", err)
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

func (p *Processor) ensureTopicsOnce(ctx context.Context) error {
	adm := kadm.NewClient(p.client)
	details, err := adm.ListTopics(ctx)
	if err != nil {
		return fmt.Errorf("processor %s: list topics: %w", p.cfg.name, err)
	}
	for _, in := range p.cfg.topics {
		d, ok := details[in]
		if !ok || d.Err != nil {
			return &definitiveError{fmt.Sprintf("processor %s: input topic %s does not exist (create it first)", p.cfg.name, in)}
		}
		want := append([]string{p.routes.dlq[in]}, p.routes.tiers[in]...)
		for _, t := range want {
			if _, exists := details[t]; exists {
				continue
			}
			if !p.cfg.createTopics {
				return &definitiveError{fmt.Sprintf("processor %s: topic %s does not exist and topic creation is off (create it with %d partitions)", p.cfg.name, t, len(d.Partitions))}
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
				return fmt.Errorf("processor %s: create topic %s: %w (create it yourself, or allow this client to create topics)", p.cfg.name, t, err)
			default:
				p.cfg.logger.Info("created topic", "processor", p.cfg.name, "topic", t, "partitions", len(d.Partitions))
			}
		}
	}
	return nil
}

// fromRetryTopic fills the task's retry fields from a record of a retry
// tier: its origin, attempts, due time.
func (t *task) fromRetryTopic(ref tierRef) {
	t.tier = ref.tier
	t.input = ref.input
	t.in.Topic = ref.input
	kept := t.in.Headers[:0:0]
	for _, h := range t.in.Headers {
		v := string(h.Value)
		switch h.Key {
		case failure.HeaderAttempts:
			t.in.Attempt, _ = strconv.Atoi(v)
		case failure.HeaderOriginTopic:
			t.in.Topic = v
		case failure.HeaderOriginPartition:
			if n, err := strconv.ParseInt(v, 10, 32); err == nil {
				t.in.Partition = int32(n)
			}
		case failure.HeaderOriginOffset:
			t.in.Offset, _ = strconv.ParseInt(v, 10, 64)
		case failure.HeaderOriginTimestamp:
			t.in.Timestamp, _ = time.Parse(time.RFC3339Nano, v)
		case failure.HeaderFirstFailure:
			t.firstFailure, _ = time.Parse(time.RFC3339Nano, v)
		case failure.HeaderParked:
			t.parked = v == "true"
		default:
			// The retry path's own headers are rebuilt on every hop; a
			// replay marker stays so a record failing again shows it.
			if !strings.HasPrefix(h.Key, "sluice.") || h.Key == failure.HeaderReplayed {
				kept = append(kept, h)
			}
		}
	}
	t.in.Headers = kept
}

// retryRecord builds the record that sends t to retry tier tier. parked
// marks a record that did not fail but follows an earlier one of its key.
func (p *Processor) retryRecord(t *task, tier int, attempts int, cause error, parked bool, now time.Time) Output {
	topic := p.routes.tiers[t.input][tier]
	hs := p.failureHeaders(t, attempts, cause, now)
	hs = append(hs,
		Header{failure.HeaderDue, []byte(now.Add(p.routes.delays[tier]).UTC().Format(time.RFC3339Nano))},
		Header{failure.HeaderParked, []byte(strconv.FormatBool(parked))},
	)
	return Output{Topic: topic, Key: t.in.Key, Value: t.in.Value, Headers: append(append([]Header(nil), t.in.Headers...), hs...)}
}

// deadLetterRecord builds the record that sends t to its dead-letter topic.
func (p *Processor) deadLetterRecord(t *task, attempts int, cause error, now time.Time) Output {
	var hs []Header
	if p.cfg.connectHeaders {
		hs = []Header{
			{failure.ConnectHeaderTopic, []byte(t.in.Topic)},
			{failure.ConnectHeaderPartition, []byte(strconv.Itoa(int(t.in.Partition)))},
			{failure.ConnectHeaderOffset, []byte(strconv.FormatInt(t.in.Offset, 10))},
			{failure.ConnectHeaderConnectorName, []byte(p.cfg.name)},
			{failure.ConnectHeaderTaskID, []byte("0")},
			{failure.ConnectHeaderStage, []byte("TASK_PUT")},
			{failure.ConnectHeaderClassName, []byte(p.classOf(cause).String())},
			{failure.ConnectHeaderExceptionMessage, []byte(cause.Error())},
			{failure.HeaderAttempts, []byte(strconv.Itoa(attempts))},
		}
	} else {
		hs = p.failureHeaders(t, attempts, cause, now)
	}
	return Output{Topic: p.routes.dlq[t.input], Key: t.in.Key, Value: t.in.Value, Headers: append(append([]Header(nil), t.in.Headers...), hs...)}
}

func (p *Processor) failureHeaders(t *task, attempts int, cause error, now time.Time) []Header {
	first := t.firstFailure
	if first.IsZero() {
		first = now
	}
	msg, class := "", ""
	if cause != nil {
		msg, class = cause.Error(), p.classOf(cause).String()
	}
	ts := func(tm time.Time) []byte { return []byte(tm.UTC().Format(time.RFC3339Nano)) }
	return []Header{
		{failure.HeaderAttempts, []byte(strconv.Itoa(attempts))},
		{failure.HeaderErrorClass, []byte(class)},
		{failure.HeaderError, []byte(msg)},
		{failure.HeaderFirstFailure, ts(first)},
		{failure.HeaderLastFailure, ts(now)},
		{failure.HeaderOriginTopic, []byte(t.in.Topic)},
		{failure.HeaderOriginPartition, []byte(strconv.Itoa(int(t.in.Partition)))},
		{failure.HeaderOriginOffset, []byte(strconv.FormatInt(t.in.Offset, 10))},
		{failure.HeaderOriginTimestamp, ts(t.in.Timestamp)},
		{failure.HeaderProcessor, []byte(p.cfg.name)},
	}
}

func (p *Processor) classOf(err error) Class {
	c := ClassOf(err)
	if c == Panic && p.cfg.panicsRetryable {
		return Retryable
	}
	return c
}

// pathKey identifies a key of an input topic in the retry path.
type pathKey struct {
	topic string
	key   string
}

// pathEntry is a record of that key in the retry path, by its origin.
type pathEntry struct {
	partition int32
	offset    int64
	tier      int
}

func (t *task) pathKey() pathKey { return pathKey{t.in.Topic, string(t.in.Key)} }

func (t *task) isEntry(e pathEntry) bool {
	return e.partition == t.in.Partition && e.offset == t.in.Offset
}

// keyOrderedRetries reports whether records must follow earlier records of
// their key through the retry path.
func (p *Processor) keyOrderedRetries() bool {
	return p.cfg.keyOrderedRetries && p.cfg.ordering == KeyOrder && len(p.routes.delays) > 0 && p.cfg.onError == nil
}

// parkOrForward is called before the handler, in KeyOrder mode. If an
// earlier record of t's key is in the retry path, t must not overtake it:
// t is sent (parked) to the tier that record waits in, and parkOrForward
// reports true. The produce is issued under retryMu so the path and the
// order of records in the retry topics agree.
func (p *Processor) parkOrForward(t *task) bool {
	p.retryMu.Lock()
	defer p.retryMu.Unlock()
	k := t.pathKey()
	path := p.paths[k]
	if len(path) == 0 {
		return false
	}
	now := time.Now()
	if t.tier < 0 {
		tier := path[len(path)-1].tier
		p.paths[k] = append(path, pathEntry{t.in.Partition, t.in.Offset, tier})
		p.metrics.parked.Inc()
		p.produce(t, []Output{p.retryRecord(t, tier, t.in.Attempt, nil, true, now)})
		return true
	}
	if t.isEntry(path[0]) {
		return false // the head: run it
	}
	head := path[0].tier
	for i := range path {
		if t.isEntry(path[i]) {
			path[i].tier = head
		}
	}
	p.produce(t, []Output{p.retryRecord(t, head, t.in.Attempt, nil, t.parked, now)})
	return true
}

// route sends a failed record to its next retry tier or to the dead-letter
// topic, keeping the retry path in step.
func (p *Processor) route(t *task, cause error) {
	now := time.Now()
	attempts := t.in.Attempt + 1
	tier := -1
	if p.classOf(cause) == Retryable && attempts <= len(p.routes.delays) {
		tier = attempts - 1
	}
	var out Output
	if tier >= 0 {
		out = p.retryRecord(t, tier, attempts, cause, false, now)
		p.metrics.retried.WithLabelValues(t.input).Inc()
	} else {
		out = p.deadLetterRecord(t, attempts, cause, now)
		p.metrics.deadLettered.WithLabelValues(t.input).Inc()
	}
	if !p.keyOrderedRetries() {
		p.produce(t, []Output{out})
		return
	}
	p.retryMu.Lock()
	defer p.retryMu.Unlock()
	k := t.pathKey()
	path := p.paths[k]
	i := 0
	for i < len(path) && !t.isEntry(path[i]) {
		i++
	}
	switch {
	case tier >= 0 && i < len(path):
		path[i].tier = tier
	case tier >= 0:
		p.paths[k] = append(path, pathEntry{t.in.Partition, t.in.Offset, tier})
	case i < len(path):
		p.removeEntry(k, i)
	}
	p.produce(t, []Output{out})
}

// leavePath removes t from its key's retry path after it succeeded, once its
// outputs were handed to the producer: later records of the key may go.
func (p *Processor) leavePath(t *task) {
	p.retryMu.Lock()
	defer p.retryMu.Unlock()
	k := t.pathKey()
	for i, e := range p.paths[k] {
		if t.isEntry(e) {
			p.removeEntry(k, i)
			return
		}
	}
}

func (p *Processor) removeEntry(k pathKey, i int) {
	path := p.paths[k]
	path = append(path[:i], path[i+1:]...)
	if len(path) == 0 {
		delete(p.paths, k)
		return
	}
	p.paths[k] = path
}

// forgetPaths drops the retry-path bookkeeping after a rebalance: records
// whose partitions moved are another instance's now, and an entry that can
// never leave would park its key forever.
func (p *Processor) forgetPaths() {
	p.retryMu.Lock()
	clear(p.paths)
	p.retryMu.Unlock()
}

// gateLocked stops reading partition ps at r, a retry record not due yet:
// it pauses the partition, rewinds the fetch position to r, and resumes
// the partition when r is due. Nothing is held in memory and no worker
// waits; records of the partition already fetched behind r are skipped by
// dispatch while the gate is shut and fetched again after it. Called from
// the poll loop before AllowRebalance, where SetOffsets is safe, with p.mu
// held.
func (p *Processor) gateLocked(ps *partState, r *kgo.Record, due time.Time) {
	tp := map[string][]int32{ps.tp.topic: {ps.tp.partition}}
	p.client.PauseFetchPartitions(tp)
	p.client.SetOffsets(map[string]map[int32]kgo.EpochOffset{ps.tp.topic: {ps.tp.partition: {Epoch: -1, Offset: r.Offset}}})
	ps.gate = time.AfterFunc(time.Until(due), func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		if ps.gate == nil || ps.revoked {
			return
		}
		ps.gate = nil
		p.client.ResumeFetchPartitions(tp)
	})
}

// ungateLocked opens the gate of ps now (on revoke or shutdown), so a
// partition never stays paused for whoever owns it next in this client.
func (p *Processor) ungateLocked(ps *partState) {
	if ps.gate == nil {
		return
	}
	ps.gate.Stop()
	ps.gate = nil
	p.client.ResumeFetchPartitions(map[string][]int32{ps.tp.topic: {ps.tp.partition}})
}

// retryDue returns when a record of a retry topic may be processed, from
// its sluice.due header (zero if absent).
func retryDue(r *kgo.Record) time.Time {
	for _, h := range r.Headers {
		if h.Key == failure.HeaderDue {
			t, _ := time.Parse(time.RFC3339Nano, string(h.Value))
			return t
		}
	}
	return time.Time{}
}
