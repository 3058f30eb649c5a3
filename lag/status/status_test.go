package status

import (
	"strings"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/lag/timelag"
)

var now = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

// series builds one sample every 10 seconds ending at now, from
// (committed, lag) pairs; seconds are known and equal to secs.
func series(secs float64, pairs ...[2]int64) []Point {
	pts := make([]Point, len(pairs))
	for i, p := range pairs {
		pts[i] = Point{
			Time:      now.Add(-time.Duration(len(pairs)-1-i) * 10 * time.Second),
			Committed: p[0],
			Lag:       p[1],
			Seconds:   timelag.Estimate{Known: true, Seconds: secs},
		}
	}
	return pts
}

// flat is n samples of the same committed offset and lag.
func flat(n int, committed, lag int64, secs float64) []Point {
	pairs := make([][2]int64, n)
	for i := range pairs {
		pairs[i] = [2]int64{committed, lag}
	}
	return series(secs, pairs...)
}

func one(pts []Point) map[Partition][]Point {
	return map[Partition][]Point{{"orders", 0}: pts}
}

func TestEvaluate(t *testing.T) {
	rules := Rules{SLO: time.Minute, StallAfter: time.Minute, StopAfter: 5 * time.Minute, Window: 2 * time.Minute, MinSamples: 5}
	unknownBeyond := series(0, [2]int64{10, 500}, [2]int64{20, 490})
	for i := range unknownBeyond {
		unknownBeyond[i].Seconds = timelag.Estimate{AtLeast: 400, Reason: "older than the window"}
	}
	cases := []struct {
		name    string
		members int
		parts   map[Partition][]Point
		want    Status
		reason  string // a word the reason must contain
	}{
		// One row per status.
		{"OK: caught up", 2, one(series(0, [2]int64{10, 0}, [2]int64{20, 0}, [2]int64{30, 0})), OK, "caught up"},
		{"WARN: lag growing while committing", 1,
			one(series(5, [2]int64{100, 10}, [2]int64{110, 20}, [2]int64{120, 30}, [2]int64{130, 40}, [2]int64{140, 50}, [2]int64{150, 60})), WARN, "grew"},
		{"WARN: empty group, offset unchanged for a while", 0, one(flat(10, 100, 50, 5)), WARN, "no members, 50 records behind, not growing over 1m30s"},
		{"WARN at once: members just left, offset unchanged briefly", 0, one(flat(3, 100, 50, 3)), WARN, "no members, 50 records behind"},
		{"WARN at once: no members, lag growing", 0,
			one(series(3, [2]int64{100, 10}, [2]int64{100, 20}, [2]int64{100, 35})), WARN, "no members, 35 records behind and growing (+25 in 20s)"},
		{"WARN from one sample: no members, lag > 0", 0, one(flat(1, 100, 50, 0)), WARN, "one sample: whether it grows is not known yet"},
		{"ERR: no members and over the SLO", 0, one(flat(3, 100, 50, 300)), ERR, "over the 1m0s SLO (50 records); no active members"},
		{"ERR: lag seconds over the SLO", 1, one(series(95, [2]int64{100, 900}, [2]int64{200, 850}, [2]int64{300, 800})), ERR, "SLO"},
		{"ERR: unknown seconds whose lower bound is over the SLO", 1, one(unknownBeyond), ERR, "more than"},
		{"STALL: members present, offset stuck with lag", 3, one(flat(10, 100, 50, 20)), STALL, "stuck at 100"},
		{"STOP: no members, no progress for long with lag", 0, one(flat(40, 100, 50, 20)), STOP, "no active members"},

		// False-alarm cases: all OK.
		{"quiet topic: offset unchanged for long, lag 0", 2, one(flat(60, 100, 0, 0)), OK, "caught up"},
		{"quiet topic, empty group, lag 0", 0, one(flat(60, 100, 0, 0)), OK, "caught up"},
		{"lag fluctuating while committing", 1,
			one(series(2, [2]int64{100, 10}, [2]int64{110, 30}, [2]int64{120, 5}, [2]int64{130, 40}, [2]int64{140, 12}, [2]int64{150, 35})), OK, "within limits"},
		{"steady small lag while committing", 1,
			one(series(1, [2]int64{100, 20}, [2]int64{200, 20}, [2]int64{300, 20}, [2]int64{400, 20}, [2]int64{500, 20}, [2]int64{600, 20})), OK, "within limits"},
		{"lag growing but too few samples to say", 1, one(series(3, [2]int64{100, 10}, [2]int64{110, 20}, [2]int64{120, 30})), OK, "within limits"},
		{"offset unchanged briefly during a slow batch", 1, one(flat(4, 100, 50, 3)), OK, "within limits"},
		{"one sample with members says what it cannot tell", 2, one(flat(1, 100, 50, 0)), OK, "judged on one sample; a stall shows only after 1m"},
		{"a few seconds of samples say so", 2, one(flat(3, 100, 50, 3)), OK, "judged on 20s of samples"},
		{"no committed offsets yet", 1, nil, OK, "no committed offsets"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := rules.Evaluate(Input{Now: now, Members: c.members, Partitions: c.parts})
			if v.Status != c.want {
				t.Errorf("status %s (%s), want %s", v.Status, v.Reason, c.want)
			}
			if !strings.Contains(v.Reason, c.reason) {
				t.Errorf("reason %q does not mention %q", v.Reason, c.reason)
			}
		})
	}
}

func TestGroupTakesWorstPartitionAndNamesIt(t *testing.T) {
	v := Rules{}.Evaluate(Input{Now: now, Members: 1, Partitions: map[Partition][]Point{
		{"orders", 0}: flat(10, 5, 0, 0),
		{"orders", 1}: flat(10, 7, 3, 1),
		{"orders", 2}: flat(10, 9, 4, 1),
	}})
	if v.Status != STALL {
		t.Fatalf("got %s (%s), want STALL", v.Status, v.Reason)
	}
	if !strings.HasPrefix(v.Reason, "orders/1: ") || !strings.Contains(v.Reason, "1 more partitions STALL") {
		t.Errorf("reason %q should name orders/1 first and count the other stalled partition", v.Reason)
	}
}

func TestStatusTextRoundTrips(t *testing.T) {
	for _, s := range All {
		b, _ := s.MarshalText()
		var got Status
		if err := got.UnmarshalText(b); err != nil || got != s {
			t.Errorf("%s: round trip gave %v, %v", s, got, err)
		}
	}
}
