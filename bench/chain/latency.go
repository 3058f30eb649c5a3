package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// latencies are the step's orders: each one's latency, or the lower bound
// of it for an order not decided by the cutoff.
type latencies struct {
	orders     int // orders on the input topic
	decided    int // of them, decided by the cutoff
	late       int // decided records appended after the cutoff (while the stages stopped)
	duplicates int // decided records of an order decided before (at-least-once redelivery)
	unmatched  int // decided records whose key is not an order of the step
	values     []sample
	// hops are the latencies of each stage alone, for the orders that went
	// through all three: validated append − send, scored − validated,
	// decided − scored (first append of each).
	hops [3][]time.Duration
	// trace is, per order that went through all three stages, its send
	// time and the append times of its validated, scored and decided
	// records, in send order: written to the workdir for a closer look.
	trace [][4]time.Time
	// startup are the latencies of the lead-in's orders (sent before the
	// measured window), which no other figure includes; nil without one.
	startup *latencies
}

// writeTrace writes the trace as CSV: send time (Unix ms), then each
// stage's append time minus the one before (ms).
func (l *latencies) writeTrace(path string) error {
	var b strings.Builder
	b.WriteString("sent_unix_ms,validate_ms,score_ms,decide_ms\n")
	for _, t := range l.trace {
		fmt.Fprintf(&b, "%d,%d,%d,%d\n", t[0].UnixMilli(), t[1].Sub(t[0]).Milliseconds(), t[2].Sub(t[1]).Milliseconds(), t[3].Sub(t[2]).Milliseconds())
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

// startupQuantile returns the q-quantile of the lead-in's orders, or ok
// false without a lead-in.
func (l *latencies) startupQuantile(q float64) quantile {
	if l.startup == nil {
		return quantile{}
	}
	return l.startup.quantile(q)
}

// hopQuantile returns the q-quantile of stage i's own latency.
func (l *latencies) hopQuantile(i int, q float64) time.Duration {
	v := l.hops[i]
	if len(v) == 0 {
		return 0
	}
	return v[max(1, int(math.Ceil(q*float64(len(v)))))-1]
}

// sample is one order's latency; a censored one was not decided by the
// cutoff, and its value is the cutoff minus its send time.
type sample struct {
	d        time.Duration
	censored bool
}

// quantile is a latency percentile; atLeast means undecided orders are
// among the fastest q of the orders, so the true figure is at least d.
type quantile struct {
	d       time.Duration
	atLeast bool
	ok      bool // false when there are no orders
}

func (q quantile) String() string {
	if !q.ok {
		return "-"
	}
	s := fmtDuration(q.d)
	if q.atLeast {
		s = "≥" + s
	}
	return s
}

// quantile returns the q-quantile (0 < q <= 1) by the nearest-rank method.
// Censored samples are lower bounds, so an order statistic over them is a
// lower bound of the true one: it is marked atLeast as soon as a censored
// sample is among the ranks up to it.
func (l *latencies) quantile(q float64) quantile {
	n := len(l.values)
	if n == 0 {
		return quantile{}
	}
	k := max(1, int(math.Ceil(q*float64(n))))
	out := quantile{d: l.values[k-1].d, ok: true}
	for _, s := range l.values[:k] {
		if s.censored {
			out.atLeast = true
			break
		}
	}
	return out
}

// newLatencies computes the latency of every sent order: decided is the
// broker append time of each order's first decided record, sent its send
// time; orders missing from decided are censored at cutoff.
func newLatencies(sent, decided map[string]time.Time, cutoff time.Time) latencies {
	l := latencies{orders: len(sent), values: make([]sample, 0, len(sent))}
	for k, s := range sent {
		if d, ok := decided[k]; ok {
			l.decided++
			l.values = append(l.values, sample{d: d.Sub(s)})
		} else {
			l.values = append(l.values, sample{d: cutoff.Sub(s), censored: true})
		}
	}
	slices.SortFunc(l.values, func(a, b sample) int {
		if a.d != b.d {
			return int(a.d - b.d)
		}
		// Equal values: the censored one counts as faster, so a tie is
		// reported as a lower bound.
		switch {
		case a.censored == b.censored:
			return 0
		case a.censored:
			return -1
		}
		return 1
	})
	for k := range decided {
		if _, ok := sent[k]; !ok {
			l.unmatched++
		}
	}
	return l
}

// stepLatencies is newLatencies for a step with a lead-in: the orders sent
// before from are the lead-in's, in l.startup only; they are removed from
// sent.
func stepLatencies(sent, decided map[string]time.Time, cutoff, from time.Time) latencies {
	leadIn := map[string]time.Time{}
	for k, s := range sent {
		if s.Before(from) {
			leadIn[k] = s
			delete(sent, k)
		}
	}
	l := newLatencies(sent, decided, cutoff)
	if len(leadIn) > 0 {
		startup := newLatencies(leadIn, decided, cutoff)
		l.startup = &startup
		l.unmatched -= startup.decided // the lead-in orders' decisions
	}
	return l
}

// readLatencies reads the step's input and decided topics from the start to
// their end offsets: every order's send time (its CreateTime, stamped by
// the loader's producer) and its first decision's append time
// (LogAppendTime). Decisions appended after cutoff count as not decided.
// Orders sent before from are the lead-in's (latencies.startup).
func readLatencies(ctx context.Context, brokers []string, adm *kadm.Client, placed, validated, scored, decidedTopic string, cutoff, from time.Time) (latencies, error) {
	ends, err := adm.ListEndOffsets(ctx, placed, validated, scored, decidedTopic)
	if err != nil {
		return latencies{}, fmt.Errorf("end offsets: %w", err)
	}
	if err := ends.Error(); err != nil {
		return latencies{}, fmt.Errorf("end offsets: %w", err)
	}
	left := map[string]map[int32]int64{} // topic -> partition -> end offset not yet reached
	ends.Each(func(o kadm.ListedOffset) {
		if o.Offset > 0 {
			if left[o.Topic] == nil {
				left[o.Topic] = map[int32]int64{}
			}
			left[o.Topic][o.Partition] = o.Offset
		}
	})
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(placed, validated, scored, decidedTopic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(200*time.Millisecond))
	if err != nil {
		return latencies{}, err
	}
	defer cl.Close()
	sent := map[string]time.Time{}
	decided := map[string]time.Time{}
	between := map[string]map[string]time.Time{validated: {}, scored: {}} // first append per order
	var late, dups int
	var typeErr error
	rctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	for len(left) > 0 {
		fs := cl.PollFetches(rctx)
		if err := rctx.Err(); err != nil {
			return latencies{}, fmt.Errorf("read %s and %s: %w (still to read: %v)", placed, decidedTopic, err, left)
		}
		var fetchErr error
		fs.EachError(func(t string, p int32, err error) {
			fetchErr = errors.Join(fetchErr, fmt.Errorf("%s/%d: %w", t, p, err))
		})
		if fetchErr != nil {
			return latencies{}, fmt.Errorf("read: %w", fetchErr)
		}
		fs.EachRecord(func(r *kgo.Record) {
			end, ok := left[r.Topic][r.Partition]
			if !ok || r.Offset >= end {
				return
			}
			if r.Offset == end-1 {
				delete(left[r.Topic], r.Partition)
				if len(left[r.Topic]) == 0 {
					delete(left, r.Topic)
				}
			}
			k := string(r.Key)
			if r.Topic == placed {
				sent[k] = r.Timestamp
				return
			}
			if m, ok := between[r.Topic]; ok {
				if prev, seen := m[k]; !seen || r.Timestamp.Before(prev) {
					m[k] = r.Timestamp
				}
				return
			}
			if r.Attrs.TimestampType() != 1 && typeErr == nil {
				typeErr = fmt.Errorf("%s/%d@%d has timestamp type %d, want 1 (LogAppendTime): the topic's message.timestamp.type did not take effect", r.Topic, r.Partition, r.Offset, r.Attrs.TimestampType())
			}
			switch prev, seen := decided[k]; {
			case r.Timestamp.After(cutoff):
				late++
			case seen:
				dups++
				if r.Timestamp.Before(prev) {
					decided[k] = r.Timestamp
				}
			default:
				decided[k] = r.Timestamp
			}
		})
	}
	if typeErr != nil {
		return latencies{}, typeErr
	}
	l := stepLatencies(sent, decided, cutoff, from)
	l.late, l.duplicates = late, dups
	for k, s := range sent {
		v, okv := between[validated][k]
		sc, oks := between[scored][k]
		d, okd := decided[k]
		if !okv || !oks || !okd {
			continue
		}
		l.trace = append(l.trace, [4]time.Time{s, v, sc, d})
		for i, h := range []time.Duration{v.Sub(s), sc.Sub(v), d.Sub(sc)} {
			l.hops[i] = append(l.hops[i], h)
		}
	}
	for i := range l.hops {
		slices.Sort(l.hops[i])
	}
	slices.SortFunc(l.trace, func(a, b [4]time.Time) int { return a[0].Compare(b[0]) })
	if l.decided == 0 && len(decided) > 0 {
		return latencies{}, fmt.Errorf("none of the %d decided records has the key of an order of %s: are outputs keyed by order ID?", len(decided), placed)
	}
	return l, nil
}

// fmtDuration prints a latency with three significant digits: 81ms, 1.58s.
func fmtDuration(d time.Duration) string {
	switch {
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
	case d < time.Second:
		return fmt.Sprintf("%.0fms", float64(d)/float64(time.Millisecond))
	case d < 10*time.Second:
		return fmt.Sprintf("%.2fs", d.Seconds())
	}
	return fmt.Sprintf("%.1fs", d.Seconds())
}
