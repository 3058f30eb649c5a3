// Package offsetmeta is the format of the offset-commit metadata with which
// Sluice resumes a partition precisely. A committed offset W says
// "everything before W is done"; the metadata committed beside it lists the
// offsets above W that are finished too, so that the partition's next owner
// skips them instead of doing them again.
//
// Invariant: for a watermark W ≥ 0 and increasing offsets F above W,
// Decode(Encode(W, F), W) contains exactly F; a decoded set never contains
// an offset below the committed offset it was decoded against.
//
// # Encoding, version 1
//
//	sl1:<W><p1><d1><p2><d2>…<pn><dn>
//
// After the prefix "sl1:" come unsigned numbers written in the digits of the
// URL-safe base64 alphabet (A–Z a–z 0–9 - _), five bits per digit, least
// significant first; every digit of a number but its last has the sixth bit
// (value 32) set, so 'A'–'f' end a number and 'g'–'_' continue it. A number
// below 32 takes one digit, below 1,024 two, below 32,768 three. A number may
// end in extra zero digits (writers pad W so that the string does not grow
// when W does); readers accept them.
//
// The first number is W, the committed offset the metadata was written for.
// Then come pairs of run lengths, each written minus one: from W on, p1
// offsets that are not finished, then d1 that are, then p2 that are not, and
// so on. The last run is always finished offsets; everything after it is not
// finished. W itself is never finished (it is the first offset that is not).
// Example: W=1000, 1001–1099 finished, nothing above: "sl1:ofAiD" (1000 is
// "of", a run of 1 is "A", a run of 99 is "iD").
//
// # Size and limit
//
// A run costs one character per five bits of its length, so long finished
// runs and sparse unfinished gaps are cheap (a straggler inside a finished
// stretch of 1,000 costs 3 characters) and the worst case, finished and
// unfinished offsets alternating one by one, costs one character per
// offset: about 4,080 offsets above W fit in 4,096 characters.
//
// Kafka refuses metadata longer than the broker's offset.metadata.max.bytes
// (DefaultMaxLen, 4,096, counted in UTF-16 characters, which for this ASCII
// format are bytes) with OFFSET_METADATA_TOO_LARGE, for that partition of
// the commit only; franz-go's GroupTransactSession.End then aborts the whole
// transaction. Writers must therefore keep the encoding within the limit;
// offsets.Window.MetadataLen gives its length without building it.
//
// # Metadata that is not Sluice's
//
// Metadata that does not start with "sl", decimal digits and ":" was written
// by someone else (franz-go writes the member ID by default, admin tools
// write nothing) and says nothing about offsets above the committed one:
// Decode returns the empty set and no error. Nor does it error when the
// committed offset is below the W in the metadata: someone moved the commit
// back (an offset reset, to process again), so the metadata no longer
// describes it and the set is empty. When the committed offset is above W
// (the commit moved on without new metadata), the finished offsets below it
// are left out: the new owner starts at the committed offset anyway.
package offsetmeta

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
)

// Prefix starts the metadata Sluice writes: format version 1.
const Prefix = "sl1:"

// DefaultMaxLen is the default of the broker setting offset.metadata.max.bytes:
// the longest metadata a commit may carry, per partition.
const DefaultMaxLen = 4096

const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

const (
	digitBits = 5
	more      = 1 << digitBits // set on every digit of a number but its last
	maxDigits = 13             // ⌈63/5⌉: enough for any int64
)

// value maps a character to its digit, or to -1 for one outside the
// alphabet.
var value = func() (v [256]int8) {
	for i := range v {
		v[i] = -1
	}
	for i := 0; i < len(alphabet); i++ {
		v[alphabet[i]] = int8(i)
	}
	return v
}()

var (
	// ErrMalformed is wrapped by Decode's error for metadata that starts
	// with Prefix but is not a valid version-1 encoding.
	ErrMalformed = errors.New("malformed offset metadata")
	// ErrVersion is wrapped by Decode's error for metadata of another
	// Sluice format version ("sl2:…"), written by a newer release.
	ErrVersion = errors.New("unsupported offset metadata version")
)

func digits(v uint64) int {
	n := 1
	for v >= more {
		v >>= digitBits
		n++
	}
	return n
}

// WatermarkLen returns the length of Prefix and the watermark w: the length
// of the metadata of a window with nothing finished above w.
func WatermarkLen(w int64) int { return len(Prefix) + digits(uint64(w)) }

// RunLen returns the length of a run of n ≥ 1 offsets.
func RunLen(n int64) int { return digits(uint64(n - 1)) }

// AppendWatermark appends Prefix and the watermark w to dst, in as many
// digits as pad needs if that is more than w needs (pad ≥ w keeps the length
// of a writer's metadata from changing as w grows up to pad).
func AppendWatermark(dst []byte, w, pad int64) []byte {
	dst = append(dst, Prefix...)
	v := uint64(w)
	for n := digits(uint64(max(w, pad))); n > 1; n-- {
		dst = append(dst, alphabet[v&(more-1)|more])
		v >>= digitBits
	}
	return append(dst, alphabet[v])
}

// AppendRun appends a run of n ≥ 1 offsets to dst. Runs follow the watermark
// in pairs: unfinished, then finished.
func AppendRun(dst []byte, n int64) []byte {
	v := uint64(n - 1)
	for v >= more {
		dst = append(dst, alphabet[v&(more-1)|more])
		v >>= digitBits
	}
	return append(dst, alphabet[v])
}

// Encode returns the metadata for watermark w and the finished offsets above
// it, which must increase strictly.
func Encode(w int64, finished []int64) (string, error) {
	if w < 0 {
		return "", fmt.Errorf("encode offset metadata: watermark %d is negative", w)
	}
	b := AppendWatermark(nil, w, w)
	pos := w // the first offset not yet described
	for i := 0; i < len(finished); {
		from := finished[i]
		if from <= pos {
			return "", fmt.Errorf("encode offset metadata: finished offset %d is not above watermark %d and the offsets before it", from, w)
		}
		j := i + 1
		for j < len(finished) && finished[j-1] < math.MaxInt64 && finished[j] == finished[j-1]+1 {
			j++
		}
		if finished[j-1] == math.MaxInt64 {
			return "", fmt.Errorf("encode offset metadata: finished offset %d is the largest int64, past any offset", finished[j-1])
		}
		b = AppendRun(b, from-pos)
		b = AppendRun(b, int64(j-i))
		pos = from + int64(j-i)
		i = j
	}
	return string(b), nil
}

// Set is a set of finished offsets decoded from metadata; the zero Set is
// empty.
type Set struct {
	spans []span // increasing, disjoint
}

type span struct{ from, to int64 } // [from, to)

// Contains reports whether offset o is finished.
func (s Set) Contains(o int64) bool {
	i := sort.Search(len(s.spans), func(i int) bool { return s.spans[i].to > o })
	return i < len(s.spans) && s.spans[i].from <= o
}

// Len returns how many offsets the set contains. Offsets that hold no record
// (compacted away, transaction markers) may be among them: a writer counts
// them with the records around them.
func (s Set) Len() int64 {
	var n int64
	for _, sp := range s.spans {
		n += sp.to - sp.from
	}
	return n
}

// Decode returns the finished offsets at or above committed that meta
// records. Metadata that is not Sluice's gives the empty set and no error;
// so does metadata written for a watermark above committed. An error wraps
// ErrMalformed or ErrVersion; a caller that goes on after one must treat
// nothing as finished.
func Decode(meta string, committed int64) (Set, error) {
	body, ok, err := sluiceBody(meta)
	if !ok || err != nil {
		return Set{}, err
	}
	r := reader{s: body}
	w, err := r.number()
	if err != nil {
		return Set{}, r.fail(meta, "watermark", err)
	}
	// A watermark above committed makes the set empty, but the rest is
	// read all the same: malformed metadata is an error either way.
	stale := w > committed
	var s Set
	pos := w
	for r.i < len(r.s) {
		p, err := r.run(pos)
		if err != nil {
			return Set{}, r.fail(meta, "unfinished run", err)
		}
		pos += p
		if r.i == len(r.s) {
			return Set{}, r.fail(meta, "finished run", errors.New("missing after the last unfinished run"))
		}
		d, err := r.run(pos)
		if err != nil {
			return Set{}, r.fail(meta, "finished run", err)
		}
		if !stale && pos+d > committed {
			s.spans = append(s.spans, span{max(pos, committed), pos + d})
		}
		pos += d
	}
	return s, nil
}

// sluiceBody returns what follows a "sl<digits>:" prefix, whether meta has
// one, and an error for a version other than 1.
func sluiceBody(meta string) (body string, ok bool, err error) {
	if !strings.HasPrefix(meta, "sl") {
		return "", false, nil
	}
	i := 2
	for i < len(meta) && '0' <= meta[i] && meta[i] <= '9' {
		i++
	}
	if i == 2 || i == len(meta) || meta[i] != ':' {
		return "", false, nil
	}
	if meta[:i+1] != Prefix {
		return "", true, fmt.Errorf("offset metadata %s: %w %s (this release reads %s)", quote(meta), ErrVersion, meta[:i], Prefix[:len(Prefix)-1])
	}
	return meta[i+1:], true, nil
}

type reader struct {
	s string
	i int
}

func (r *reader) number() (int64, error) {
	var v uint64
	for n := 0; ; n++ {
		if r.i == len(r.s) {
			return 0, errors.New("ends inside a number")
		}
		c := r.s[r.i]
		d := value[c]
		if d < 0 {
			return 0, fmt.Errorf("%q is not a base64url digit", c)
		}
		low := uint64(d) & (more - 1)
		if n == maxDigits || n == maxDigits-1 && low >= 1<<(63-digitBits*(maxDigits-1)) {
			return 0, errors.New("number does not fit an int64")
		}
		v |= low << (digitBits * n)
		r.i++
		if d&more == 0 {
			return int64(v), nil
		}
	}
}

// run reads a run length and checks that a run of it from pos stays within
// the int64 offsets.
func (r *reader) run(pos int64) (int64, error) {
	v, err := r.number()
	if err != nil {
		return 0, err
	}
	if v >= math.MaxInt64-pos {
		return 0, fmt.Errorf("run of %d from offset %d passes the largest offset", uint64(v)+1, pos)
	}
	return v + 1, nil
}

func (r *reader) fail(meta, what string, err error) error {
	return fmt.Errorf("offset metadata %s: %s at character %d: %w: %v", quote(meta), what, len(Prefix)+r.i, ErrMalformed, err)
}

// quote quotes meta for an error message, shortened: it may be 4 KiB.
func quote(meta string) string {
	if len(meta) > 40 {
		return fmt.Sprintf("%q… (%d characters)", meta[:40], len(meta))
	}
	return fmt.Sprintf("%q", meta)
}
