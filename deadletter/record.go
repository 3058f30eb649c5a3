package deadletter

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// HeaderFormat says which error headers a dead-letter record carries.
type HeaderFormat string

const (
	// FormatSluice is the runtime's sluice.* headers.
	FormatSluice HeaderFormat = "sluice"
	// FormatConnect is Kafka Connect's __connect.errors.* headers.
	FormatConnect HeaderFormat = "connect"
	// FormatNone is a record with neither: not written by a dead-letter
	// router. It can be listed but not replayed (it has no origin).
	FormatNone HeaderFormat = "none"
)

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
}

// Origin locates a dead-letter record's original in the topic it first
// came from.
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

// Parse reads the error headers of a record fetched from a dead-letter
// topic. It never fails: a record without error headers has Format
// FormatNone.
func Parse(r *kgo.Record) *Record {
	h := headerMapOf(r.Headers)
	rec := &Record{
		Topic:     r.Topic,
		Partition: r.Partition,
		Offset:    r.Offset,
		Timestamp: r.Timestamp.UTC(),
		Key:       r.Key,
		Value:     r.Value,
		Headers:   r.Headers,
		Format:    FormatNone,
		Origin:    Origin{Partition: -1, Offset: -1},
	}
	for _, hd := range r.Headers {
		if strings.HasPrefix(hd.Key, sluicePrefix) && hd.Key != HeaderReplayed {
			rec.Format = FormatSluice
			break
		}
		if strings.HasPrefix(hd.Key, connectPrefix) {
			rec.Format = FormatConnect
		}
	}
	rec.Attempts, _ = strconv.Atoi(h.get(HeaderAttempts))
	rec.ErrorClass = h.get(HeaderErrorClass, ConnectHeaderClassName)
	rec.Error = h.get(HeaderError, ConnectHeaderExceptionMessage)
	rec.FirstFailure = parseTime(h.get(HeaderFirstFailure))
	rec.LastFailure = parseTime(h.get(HeaderLastFailure))
	rec.Origin.Topic = h.get(HeaderOriginTopic, ConnectHeaderTopic)
	if p, err := strconv.ParseInt(h.get(HeaderOriginPartition, ConnectHeaderPartition), 10, 32); err == nil {
		rec.Origin.Partition = int32(p)
	}
	if o, err := strconv.ParseInt(h.get(HeaderOriginOffset, ConnectHeaderOffset), 10, 64); err == nil {
		rec.Origin.Offset = o
	}
	rec.Origin.Timestamp = parseTime(h.get(HeaderOriginTimestamp))
	rec.Processor = h.get(HeaderProcessor, ConnectHeaderConnectorName)
	rec.Due = parseTime(h.get(HeaderDue))
	rec.Parked = h.get(HeaderParked) == "true"
	rec.ReplayedFrom = h.get(HeaderReplayed)
	return rec
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

// ID is "<topic>/<partition>/<offset>", the value of [HeaderReplayed] for a
// replay of r.
func (r *Record) ID() string { return fmt.Sprintf("%s/%d/%d", r.Topic, r.Partition, r.Offset) }

// ReplayRecord returns the record a replay of r sends to topic: r's key and
// value bytes unchanged, r's headers in their order without the error
// headers (every sluice.* and __connect.errors.* header), and
// [HeaderReplayed] set to r.ID(). Timestamp and partition are left for the
// producer to choose (now; the key's hash partition).
func (r *Record) ReplayRecord(topic string) *kgo.Record {
	hs := make([]kgo.RecordHeader, 0, len(r.Headers)+1)
	for _, h := range r.Headers {
		if strings.HasPrefix(h.Key, sluicePrefix) || strings.HasPrefix(h.Key, connectPrefix) {
			continue
		}
		hs = append(hs, h)
	}
	hs = append(hs, kgo.RecordHeader{Key: HeaderReplayed, Value: []byte(r.ID())})
	return &kgo.Record{Topic: topic, Key: r.Key, Value: r.Value, Headers: hs}
}

// headerMap holds the last value of each header key (the runtime replaces
// its headers, but a record may have passed through other tools).
type headerMap map[string]string

func headerMapOf(hs []kgo.RecordHeader) headerMap {
	m := make(headerMap, len(hs))
	for _, h := range hs {
		m[h.Key] = string(h.Value)
	}
	return m
}

// get returns the value of the first of keys present.
func (m headerMap) get(keys ...string) string {
	for _, k := range keys {
		if v, ok := m[k]; ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func parseTime(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}
