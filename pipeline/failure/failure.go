// Package failure is the wire format of Sluice's retry and dead-letter
// records: the topic names of the retry tiers and the dead-letter topic, the
// header names, and how a failure is written into headers and read back.
//
// The pipeline runtime writes this format and reads it back from its retry
// tiers; the deadletter tools read it from dead-letter topics. Both import
// this package, which imports nothing of Sluice's, so the format has one
// definition.
//
// A retry or dead-letter record keeps the original key, value and headers
// unchanged and adds the headers below, replacing any sluice.* headers of an
// earlier attempt. Values are UTF-8 text: counts in decimal, times in
// RFC 3339 (UTC, nanoseconds).
package failure

import (
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Sluice's header names.
const (
	HeaderAttempts        = "sluice.attempts"
	HeaderErrorClass      = "sluice.error.class"
	HeaderError           = "sluice.error"
	HeaderFirstFailure    = "sluice.failure.first"
	HeaderLastFailure     = "sluice.failure.last"
	HeaderOriginTopic     = "sluice.origin.topic"
	HeaderOriginPartition = "sluice.origin.partition"
	HeaderOriginOffset    = "sluice.origin.offset"
	HeaderOriginTimestamp = "sluice.origin.timestamp"
	HeaderProcessor       = "sluice.processor"
	// HeaderDue and HeaderParked are only on retry-tier records: when the
	// record may run again, and whether it did not fail itself but follows
	// an earlier record of its key through the retry path.
	HeaderDue    = "sluice.due"
	HeaderParked = "sluice.parked"
	// HeaderReplayed is what a dead-letter replay adds to every record it
	// sends: "<dlq topic>/<partition>/<offset>" of the dead-letter record.
	// Unlike the other sluice.* headers it survives a failure, so a
	// replayed record that fails again says it was a replay.
	HeaderReplayed = "sluice.replayed.from"
	// HeaderReplays counts how many times the record was replayed from a
	// dead-letter topic. It survives failures, like HeaderReplayed.
	HeaderReplays = "sluice.replays"
	// HeaderReplayAttempts is the attempts count of the dead-letter record
	// a replay sent: the runtime counts a replayed record's attempts on
	// from it, so sluice.attempts is the total over all replays (the
	// retry tiers are still chosen by the attempts since the replay).
	HeaderReplayAttempts = "sluice.replay.attempts"
)

// Kafka Connect's dead-letter header names
// (errors.deadletterqueue.context.headers.enable=true), which the runtime
// writes instead of the sluice.* error headers with its ConnectHeaders
// option. Every value is a string.
const (
	ConnectHeaderTopic            = "__connect.errors.topic"
	ConnectHeaderPartition        = "__connect.errors.partition"
	ConnectHeaderOffset           = "__connect.errors.offset"
	ConnectHeaderConnectorName    = "__connect.errors.connector.name"
	ConnectHeaderTaskID           = "__connect.errors.task.id"
	ConnectHeaderStage            = "__connect.errors.stage"
	ConnectHeaderClassName        = "__connect.errors.class.name"
	ConnectHeaderExceptionMessage = "__connect.errors.exception.message"
	ConnectHeaderStackTrace       = "__connect.errors.exception.stacktrace"
)

// Prefixes of the error headers. A replay removes every header whose key
// starts with one of them (but the replay headers), not only the names
// above, so headers added in a later version are removed too.
const (
	SluicePrefix  = "sluice."
	ConnectPrefix = "__connect.errors."
)

// DeadLetterTopic returns the default dead-letter topic of input:
// "<input>.dlq".
func DeadLetterTopic(input string) string { return input + ".dlq" }

// RetryTopic returns the name of input's retry tier for delay d:
// "<input>.retry.<d>", with d written as [time.Duration.String] writes it
// but without trailing zero units, so 5s, 30s, 5m and 1h give
// "orders.retry.5s", "orders.retry.30s", "orders.retry.5m" and
// "orders.retry.1h", and 90s gives "orders.retry.1m30s". Delays must be
// whole milliseconds at least: Kafka topic names cannot hold the "µ" of
// microseconds.
func RetryTopic(input string, d time.Duration) string {
	return input + ".retry." + formatDelay(d)
}

// ParseRetryTopic is the inverse of [RetryTopic]: it splits
// "orders.retry.5m" into "orders" and 5 minutes. ok is false for a name
// that is not a retry tier.
func ParseRetryTopic(topic string) (input string, d time.Duration, ok bool) {
	i := strings.LastIndex(topic, ".retry.")
	if i <= 0 {
		return "", 0, false
	}
	d, err := time.ParseDuration(topic[i+len(".retry."):])
	if err != nil || d <= 0 {
		return "", 0, false
	}
	return topic[:i], d, true
}

func formatDelay(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// Format says which error headers a record carries.
type Format string

const (
	// FormatSluice is the runtime's sluice.* headers.
	FormatSluice Format = "sluice"
	// FormatConnect is Kafka Connect's __connect.errors.* headers.
	FormatConnect Format = "connect"
	// FormatNone is a record with neither: not written by a dead-letter
	// router.
	FormatNone Format = "none"
)

// Origin locates a failed record in the topic it first came from.
type Origin struct {
	Topic     string // "" when the headers do not say
	Partition int32  // -1 when unknown
	Offset    int64  // -1 when unknown
	Timestamp time.Time
}

// String writes the origin as "topic/partition/offset", with "?" for what
// is unknown, or "" when the topic is.
func (o Origin) String() string {
	if o.Topic == "" {
		return ""
	}
	p, off := "?", "?"
	if o.Partition >= 0 {
		p = strconv.Itoa(int(o.Partition))
	}
	if o.Offset >= 0 {
		off = strconv.FormatInt(o.Offset, 10)
	}
	return o.Topic + "/" + p + "/" + off
}

// Failure is what the headers of a retry or dead-letter record say.
type Failure struct {
	// Attempts is how many times the handler failed (0: not recorded).
	Attempts int
	// Class is poison, retryable, permanent or panic, or with Connect
	// headers the exception's Java class name.
	Class string
	// Error is the last error's message.
	Error string
	// FirstFailure and LastFailure are when the handler failed first and
	// last (zero with Connect headers, which do not record them).
	FirstFailure time.Time
	LastFailure  time.Time
	Origin       Origin
	// Processor is the processor (or Connect connector) that routed the
	// record.
	Processor string
	// Due and Parked are only set on retry-tier records.
	Due    time.Time
	Parked bool
	// ReplayedFrom and Replays are set on records replayed from a
	// dead-letter topic (and on their failures): the dead-letter record
	// of the last replay, and how many replays there were.
	ReplayedFrom string
	Replays      int
	// ReplayAttempts is the attempts count carried by the last replay
	// (HeaderReplayAttempts); Attempts already includes it.
	ReplayAttempts int
}

// IsHeader reports whether key is a header this format writes (either
// flavour). A replay drops these; the replay headers are not among them.
func IsHeader(key string) bool {
	if IsReplayHeader(key) {
		return false
	}
	return strings.HasPrefix(key, SluicePrefix) || strings.HasPrefix(key, ConnectPrefix)
}

// IsReplayHeader reports whether key is one of the headers a replay adds,
// which stay on the record through later failures.
func IsReplayHeader(key string) bool {
	return key == HeaderReplayed || key == HeaderReplays || key == HeaderReplayAttempts
}

// AppendHeaders appends f in Sluice's headers to hs. Due and Parked are
// written when retry is true (a record bound for a retry tier); the replay
// headers when f carries them.
func AppendHeaders(hs []kgo.RecordHeader, f *Failure, retry bool) []kgo.RecordHeader {
	hs = append(hs,
		h(HeaderAttempts, strconv.Itoa(f.Attempts)),
		h(HeaderErrorClass, f.Class),
		h(HeaderError, f.Error),
		h(HeaderFirstFailure, formatTime(f.FirstFailure)),
		h(HeaderLastFailure, formatTime(f.LastFailure)),
		h(HeaderOriginTopic, f.Origin.Topic),
		h(HeaderOriginPartition, strconv.Itoa(int(f.Origin.Partition))),
		h(HeaderOriginOffset, strconv.FormatInt(f.Origin.Offset, 10)),
		h(HeaderOriginTimestamp, formatTime(f.Origin.Timestamp)),
		h(HeaderProcessor, f.Processor),
	)
	if retry {
		hs = append(hs, h(HeaderDue, formatTime(f.Due)), h(HeaderParked, strconv.FormatBool(f.Parked)))
	}
	return appendReplay(hs, f)
}

// AppendConnectHeaders appends f in Kafka Connect's dead-letter headers to
// hs, with HeaderAttempts beside them (Connect has no such header) and the
// replay headers when f carries them.
func AppendConnectHeaders(hs []kgo.RecordHeader, f *Failure) []kgo.RecordHeader {
	hs = append(hs,
		h(ConnectHeaderTopic, f.Origin.Topic),
		h(ConnectHeaderPartition, strconv.Itoa(int(f.Origin.Partition))),
		h(ConnectHeaderOffset, strconv.FormatInt(f.Origin.Offset, 10)),
		h(ConnectHeaderConnectorName, f.Processor),
		h(ConnectHeaderTaskID, "0"),
		h(ConnectHeaderStage, "TASK_PUT"),
		h(ConnectHeaderClassName, f.Class),
		h(ConnectHeaderExceptionMessage, f.Error),
		h(HeaderAttempts, strconv.Itoa(f.Attempts)),
	)
	return appendReplay(hs, f)
}

func appendReplay(hs []kgo.RecordHeader, f *Failure) []kgo.RecordHeader {
	if f.ReplayedFrom != "" {
		hs = append(hs, h(HeaderReplayed, f.ReplayedFrom))
	}
	if f.Replays > 0 {
		hs = append(hs, h(HeaderReplays, strconv.Itoa(f.Replays)))
	}
	if f.ReplayAttempts > 0 {
		hs = append(hs, h(HeaderReplayAttempts, strconv.Itoa(f.ReplayAttempts)))
	}
	return hs
}

// Decode reads a failure from hs. It never fails: fields whose header is
// missing or unparsable are zero (-1 for the origin's partition and
// offset), and a record with no error headers has FormatNone. Where both
// formats name the same thing, Sluice's header wins; where a header occurs
// twice, the last one counts.
func Decode(hs []kgo.RecordHeader) (Failure, Format) {
	f := Failure{Origin: Origin{Partition: -1, Offset: -1}}
	format := FormatNone
	var connect Failure
	connect.Origin.Partition, connect.Origin.Offset = -1, -1
	seen := map[string]bool{}
	for _, hd := range hs {
		v := strings.TrimSpace(string(hd.Value))
		switch hd.Key {
		case HeaderAttempts:
			f.Attempts, _ = strconv.Atoi(v)
		case HeaderErrorClass:
			f.Class = v
		case HeaderError:
			f.Error = v
		case HeaderFirstFailure:
			f.FirstFailure = ParseTime(v)
		case HeaderLastFailure:
			f.LastFailure = ParseTime(v)
		case HeaderOriginTopic:
			f.Origin.Topic = v
		case HeaderOriginPartition:
			f.Origin.Partition = parsePartition(v)
		case HeaderOriginOffset:
			f.Origin.Offset = parseOffset(v)
		case HeaderOriginTimestamp:
			f.Origin.Timestamp = ParseTime(v)
		case HeaderProcessor:
			f.Processor = v
		case HeaderDue:
			f.Due = ParseTime(v)
		case HeaderParked:
			f.Parked = v == "true"
		case HeaderReplayed:
			f.ReplayedFrom = v
		case HeaderReplays:
			f.Replays, _ = strconv.Atoi(v)
		case HeaderReplayAttempts:
			f.ReplayAttempts, _ = strconv.Atoi(v)
		case ConnectHeaderTopic:
			connect.Origin.Topic = v
		case ConnectHeaderPartition:
			connect.Origin.Partition = parsePartition(v)
		case ConnectHeaderOffset:
			connect.Origin.Offset = parseOffset(v)
		case ConnectHeaderConnectorName:
			connect.Processor = v
		case ConnectHeaderClassName:
			connect.Class = v
		case ConnectHeaderExceptionMessage:
			connect.Error = v
		default:
			continue
		}
		seen[hd.Key] = true
	}
	for _, hd := range hs {
		if IsHeader(hd.Key) && strings.HasPrefix(hd.Key, SluicePrefix) {
			format = FormatSluice
			break
		}
		if strings.HasPrefix(hd.Key, ConnectPrefix) {
			format = FormatConnect
		}
	}
	// Connect's headers fill in what Sluice's did not say.
	if !seen[HeaderOriginTopic] {
		f.Origin.Topic = connect.Origin.Topic
	}
	if !seen[HeaderOriginPartition] || f.Origin.Partition < 0 {
		if connect.Origin.Partition >= 0 {
			f.Origin.Partition = connect.Origin.Partition
		}
	}
	if !seen[HeaderOriginOffset] || f.Origin.Offset < 0 {
		if connect.Origin.Offset >= 0 {
			f.Origin.Offset = connect.Origin.Offset
		}
	}
	if !seen[HeaderProcessor] {
		f.Processor = connect.Processor
	}
	if !seen[HeaderErrorClass] {
		f.Class = connect.Class
	}
	if !seen[HeaderError] {
		f.Error = connect.Error
	}
	return f, format
}

// ParseTime parses a time header value; zero if empty or unparsable.
func ParseTime(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func parsePartition(v string) int32 {
	n, err := strconv.ParseInt(v, 10, 32)
	if err != nil {
		return -1
	}
	return int32(n)
}

func parseOffset(v string) int64 {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return -1
	}
	return n
}

func h(k, v string) kgo.RecordHeader { return kgo.RecordHeader{Key: k, Value: []byte(v)} }
