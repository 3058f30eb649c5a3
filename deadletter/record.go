package deadletter

import (
	"fmt"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluice-dev/sluice/pipeline/failure"
)

// HeaderFormat says which error headers a dead-letter record carries.
type HeaderFormat = failure.Format

// The header formats a dead-letter record may carry.
const (
	FormatSluice  = failure.FormatSluice
	FormatConnect = failure.FormatConnect
	FormatNone    = failure.FormatNone
)

// Origin locates a dead-letter record's original in the topic it first
// came from.
type Origin = failure.Origin

// Record is one record of a dead-letter topic with its error headers
// parsed. Fields whose header is missing or unparsable are zero (-1 for
// origin partition and offset); the raw headers are always in Headers.
// Sluice's header wins where both formats name the same thing.
type Record struct {
	// Topic, Partition, Offset and Timestamp locate the record in the
	// dead-letter topic.
	Topic     string
	Partition int32
	Offset    int64
	Timestamp time.Time
	// Key, Value and Headers are the record as stored: the original key
	// and value bytes, the original headers and the error headers.
	Key     []byte
	Value   []byte
	Headers []kgo.RecordHeader

	Format HeaderFormat
	// Attempts is how many times the handler failed (0: not recorded).
	Attempts int
	// ErrorClass is poison, retryable, permanent or panic, or with Connect
	// headers the exception's Java class name.
	ErrorClass string
	// Error is the last error's message.
	Error string
	// FirstFailure and LastFailure are when the handler failed first and
	// last (zero with Connect headers, which do not record it).
	FirstFailure time.Time
	LastFailure  time.Time
	Origin       Origin
	// Processor is the processor (or Connect connector) that routed the
	// record.
	Processor string
	// Due and Parked are only set on retry-tier records; see the runtime.
	Due    time.Time
	Parked bool
	// ReplayedFrom is set when the failed record was itself a replay:
	// "<dlq topic>/<partition>/<offset>" it was replayed from.
	ReplayedFrom string
	// Replays counts the replays the record went through before it
	// failed again (0: it never was replayed).
	Replays int
	// ReplayAttempts is the attempts count the last replay carried
	// ([failure.HeaderReplayAttempts]); Attempts includes it.
	ReplayAttempts int
}

// Refailed reports whether r came back: it was replayed from a dead-letter
// topic before and failed again. Replaying it again would send it round
// the same loop unless its cause was fixed, so [Queue.Replay] leaves such
// records out unless asked ([IncludeRefailed]).
func (r *Record) Refailed() bool { return r.Replays > 0 || r.ReplayedFrom != "" }

// Parse reads the error headers of a record fetched from a dead-letter
// topic. It never fails: a record without error headers has Format
// FormatNone.
func Parse(r *kgo.Record) *Record {
	f, format := failure.Decode(r.Headers)
	return &Record{
		Topic:          r.Topic,
		Partition:      r.Partition,
		Offset:         r.Offset,
		Timestamp:      r.Timestamp.UTC(),
		Key:            r.Key,
		Value:          r.Value,
		Headers:        r.Headers,
		Format:         format,
		Attempts:       f.Attempts,
		ErrorClass:     f.Class,
		Error:          f.Error,
		FirstFailure:   f.FirstFailure,
		LastFailure:    f.LastFailure,
		Origin:         f.Origin,
		Processor:      f.Processor,
		Due:            f.Due,
		Parked:         f.Parked,
		ReplayedFrom:   f.ReplayedFrom,
		Replays:        f.Replays,
		ReplayAttempts: f.ReplayAttempts,
	}
}

// DeadLetteredAt is when the record was dead-lettered: its last failure,
// or, without that header (Connect), the record's timestamp. Age, the time
// filters and the list's AGE column use it.
func (r *Record) DeadLetteredAt() time.Time {
	if !r.LastFailure.IsZero() {
		return r.LastFailure
	}
	return r.Timestamp
}

// ID is "<topic>/<partition>/<offset>", the value of [failure.HeaderReplayed] for a
// replay of r.
func (r *Record) ID() string { return fmt.Sprintf("%s/%d/%d", r.Topic, r.Partition, r.Offset) }

// earlierReplays is how many replays r went through: Replays, or one for a
// replay written before sluice.replays existed (only sluice.replayed.from).
func (r *Record) earlierReplays() int {
	if r.Replays == 0 && r.ReplayedFrom != "" {
		return 1
	}
	return r.Replays
}

// ReplayRecord returns the record a replay of r sends to topic: r's key and
// value bytes unchanged, r's headers in their order without the error
// headers (every sluice.* and __connect.errors.* header) and without
// earlier replay headers, plus the replay headers of this replay:
// [failure.HeaderReplayed] = r.ID(), [failure.HeaderReplays] = r.Replays+1
// (2 for a replay that predates that header)
// and, when r recorded attempts, [failure.HeaderReplayAttempts] =
// r.Attempts, from which the runtime counts the replayed record's attempts
// on, so attempts add up across replays. Timestamp and partition are left
// for the producer to choose (now; the key's hash partition).
func (r *Record) ReplayRecord(topic string) *kgo.Record {
	hs := make([]kgo.RecordHeader, 0, len(r.Headers)+3)
	for _, h := range r.Headers {
		if failure.IsHeader(h.Key) || failure.IsReplayHeader(h.Key) {
			continue
		}
		hs = append(hs, h)
	}
	hs = append(hs,
		kgo.RecordHeader{Key: failure.HeaderReplayed, Value: []byte(r.ID())},
		kgo.RecordHeader{Key: failure.HeaderReplays, Value: []byte(strconv.Itoa(r.earlierReplays() + 1))},
	)
	if r.Attempts > 0 {
		hs = append(hs, kgo.RecordHeader{Key: failure.HeaderReplayAttempts, Value: []byte(strconv.Itoa(r.Attempts))})
	}
	return &kgo.Record{Topic: topic, Key: r.Key, Value: r.Value, Headers: hs}
}
