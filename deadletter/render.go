package deadletter

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
	"unicode/utf8"
)

// ListWriter writes one line per record, under a header line, in aligned
// columns: partition/offset, age, attempts, error class, key, origin and
// the first line of the error. It aligns blocks of listBlock lines, so a
// long listing streams; call Flush at the end.
type ListWriter struct {
	tw     *tabwriter.Writer
	now    time.Time
	header bool
	lines  int
}

const listBlock = 200

// NewListWriter returns a ListWriter on w that computes ages at now.
func NewListWriter(w io.Writer, now time.Time) *ListWriter {
	return &ListWriter{tw: tabwriter.NewWriter(w, 0, 4, 2, ' ', 0), now: now}
}

// Write writes r's line.
func (lw *ListWriter) Write(r *Record) error {
	if !lw.header {
		lw.header = true
		if _, err := fmt.Fprintln(lw.tw, "PART/OFFSET\tAGE\tATTEMPTS\tCLASS\tKEY\tORIGIN\tERROR"); err != nil {
			return err
		}
	}
	attempts := "-"
	if r.Attempts > 0 {
		attempts = strconv.Itoa(r.Attempts)
	}
	_, err := fmt.Fprintf(lw.tw, "%d/%d\t%s\t%s\t%s\t%s\t%s\t%s\n",
		r.Partition, r.Offset, Age(lw.now.Sub(r.DeadLetteredAt())), attempts,
		orDash(r.ErrorClass), ShowBytes(r.Key, 32), orDash(r.Origin.String()), orDash(summary(r.Error, 100)))
	if lw.lines++; err == nil && lw.lines%listBlock == 0 {
		err = lw.tw.Flush()
	}
	return err
}

// Flush writes the buffered lines.
func (lw *ListWriter) Flush() error { return lw.tw.Flush() }

// Decoder decodes a record value and names the schema it was written with.
// A *schemas.Serde is one through a line of glue:
//
//	func(ctx context.Context, b []byte) (string, map[string]any, error) {
//		sc, v, err := serde.DecodeAny(ctx, b)
//		if err != nil {
//			return "", nil, err
//		}
//		return sc.String(), v, nil
//	}
//
// (This package does not import schemas, so that the runtime can import it
// without Avro.)
type Decoder func(ctx context.Context, value []byte) (schema string, v map[string]any, err error)

// WriteDetail writes everything about r: the parsed error headers, every
// header as stored, the key and the value, decoded as JSON when decode can
// (decode may be nil), else its bytes and why not.
func WriteDetail(ctx context.Context, w io.Writer, r *Record, decode Decoder, now time.Time) error {
	ew := &errWriter{w: w}
	ew.printf("── %s ──\n", r.ID())
	row := func(name, value string) {
		if value != "" {
			ew.printf("  %-15s %s\n", name, value)
		}
	}
	at := r.DeadLetteredAt()
	row("dead-lettered", fmt.Sprintf("%s (%s ago)", at.Format(time.RFC3339Nano), Age(now.Sub(at))))
	row("headers format", string(r.Format))
	row("error class", r.ErrorClass)
	row("error", indentLines(r.Error, 18))
	if r.Attempts > 0 {
		row("attempts", strconv.Itoa(r.Attempts))
	}
	row("first failure", formatTime(r.FirstFailure))
	row("last failure", formatTime(r.LastFailure))
	origin := r.Origin.String()
	if origin != "" && !r.Origin.Timestamp.IsZero() {
		origin += ", written " + formatTime(r.Origin.Timestamp)
	}
	row("origin", origin)
	row("processor", r.Processor)
	row("due", formatTime(r.Due))
	if r.Parked {
		row("parked", "true (behind an earlier record of the same key)")
	}
	row("replayed from", r.ReplayedFrom)
	if r.Replays > 0 {
		row("replays", fmt.Sprintf("%d (came back from a replay: dlq replay leaves it out without --include-refailed)", r.Replays))
	}
	row("timestamp", formatTime(r.Timestamp))
	row("key", ShowBytes(r.Key, 200))
	ew.printf("  headers (%d)\n", len(r.Headers))
	for _, h := range r.Headers {
		ew.printf("    %s: %s\n", h.Key, indentLines(showHeader(h.Value), 6))
	}
	p := DecodePayload(ctx, decode, r.Value)
	switch {
	case p.Null:
		ew.printf("  value           null (tombstone)\n")
	case p.Decoded != nil:
		b, err := json.MarshalIndent(p.Decoded, "    ", "  ")
		if err != nil {
			ew.printf("  value           %s, %d bytes, decoded but not printable as JSON (%v): %s\n", p.Schema, p.Size, err, ShowBytes(r.Value, 512))
			break
		}
		ew.printf("  value           %s, %d bytes\n    %s\n", p.Schema, p.Size, b)
	default:
		ew.printf("  value           %d bytes, not decodable (%s): %s\n", p.Size, p.Error, ShowBytes(r.Value, 512))
	}
	ew.printf("\n")
	return ew.err
}

// RecordJSON is the JSON form of a record, one object per line in --json
// output. Its field names are stable; fields whose header is missing are
// null (or "" for strings, false for booleans), never absent. Headers and
// Value are set by [DetailJSON] only (absent in [SummaryJSON]'s output).
type RecordJSON struct {
	Topic          string    `json:"topic"`
	Partition      int32     `json:"partition"`
	Offset         int64     `json:"offset"`
	Timestamp      time.Time `json:"timestamp"`
	DeadLetteredAt time.Time `json:"dead_lettered_at"`
	AgeSeconds     float64   `json:"age_seconds"`
	// Key is the key as text when it is valid UTF-8, else null; KeyBase64
	// is its bytes, null for a null key.
	Key          *string      `json:"key"`
	KeyBase64    []byte       `json:"key_base64"`
	HeaderFormat HeaderFormat `json:"header_format"`
	Attempts     *int         `json:"attempts"`
	ErrorClass   string       `json:"error_class"`
	Error        string       `json:"error"`
	FirstFailure *time.Time   `json:"first_failure"`
	LastFailure  *time.Time   `json:"last_failure"`
	Origin       OriginJSON   `json:"origin"`
	Processor    string       `json:"processor"`
	Due          *time.Time   `json:"due"`
	Parked       bool         `json:"parked"`
	ReplayedFrom string       `json:"replayed_from"`
	Replays      int          `json:"replays"`
	Headers      []HeaderJSON `json:"headers,omitempty"`
	Value        *Payload     `json:"value,omitempty"`
}

// OriginJSON is [Origin] in [RecordJSON]; unknown fields are null.
type OriginJSON struct {
	Topic     string     `json:"topic"`
	Partition *int32     `json:"partition"`
	Offset    *int64     `json:"offset"`
	Timestamp *time.Time `json:"timestamp"`
}

// HeaderJSON is one header: its value as text when valid UTF-8 (else
// null), and its bytes.
type HeaderJSON struct {
	Key         string  `json:"key"`
	Value       *string `json:"value"`
	ValueBase64 []byte  `json:"value_base64"`
}

// Payload is a record value, decoded when the Decoder can.
type Payload struct {
	// Null is true for a null value (a tombstone).
	Null bool `json:"null"`
	// Size is the value's length in bytes.
	Size int `json:"size"`
	// Schema names the writer schema ("sluice.orders.OrderPlaced v2") and
	// Decoded is the value, when it decoded.
	Schema  string         `json:"schema,omitempty"`
	Decoded map[string]any `json:"decoded,omitempty"`
	// Error says why it did not decode; Base64 is then its bytes.
	Error  string `json:"error,omitempty"`
	Base64 []byte `json:"base64,omitempty"`
}

// DecodePayload decodes a record value with decode, which may be nil (then
// it only describes the bytes).
func DecodePayload(ctx context.Context, decode Decoder, b []byte) Payload {
	p := Payload{Null: b == nil, Size: len(b)}
	if p.Null {
		return p
	}
	if decode == nil {
		p.Error, p.Base64 = "no decoder", b
		return p
	}
	schema, v, err := decode(ctx, b)
	if err != nil {
		p.Error, p.Base64 = err.Error(), b
		return p
	}
	p.Schema, p.Decoded = schema, v
	return p
}

// SummaryJSON returns r's JSON form without headers and value, as list
// prints it.
func SummaryJSON(r *Record, now time.Time) RecordJSON {
	at := r.DeadLetteredAt()
	j := RecordJSON{
		Topic: r.Topic, Partition: r.Partition, Offset: r.Offset,
		Timestamp: r.Timestamp, DeadLetteredAt: at, AgeSeconds: now.Sub(at).Seconds(),
		Key: text(r.Key), KeyBase64: r.Key, HeaderFormat: r.Format,
		ErrorClass: r.ErrorClass, Error: r.Error,
		FirstFailure: timePtr(r.FirstFailure), LastFailure: timePtr(r.LastFailure),
		Origin:    OriginJSON{Topic: r.Origin.Topic, Timestamp: timePtr(r.Origin.Timestamp)},
		Processor: r.Processor, Due: timePtr(r.Due), Parked: r.Parked, ReplayedFrom: r.ReplayedFrom,
		Replays: r.Replays,
	}
	if r.Attempts > 0 {
		j.Attempts = &r.Attempts
	}
	if r.Origin.Partition >= 0 {
		j.Origin.Partition = &r.Origin.Partition
	}
	if r.Origin.Offset >= 0 {
		j.Origin.Offset = &r.Origin.Offset
	}
	return j
}

// DetailJSON returns r's JSON form with every header and the value,
// decoded when decode (which may be nil) can, as inspect prints it.
func DetailJSON(ctx context.Context, r *Record, decode Decoder, now time.Time) RecordJSON {
	j := SummaryJSON(r, now)
	j.Headers = make([]HeaderJSON, 0, len(r.Headers))
	for _, h := range r.Headers {
		j.Headers = append(j.Headers, HeaderJSON{Key: h.Key, Value: text(h.Value), ValueBase64: h.Value})
	}
	p := DecodePayload(ctx, decode, r.Value)
	j.Value = &p
	return j
}

// WriteJSON writes j as one line of JSON. A decoded value that JSON cannot
// represent (a NaN double) is written as its bytes with the reason.
func WriteJSON(w io.Writer, j RecordJSON) error {
	b, err := json.Marshal(j)
	if err != nil && j.Value != nil && j.Value.Decoded != nil {
		v := *j.Value
		v.Error = "decoded as " + v.Schema + " but not representable in JSON: " + err.Error()
		v.Decoded, v.Schema = nil, ""
		j.Value = &v
		b, err = json.Marshal(j)
	}
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// Age writes a duration as a short age: 45s, 12m, 5h12m, 3d4h.
func Age(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd%dh", int(d.Hours())/24, int(d.Hours())%24)
}

// ShowBytes writes b for a terminal: quoted when it is printable text, else
// 0x and hex, cut after limit bytes with the total length; "null" for nil.
func ShowBytes(b []byte, limit int) string {
	if b == nil {
		return "null"
	}
	cut, suffix := b, ""
	if len(b) > limit {
		cut, suffix = cutRunes(b, limit), fmt.Sprintf("… (%d bytes)", len(b))
	}
	if printable(cut) {
		return strconv.Quote(string(cut)) + suffix
	}
	return "0x" + hex.EncodeToString(cut) + suffix
}

// showHeader writes a header value: plain when printable text, as
// ShowBytes otherwise.
func showHeader(b []byte) string {
	if len(b) > 0 && printable(b) && !strings.ContainsAny(string(b), "\"") {
		return string(b)
	}
	return ShowBytes(b, 512)
}

func printable(b []byte) bool {
	if !utf8.Valid(b) {
		return false
	}
	for _, r := range string(b) {
		if !unicode.IsPrint(r) && r != '\n' && r != '\t' {
			return false
		}
	}
	return true
}

// cutRunes returns b[:n] without a rune split at its end.
func cutRunes(b []byte, n int) []byte {
	b = b[:n]
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax; i-- {
		if utf8.RuneStart(b[i]) {
			if !utf8.FullRune(b[i:]) {
				return b[:i]
			}
			break
		}
	}
	return b
}

func text(b []byte) *string {
	if b == nil || !utf8.Valid(b) {
		return nil
	}
	s := string(b)
	return &s
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(time.RFC3339Nano)
}

// summary is the first line of s, cut to n runes.
func summary(s string, n int) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	if utf8.RuneCountInString(s) > n {
		s = string([]rune(s)[:n-1]) + "…"
	}
	return s
}

func indentLines(s string, n int) string {
	return strings.ReplaceAll(s, "\n", "\n"+strings.Repeat(" ", n))
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// errWriter keeps the first write error, so a long printout checks once.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, args ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, args...)
	}
}
