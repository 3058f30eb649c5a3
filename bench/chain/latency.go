package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
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

// readLatencies reads the step's input and decided topics from the start to
// their end offsets: every order's send time (its CreateTime, stamped by
// the loader's producer) and its first decision's append time
// (LogAppendTime). Decisions appended after cutoff count as not decided.
func readLatencies(ctx context.Context, brokers []string, adm *kadm.Client, placed, decidedTopic string, cutoff time.Time) (latencies, error) {
	ends, err := adm.ListEndOffsets(ctx, placed, decidedTopic)
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
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(placed, decidedTopic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(200*time.Millisecond))
	if err != nil {
		return latencies{}, err
	}
	defer cl.Close()
	sent := map[string]time.Time{}
	decided := map[string]time.Time{}
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
	l := newLatencies(sent, decided, cutoff)
	l.late, l.duplicates = late, dups
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
