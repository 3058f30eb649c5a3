// Package status judges a consumer group's health from a sliding window of
// lag samples, in the spirit of LinkedIn's Burrow: a group is OK, WARN,
// ERR, STALL or STOP, and the verdict says why in words.
//
// The rules, per partition, on the samples of the window (oldest first):
//
//   - Lag 0 in the newest sample: OK. A quiet topic (no new records, the
//     committed offset not moving) is therefore never an alarm.
//   - Lag > 0 and no members: nobody is consuming. STOP once the committed
//     offset has not moved for StopAfter; before that ERR when over the
//     limits below, else WARN at once, from the first sample, saying how
//     far behind and whether the lag grows (which one sample cannot tell).
//   - Lag > 0 with members and the committed offset unchanged for at least
//     StallAfter: STALL (they are connected but not making progress).
//   - Lag in seconds over the SLO (or, when the estimate is unknown because
//     the committed offset is older than the history, its lower bound over
//     the SLO), or lag in records over MaxLag: ERR.
//   - Lag growing at every step of the last Window (never shrinking, up at
//     least half the steps, and at least MinSamples samples) while the
//     committed offset moves: WARN. The consumer works but falls behind.
//   - Otherwise OK; when the samples span less than StallAfter the reason
//     says so, since a stall or growing lag cannot show yet.
//
// A group's status is its worst partition's, in the order OK < WARN < ERR
// < STALL < STOP.
//
// Offset commit timestamps are not in the OffsetFetch protocol, so "no
// commits" is observed as "committed offset unchanged"; with members present
// that is a STALL, without members a STOP. That is where this differs from
// Burrow, which reads commit timestamps from __consumer_offsets.
package status

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sluice-dev/sluice/lag/timelag"
)

// Status is a group's health, from best to worst.
type Status int

const (
	OK Status = iota
	WARN
	ERR
	STALL
	STOP
)

// All lists every status, best first.
var All = []Status{OK, WARN, ERR, STALL, STOP}

func (s Status) String() string {
	switch s {
	case OK:
		return "OK"
	case WARN:
		return "WARN"
	case ERR:
		return "ERR"
	case STALL:
		return "STALL"
	case STOP:
		return "STOP"
	}
	return fmt.Sprintf("Status(%d)", int(s))
}

// MarshalText makes a Status read as its name in JSON.
func (s Status) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText parses a status name.
func (s *Status) UnmarshalText(b []byte) error {
	for _, c := range All {
		if c.String() == string(b) {
			*s = c
			return nil
		}
	}
	return fmt.Errorf("unknown status %q", b)
}

// Rules are the thresholds. The zero value of a field means its default.
type Rules struct {
	// SLO is the lag in seconds above which a partition is ERR. Default 60s.
	SLO time.Duration
	// MaxLag is the lag in records above which a partition is ERR. Default
	// 0: no limit in records (lag in seconds is what users feel).
	MaxLag int64
	// StallAfter is how long the committed offset may stay unchanged while
	// lag > 0 before the partition is STALL (with members). Default 1m: well
	// above any commit interval, so a slow batch is not a stall.
	StallAfter time.Duration
	// StopAfter is how long a group without members may leave its offset
	// unchanged while lag > 0 before it is STOP (it is WARN until then).
	// Default 5m, so a restart or a deploy is a warning, not an alarm.
	StopAfter time.Duration
	// Window is how far back the growing-lag rule looks. Default 2m.
	Window time.Duration
	// MinSamples is the fewest samples in Window for the growing-lag rule.
	// Default 5.
	MinSamples int
}

func (r Rules) withDefaults() Rules {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&r.SLO, time.Minute)
	def(&r.StallAfter, time.Minute)
	def(&r.StopAfter, 5*time.Minute)
	def(&r.Window, 2*time.Minute)
	if r.MinSamples == 0 {
		r.MinSamples = 5
	}
	return r
}

// Keep is how much history Evaluate needs: samples older than this may be
// dropped.
func (r Rules) Keep() time.Duration {
	r = r.withDefaults()
	return max(r.StopAfter, r.StallAfter, r.Window) + time.Minute
}

// Point is one sample of a partition.
type Point struct {
	Time      time.Time
	Committed int64
	Lag       int64
	Seconds   timelag.Estimate
}

// Partition names a topic partition.
type Partition struct {
	Topic     string
	Partition int32
}

func (p Partition) String() string { return fmt.Sprintf("%s/%d", p.Topic, p.Partition) }

// Input is what Evaluate judges: the group's membership now and each
// partition's samples, oldest first.
type Input struct {
	Now        time.Time
	Members    int
	Partitions map[Partition][]Point
}

// Verdict is a status and the reason for it, in words.
type Verdict struct {
	Status Status `json:"status"`
	Reason string `json:"reason"`
}

// Evaluate judges a group.
func (r Rules) Evaluate(in Input) Verdict {
	r = r.withDefaults()
	type judged struct {
		p Partition
		v Verdict
	}
	var all []judged
	var behind, samples int
	var lagSum int64
	var span time.Duration // of the longest history
	for p, pts := range in.Partitions {
		if len(pts) == 0 {
			continue
		}
		span, samples = max(span, in.Now.Sub(pts[0].Time)), max(samples, len(pts))
		all = append(all, judged{p, r.partition(in, pts)})
		if last := pts[len(pts)-1]; last.Lag > 0 {
			behind++
			lagSum += last.Lag
		}
	}
	if len(all) == 0 {
		if in.Members == 0 {
			return Verdict{OK, "no members and no committed offsets"}
		}
		return Verdict{OK, fmt.Sprintf("%d members, no committed offsets yet", in.Members)}
	}
	// Worst first; among equals, the partition name decides, so the
	// reason is stable from one evaluation to the next.
	slices.SortFunc(all, func(a, b judged) int {
		if c := cmp.Compare(b.v.Status, a.v.Status); c != 0 {
			return c
		}
		return cmp.Or(cmp.Compare(a.p.Topic, b.p.Topic), cmp.Compare(a.p.Partition, b.p.Partition))
	})
	worst := all[0]
	if worst.v.Status == OK {
		if behind == 0 {
			return Verdict{OK, fmt.Sprintf("all %d partitions caught up", len(all))}
		}
		return Verdict{OK, fmt.Sprintf("%d records behind on %d of %d partitions, within limits%s", lagSum, behind, len(all), r.shortHistory(span, samples))}
	}
	same := 0
	for _, j := range all[1:] {
		if j.v.Status == worst.v.Status {
			same++
		}
	}
	reason := worst.p.String() + ": " + worst.v.Reason
	if same > 0 {
		reason += fmt.Sprintf(" (and %d more partitions %s)", same, worst.v.Status)
	}
	return Verdict{worst.v.Status, reason}
}

func (r Rules) partition(in Input, pts []Point) Verdict {
	last := pts[len(pts)-1]
	if last.Lag <= 0 {
		return Verdict{OK, "caught up"}
	}
	// How long the committed offset has not moved: since the first sample
	// of the trailing run of equal offsets.
	run := len(pts) - 1
	for run > 0 && pts[run-1].Committed == last.Committed {
		run--
	}
	stuck := in.Now.Sub(pts[run].Time)
	if in.Members == 0 {
		return r.unconsumed(pts, stuck)
	}
	if stuck >= r.StallAfter {
		return Verdict{STALL, fmt.Sprintf("committed offset stuck at %d for %s with %d records behind while %d members are connected",
			last.Committed, round(stuck), last.Lag, in.Members)}
	}
	if v, ok := r.overLimits(last); ok {
		return v
	}
	if v, ok := r.growing(in.Now, pts); ok {
		return v
	}
	return Verdict{OK, fmt.Sprintf("%d records behind, within limits%s", last.Lag, r.shortHistory(in.Now.Sub(pts[0].Time), len(pts)))}
}

// unconsumed judges a partition that is behind while the group has no
// members: nobody will catch it up, so it is never OK.
func (r Rules) unconsumed(pts []Point, stuck time.Duration) Verdict {
	last := pts[len(pts)-1]
	if stuck >= r.StopAfter {
		return Verdict{STOP, fmt.Sprintf("no active members and no progress for %s with %d records behind", round(stuck), last.Lag)}
	}
	if v, ok := r.overLimits(last); ok {
		v.Reason += "; no active members"
		return v
	}
	first := pts[0]
	var trend string
	switch {
	case len(pts) == 1:
		trend = " (one sample: whether it grows is not known yet)"
	case last.Lag > first.Lag:
		trend = fmt.Sprintf(" and growing (+%d in %s)", last.Lag-first.Lag, round(last.Time.Sub(first.Time)))
	default:
		trend = fmt.Sprintf(", not growing over %s", round(last.Time.Sub(first.Time)))
	}
	return Verdict{WARN, fmt.Sprintf("no members, %d records behind%s; STOP once the offset has not moved for %s", last.Lag, trend, round(r.StopAfter))}
}

// overLimits is ERR for a partition over the SLO or MaxLag.
func (r Rules) overLimits(last Point) (Verdict, bool) {
	if s := last.Seconds; s.Known && s.Seconds > r.SLO.Seconds() {
		return Verdict{ERR, fmt.Sprintf("%.0fs behind, over the %s SLO (%d records)", s.Seconds, r.SLO, last.Lag)}, true
	} else if !s.Known && s.AtLeast > r.SLO.Seconds() {
		return Verdict{ERR, fmt.Sprintf("more than %.0fs behind, over the %s SLO (%d records)", s.AtLeast, r.SLO, last.Lag)}, true
	}
	if r.MaxLag > 0 && last.Lag > r.MaxLag {
		return Verdict{ERR, fmt.Sprintf("%d records behind, over the limit of %d", last.Lag, r.MaxLag)}, true
	}
	return Verdict{}, false
}

// shortHistory says, when samples over span are too few for a stall to
// show, that an OK is as far as they tell, not a verdict.
func (r Rules) shortHistory(span time.Duration, samples int) string {
	switch {
	case span >= r.StallAfter:
		return ""
	case samples <= 1:
		return fmt.Sprintf(" (judged on one sample; a stall shows only after %s of samples)", round(r.StallAfter))
	}
	return fmt.Sprintf(" (judged on %s of samples; a stall shows only after %s)", round(span), round(r.StallAfter))
}

// growing reports WARN when lag rose through the whole window while the
// group kept committing.
func (r Rules) growing(now time.Time, pts []Point) (Verdict, bool) {
	first := len(pts)
	for first > 0 && now.Sub(pts[first-1].Time) <= r.Window {
		first--
	}
	w := pts[first:]
	if len(w) < r.MinSamples {
		return Verdict{}, false
	}
	a, b := w[0], w[len(w)-1]
	if b.Committed <= a.Committed || b.Lag <= a.Lag {
		return Verdict{}, false
	}
	up := 0
	for i := 1; i < len(w); i++ {
		switch {
		case w[i].Lag < w[i-1].Lag:
			return Verdict{}, false
		case w[i].Lag > w[i-1].Lag:
			up++
		}
	}
	if 2*up < len(w)-1 {
		return Verdict{}, false
	}
	return Verdict{WARN, fmt.Sprintf("lag grew from %d to %d records over %s while committing", a.Lag, b.Lag, round(b.Time.Sub(a.Time)))}, true
}

func round(d time.Duration) string {
	if d < time.Second {
		return d.Round(time.Millisecond).String() // samples --interval 20ms apart
	}
	s := d.Round(time.Second).String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
