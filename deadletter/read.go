package deadletter

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluice-dev/sluice/pipeline/kafkaconn"
)

// ReadStats counts what a read went through.
type ReadStats struct {
	// Examined is how many records were read: every record up to the end
	// offsets seen when the read started, in the selected partitions and
	// offsets, unless Limit stopped it.
	Examined int
	// Matched is how many passed the filter (and were given to fn).
	Matched int
	// Limited is true when the filter's Limit stopped the read before the
	// end.
	Limited bool
}

// Read reads the dead-letter topic from its start (or the filter's first
// offset) to the end offsets it sees when it starts, then stops, and calls
// fn with every record the filter matches, in offset order within each
// partition. It uses no consumer group and commits nothing. An error from
// fn stops the read and is returned.
func (q *Queue) Read(ctx context.Context, f Filter, fn func(*Record) error) (ReadStats, error) {
	if err := q.checkPartitions(f); err != nil {
		return ReadStats{}, err
	}
	offs, err := q.offsets(ctx, false)
	if err != nil {
		return ReadStats{}, err
	}
	return q.read(ctx, newSpan(offs, f, false), f, func(r *Record) (bool, error) { return true, fn(r) })
}

// span is how far a read goes in each partition: from the next offset to
// read to the end offset seen when the read started. It is owned by the
// goroutine running the read.
type span struct {
	next, end map[int32]int64
}

// newSpan limits offs to the filter's partitions and offsets; fromProgress
// starts each partition where an earlier replay stopped.
func newSpan(offs []PartitionOffsets, f Filter, fromProgress bool) *span {
	s := &span{next: map[int32]int64{}, end: map[int32]int64{}}
	for _, po := range offs {
		if !f.wantsPartition(po.Partition) {
			continue
		}
		start, end := po.Start, po.End
		if fromProgress {
			start = max(start, po.Replayed)
		}
		if f.Offsets.set {
			start = max(start, f.Offsets.From)
			if f.Offsets.To < end {
				end = f.Offsets.To + 1
			}
		}
		if start < end {
			s.next[po.Partition], s.end[po.Partition] = start, end
		}
	}
	return s
}

func (s *span) done() bool {
	for p, n := range s.next {
		if n < s.end[p] {
			return false
		}
	}
	return true
}

// first returns the lowest unfinished partition and how many offsets it
// has left.
func (s *span) first() (int32, int64) {
	for _, p := range slices.Sorted(maps.Keys(s.next)) {
		if s.next[p] < s.end[p] {
			return p, s.end[p] - s.next[p]
		}
	}
	return -1, 0
}

// remaining is how many offsets are left to read (control records and
// deleted records included, so an upper bound on records).
func (s *span) remaining() int64 {
	var n int64
	for p, next := range s.next {
		n += max(0, s.end[p]-next)
	}
	return n
}

// within reports whether r is before its partition's end.
func (s *span) within(r *kgo.Record) bool {
	end, ok := s.end[r.Partition]
	return ok && r.Offset < end
}

// advance records that r was read and reports whether its partition is now
// done.
func (s *span) advance(r *kgo.Record) bool {
	s.next[r.Partition] = r.Offset + 1
	return s.next[r.Partition] >= s.end[r.Partition]
}

// offsets returns where to start consuming each unfinished partition.
func (s *span) offsets() map[int32]kgo.Offset {
	out := map[int32]kgo.Offset{}
	for _, p := range slices.Sorted(maps.Keys(s.next)) {
		if s.next[p] < s.end[p] {
			out[p] = kgo.NewOffset().At(s.next[p])
		}
	}
	return out
}

// catchUp moves partitions past records deleted while the read was
// waiting for them (retention or a purge), which would otherwise never
// arrive; with progress, also up to the replay progress, where a replay's
// consumer really is.
func (s *span) catchUp(ctx context.Context, q *Queue, progress bool) error {
	offs, err := q.offsets(ctx, progress)
	if err != nil {
		return err
	}
	for _, po := range offs {
		n, ok := s.next[po.Partition]
		if !ok {
			continue
		}
		n = max(n, po.Start)
		if progress {
			n = max(n, po.Replayed)
		}
		s.next[po.Partition] = min(n, s.end[po.Partition])
	}
	return nil
}

// idleCheck is how long a read waits for records before checking whether
// the ones it waits for were deleted or read by another replay.
const idleCheck = 10 * time.Second

// read consumes the span without a group and calls fn for each record in
// it that f matches; fn says whether the record counts towards f.Limit.
func (q *Queue) read(ctx context.Context, sp *span, f Filter, fn func(*Record) (bool, error)) (ReadStats, error) {
	var st ReadStats
	if sp.done() {
		return st, nil
	}
	cl, err := kgo.NewClient(append(slices.Clone(q.conn),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{q.topic: sp.offsets()}),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		// Control records (transaction markers) take offsets too; without
		// them a partition ending in one would never look finished.
		kgo.KeepControlRecords(),
	)...)
	if err != nil {
		return st, err
	}
	defer cl.Close()
	for !sp.done() {
		recs, err := q.poll(ctx, sp, false, cl.PollFetches)
		if err != nil {
			return st, err
		}
		for _, r := range recs {
			if !sp.within(r) {
				continue
			}
			if sp.advance(r) {
				cl.PauseFetchPartitions(map[string][]int32{q.topic: {r.Partition}})
			}
			if r.Attrs.IsControl() {
				continue
			}
			st.Examined++
			rec := Parse(r)
			if !f.Match(rec) {
				continue
			}
			counts, err := fn(rec)
			if err != nil {
				return st, err
			}
			if counts {
				st.Matched++
			}
			if f.Limit > 0 && st.Matched >= f.Limit {
				st.Limited = !sp.done()
				return st, nil
			}
		}
	}
	return st, nil
}

// poll polls once, waiting up to idleCheck. When nothing arrived it moves
// the span past records that never will (see catchUp) and returns none.
func (q *Queue) poll(ctx context.Context, sp *span, progress bool, poll func(context.Context) kgo.Fetches) ([]*kgo.Record, error) {
	pctx, cancel := context.WithTimeout(ctx, idleCheck)
	fs := poll(pctx)
	cancel()
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if err := fetchError(fs); err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return nil, sp.catchUp(ctx, q, progress)
		}
		return nil, kafkaconn.Named(kafkaconn.ResourceTopic, q.topic, fmt.Errorf("read %s: %w", q.topic, err))
	}
	return fs.Records(), nil
}

// fetchError returns the first error of a poll, if any.
func fetchError(fs kgo.Fetches) error {
	for _, e := range fs.Errors() {
		if e.Topic == "" {
			return e.Err
		}
		return fmt.Errorf("partition %d: %w", e.Partition, e.Err)
	}
	return nil
}
