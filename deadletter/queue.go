package deadletter

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sluice-dev/sluice/pipeline/failure"
	"github.com/sluice-dev/sluice/pipeline/kafkaconn"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Queue is one dead-letter topic on a cluster, the handle that reading,
// replaying and purging work through. Its methods may be called from one
// goroutine at a time.
type Queue struct {
	topic      string
	conn       []kgo.Opt
	cl         *kgo.Client
	adm        *kadm.Client
	partitions []int32
	now        func() time.Time
}

// UnknownTopicError is the error [Open] returns for a topic that does not
// exist. It lists the dead-letter topics (names ending in ".dlq") that do
// and that this principal may see. It matches kafkaconn.ErrTopicMissing.
type UnknownTopicError struct {
	Topic            string
	DeadLetterTopics []string
}

func (e *UnknownTopicError) Is(target error) bool { return target == kafkaconn.ErrTopicMissing }

func (e *UnknownTopicError) Error() string {
	msg := fmt.Sprintf("topic %q does not exist", e.Topic)
	if slices.Contains(e.DeadLetterTopics, failure.DeadLetterTopic(e.Topic)) {
		msg += fmt.Sprintf(" (did you mean %s, its dead-letter topic?)", failure.DeadLetterTopic(e.Topic))
	}
	if len(e.DeadLetterTopics) == 0 {
		return msg + "; no dead-letter topic (*.dlq) that this principal may see exists on this cluster"
	}
	return msg + "; dead-letter topics on this cluster: " + strings.Join(e.DeadLetterTopics, ", ")
}

// Open checks that topic exists and returns a Queue for it. conn are the
// client options that reach the cluster (seed brokers, TLS, SASL); Open
// adds what each job needs. It asks for the topic by name, so that a topic
// this principal may not see is reported as such (a
// *kafkaconn.AuthorizationError), not as missing; it returns an
// [*UnknownTopicError] for a topic that does not exist, and a classified
// connection error (package kafkaconn) when the cluster cannot be asked.
func Open(ctx context.Context, topic string, conn ...kgo.Opt) (*Queue, error) {
	cl, err := kgo.NewClient(conn...)
	if err != nil {
		return nil, err
	}
	q := &Queue{topic: topic, conn: conn, cl: cl, adm: kadm.NewClient(cl), now: time.Now}
	mctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	found, err := kafkaconn.LookupTopics(mctx, q.adm, topic)
	td, ok := found[topic]
	if !ok {
		defer cl.Close()
		if errors.Is(err, kafkaconn.ErrTopicMissing) {
			return nil, &UnknownTopicError{Topic: topic, DeadLetterTopics: deadLetterTopics(mctx, q.adm)}
		}
		return nil, err
	}
	q.partitions = td.Partitions.Numbers()
	slices.Sort(q.partitions)
	return q, nil
}

// deadLetterTopics lists the topics named *.dlq this principal may see,
// for the hint of an UnknownTopicError; a failure leaves it empty.
func deadLetterTopics(ctx context.Context, adm *kadm.Client) []string {
	topics, err := adm.ListTopics(ctx)
	if err != nil {
		return nil
	}
	var dlqs []string
	for _, name := range topics.Names() {
		if strings.HasSuffix(name, ".dlq") {
			dlqs = append(dlqs, name)
		}
	}
	slices.Sort(dlqs)
	return dlqs
}

// Topic returns the dead-letter topic's name.
func (q *Queue) Topic() string { return q.topic }

// Partitions returns the topic's partition numbers, ascending.
func (q *Queue) Partitions() []int32 { return slices.Clone(q.partitions) }

// Close releases the Queue's connections.
func (q *Queue) Close() { q.cl.Close() }

// PartitionOffsets is where one partition of the dead-letter topic stands.
type PartitionOffsets struct {
	Partition int32
	// Start is the first offset still stored (records before it expired or
	// were purged); End is the offset after the last committed record.
	// End-Start is about how many records the partition holds.
	Start, End int64
	// Replayed is the offset [Queue.Replay] continues from: every record
	// before it was examined by an earlier replay. -1 when no replay has
	// committed progress in this partition.
	Replayed int64
}

// Offsets returns every partition's offsets, by partition. Replay
// progress is the committed offsets of group [ProgressGroup], which needs
// DESCRIBE on that group.
func (q *Queue) Offsets(ctx context.Context) ([]PartitionOffsets, error) {
	return q.offsets(ctx, true)
}

// offsets returns every partition's offsets; without progress, Replayed is
// -1 and the progress group is not asked (reading needs no ACL on it).
func (q *Queue) offsets(ctx context.Context, progress bool) ([]PartitionOffsets, error) {
	starts, err := q.adm.ListStartOffsets(ctx, q.topic)
	if err == nil {
		err = starts.Error()
	}
	if err != nil {
		return nil, kafkaconn.Named(kafkaconn.ResourceTopic, q.topic, fmt.Errorf("list start offsets of %s: %w", q.topic, err))
	}
	// Committed (last stable) offsets: a read_committed reader gets no
	// further, whether or not the topic is written in transactions.
	ends, err := q.adm.ListCommittedOffsets(ctx, q.topic)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return nil, kafkaconn.Named(kafkaconn.ResourceTopic, q.topic, fmt.Errorf("list end offsets of %s: %w", q.topic, err))
	}
	var replayed kadm.OffsetResponses
	if progress {
		replayed, err = q.adm.FetchOffsetsForTopics(kadm.RequireStable(ctx), ProgressGroup(q.topic), q.topic)
		if err != nil && !errors.Is(err, kerr.GroupIDNotFound) {
			return nil, kafkaconn.Named(kafkaconn.ResourceGroup, ProgressGroup(q.topic), fmt.Errorf("fetch replay progress (group %s): %w", ProgressGroup(q.topic), err))
		}
	}
	out := make([]PartitionOffsets, 0, len(q.partitions))
	for _, p := range q.partitions {
		po := PartitionOffsets{Partition: p, Replayed: -1}
		if s, ok := starts.Lookup(q.topic, p); ok {
			po.Start = s.Offset
		}
		if e, ok := ends.Lookup(q.topic, p); ok {
			po.End = e.Offset
		}
		if c, ok := replayed.Lookup(q.topic, p); ok && c.Err == nil && c.At >= 0 {
			po.Replayed = c.At
		}
		out = append(out, po)
	}
	return out, nil
}

// checkPartitions returns an error naming the first of f's partitions that
// the topic does not have.
func (q *Queue) checkPartitions(f Filter) error {
	for _, p := range f.Partitions {
		if !slices.Contains(q.partitions, p) {
			return fmt.Errorf("partition %d does not exist: %s has %d partitions (0 to %d)", p, q.topic, len(q.partitions), len(q.partitions)-1)
		}
	}
	return nil
}
