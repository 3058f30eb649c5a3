// Package outputs reads a run's output topic back and checks it against the
// input with pipeline/verify: every committed input has an output (none
// missing), none came out twice (duplicates), each key's outputs came out in
// input order (reordered keys), nothing came out that was never sent, and
// a sample of values carries the handler's result for its input.
package outputs

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluice-dev/sluice/bench/peers/internal/records"
	"github.com/sluice-dev/sluice/bench/peers/internal/work"
	"github.com/sluice-dev/sluice/bench/peers/internal/workload"
	"github.com/sluice-dev/sluice/pipeline/verify"
)

// Check is the outcome for one run.
type Check struct {
	Outputs    int // records read from the output topic (duplicates included)
	Distinct   int // inputs that came out at least once
	Duplicates int // extra deliveries
	// Missing counts inputs below the group's final committed offsets that
	// have no output: records a successor would never process again.
	Missing int
	// Pending counts inputs at or past the committed offsets with no
	// output: not done yet, which only a timed-out run has.
	Pending       int
	ReorderedKeys int // keys whose outputs first came out out of input order
	Unexpected    int // outputs that match no input record (unknown key or sequence number)
	// BadValues counts sampled outputs (every 1,009th sequence number)
	// whose value is not the handler's result for their input.
	BadValues int
	Report    string // pipeline/verify's summary, with the first offenders
}

// sampleEvery picks the outputs whose value is recomputed; a prime, so the
// sample falls on every key over time.
const sampleEvery = 1009

// Read reads every record of topic (read_committed, so aborted transactions
// do not count) and checks it against in. k is the contender's SHA-256
// rounds, to recompute sampled values.
func Read(ctx context.Context, brokers []string, topic string, in *workload.Input, committed map[int32]int64, k int) (Check, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...),
		kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		// Control records (transaction markers) are returned too, so the
		// read can tell it reached each partition's end offset.
		kgo.KeepControlRecords(),
		kgo.FetchMaxBytes(64<<20),
	)
	if err != nil {
		return Check{}, fmt.Errorf("read %s: client: %w", topic, err)
	}
	defer cl.Close()
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, topic)
	if err != nil {
		return Check{}, fmt.Errorf("read %s: end offsets: %w", topic, err)
	}
	left := make(map[int32]int64) // partition -> end offset not yet reached
	ends.Each(func(o kadm.ListedOffset) {
		if o.Offset > 0 {
			left[o.Partition] = o.Offset
		}
	})

	var c Check
	var out []verify.Record
	rctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	for len(left) > 0 {
		fs := cl.PollFetches(rctx)
		if err := rctx.Err(); err != nil {
			return Check{}, fmt.Errorf("read %s: %d partitions short of their end offsets: %w", topic, len(left), err)
		}
		var ferr error
		fs.EachError(func(t string, p int32, err error) { ferr = fmt.Errorf("read %s/%d: %w", t, p, err) })
		if ferr != nil {
			return Check{}, ferr
		}
		fs.EachRecord(func(r *kgo.Record) {
			if end, ok := left[r.Partition]; ok && r.Offset+1 >= end {
				delete(left, r.Partition)
			}
			if r.Attrs.IsControl() {
				return
			}
			c.Outputs++
			id := "unparseable"
			if seq, err := records.Seq(r.Value); err == nil {
				id = workload.ID(seq)
				if seq >= 0 && seq < in.Records && seq%sampleEvery == 0 &&
					!bytes.Equal(r.Value, work.Apply(records.Value(seq), k, 0)) {
					c.BadValues++
				}
			}
			out = append(out, verify.Record{Key: string(r.Key), ID: id, Topic: r.Topic, Partition: r.Partition, Offset: r.Offset})
		})
	}

	rep := verify.Check(verify.History{Sent: in.Sent(), Out: out})
	c.Distinct, c.Duplicates = rep.Distinct, rep.Duplicates
	c.ReorderedKeys, c.Unexpected = len(rep.Reordered), len(rep.Unexpected)
	for _, m := range rep.Lost {
		seq, err := strconv.ParseInt(m.ID, 10, 64)
		if err != nil {
			return Check{}, fmt.Errorf("read %s: lost ID %q is not a sequence number", topic, m.ID)
		}
		pos := in.Where[seq]
		if pos.Offset < committed[pos.Partition] {
			c.Missing++
		} else {
			c.Pending++
		}
	}
	c.Report = rep.String()
	return c, nil
}
