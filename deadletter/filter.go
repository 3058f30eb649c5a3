package deadletter

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Filter selects dead-letter records. The zero Filter selects every record;
// each set field narrows the selection (all must match).
type Filter struct {
	// ErrorContains keeps records whose error message or error class
	// contains it, ignoring case.
	ErrorContains string
	// Key, when not nil, keeps records whose key is exactly these bytes
	// (an empty, non-nil Key keeps records with an empty or null key).
	Key []byte
	// Since and Until keep records dead-lettered at or after Since and
	// before Until ([Record.DeadLetteredAt]); zero means unbounded.
	Since, Until time.Time
	// Partitions keeps records of these dead-letter partitions (empty:
	// all). Readers do not fetch the other partitions at all.
	Partitions []int32
	// Offsets keeps records in this range of dead-letter offsets, in every
	// selected partition. Readers start fetching at its first offset.
	Offsets OffsetRange
	// Limit stops after this many records matched (0: no limit).
	Limit int
}

// Match reports whether r passes the filter's record tests (everything but
// Limit).
func (f Filter) Match(r *Record) bool {
	if len(f.Partitions) > 0 && !slices.Contains(f.Partitions, r.Partition) {
		return false
	}
	if !f.Offsets.Contains(r.Offset) {
		return false
	}
	if f.Key != nil && !bytes.Equal(f.Key, r.Key) {
		return false
	}
	if f.ErrorContains != "" {
		needle := strings.ToLower(f.ErrorContains)
		if !strings.Contains(strings.ToLower(r.Error), needle) && !strings.Contains(strings.ToLower(r.ErrorClass), needle) {
			return false
		}
	}
	at := r.DeadLetteredAt()
	if !f.Since.IsZero() && at.Before(f.Since) {
		return false
	}
	if !f.Until.IsZero() && !at.Before(f.Until) {
		return false
	}
	return true
}

// wantsPartition reports whether the filter can match records of p.
func (f Filter) wantsPartition(p int32) bool {
	return len(f.Partitions) == 0 || slices.Contains(f.Partitions, p)
}

// OffsetRange is an inclusive range of offsets, made by [NewOffsetRange] or
// [ParseOffsetRange]. The zero value is every offset.
type OffsetRange struct {
	From int64 // first offset
	To   int64 // last offset, inclusive (math.MaxInt64: no end)
	set  bool
}

// NewOffsetRange returns the offsets from..to, inclusive; to < 0 means no
// end.
func NewOffsetRange(from, to int64) OffsetRange {
	if to < 0 {
		to = math.MaxInt64
	}
	return OffsetRange{From: from, To: to, set: true}
}

// Contains reports whether o is in the range.
func (r OffsetRange) Contains(o int64) bool {
	return !r.set || (o >= r.From && o <= r.To)
}

func (r OffsetRange) String() string {
	switch {
	case !r.set:
		return "all"
	case r.From == r.To:
		return strconv.FormatInt(r.From, 10)
	case r.To == math.MaxInt64:
		return fmt.Sprintf("%d-", r.From)
	}
	return fmt.Sprintf("%d-%d", r.From, r.To)
}

// ParseOffsetRange parses "N" (that offset), "N-M" (N to M inclusive) or
// "N-" (N and after).
func ParseOffsetRange(s string) (OffsetRange, error) {
	from, to, isRange := strings.Cut(strings.TrimSpace(s), "-")
	f, err := strconv.ParseInt(from, 10, 64)
	if err != nil || f < 0 {
		return OffsetRange{}, fmt.Errorf("offset range %q: want N, N-M or N- with N a non-negative offset", s)
	}
	r := OffsetRange{From: f, To: f, set: true}
	if !isRange {
		return r, nil
	}
	if to == "" {
		r.To = math.MaxInt64
		return r, nil
	}
	t, err := strconv.ParseInt(to, 10, 64)
	if err != nil || t < f {
		return OffsetRange{}, fmt.Errorf("offset range %q: want N-M with M >= N", s)
	}
	r.To = t
	return r, nil
}

// ParseTime parses a time for --since and --until: RFC 3339
// ("2025-06-01T12:00:00Z", fractional seconds and offsets allowed), a date
// ("2025-06-01", midnight UTC), or an age before now: a Go duration or a
// number of days, optionally followed by "ago" ("90m", "2h ago", "1h30m",
// "3d ago").
func ParseTime(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t.UTC(), nil
	}
	age := strings.TrimSpace(strings.TrimSuffix(s, "ago"))
	if days, ok := strings.CutSuffix(age, "d"); ok {
		if n, err := strconv.ParseFloat(days, 64); err == nil && n >= 0 {
			return now.Add(-time.Duration(n * 24 * float64(time.Hour))).UTC(), nil
		}
	}
	if d, err := time.ParseDuration(age); err == nil && d >= 0 {
		return now.Add(-d).UTC(), nil
	}
	return time.Time{}, fmt.Errorf("time %q: want RFC 3339 (2025-06-01T12:00:00Z), a date (2025-06-01) or an age (2h, 90m ago, 3d ago)", s)
}

// ParsePartitionOffsets parses "P:O[,P:O...]" (partition P, offset O) into
// a map from partition to offset, as purge's --before-offset takes it.
func ParsePartitionOffsets(s string) (map[int32]int64, error) {
	out := map[int32]int64{}
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		ps, os, ok := strings.Cut(part, ":")
		p, perr := strconv.ParseInt(ps, 10, 32)
		o, oerr := strconv.ParseInt(os, 10, 64)
		if !ok || perr != nil || oerr != nil || p < 0 || o < 0 {
			return nil, fmt.Errorf("%q: want PARTITION:OFFSET, e.g. 0:120", part)
		}
		if _, dup := out[int32(p)]; dup {
			return nil, fmt.Errorf("partition %d given twice", p)
		}
		out[int32(p)] = o
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%q: want PARTITION:OFFSET[,PARTITION:OFFSET...]", s)
	}
	return out, nil
}
