// Package workload defines the benchmark's workloads and loads each one's
// input topic once, remembering where every record landed so that outputs
// can be checked against it.
package workload

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluice-dev/sluice/bench/peers/internal/records"
)

// Workload is one input shape and handler cost.
type Workload struct {
	Name       string // W1 ... W4
	Title      string
	Partitions int32
	Keys       int
	Records    int64
	// CPU is the handler's target CPU cost per record (the SHA-256 rounds
	// are calibrated per language to cost this); 0 means passthrough.
	CPU time.Duration
	// Sleep is the handler's simulated I/O wait per record.
	Sleep time.Duration
	// Limit bounds one contender's run, from its start; a run still short
	// of the end then is reported as a timeout with the count it reached.
	Limit time.Duration
}

func (w Workload) String() string {
	var h string
	switch {
	case w.Sleep > 0:
		h = fmt.Sprintf("%s sleep", w.Sleep)
	case w.CPU > 0:
		h = fmt.Sprintf("%s CPU", w.CPU)
	default:
		h = "passthrough"
	}
	return fmt.Sprintf("%s %s: %d partition(s), %d keys, %d records, %s, limit %s", w.Name, w.Title, w.Partitions, w.Keys, w.Records, h, w.Limit)
}

// All returns the four workloads of issue 13; quick shrinks them for a
// smoke run. W4's record count is cut from the implicit 100,000 to
// 10,000: partition-ordered contenders run it at 200 records/s by design
// (one 5 ms sleep at a time), 50 s per run.
func All(quick bool) []Workload {
	ws := []Workload{
		{Name: "W1", Title: "hot partition", Partitions: 1, Keys: 1_000, Records: 100_000, CPU: 200 * time.Microsecond, Limit: 240 * time.Second},
		{Name: "W2", Title: "many partitions", Partitions: 12, Keys: 10_000, Records: 100_000, CPU: 200 * time.Microsecond, Limit: 240 * time.Second},
		{Name: "W3", Title: "passthrough", Partitions: 12, Keys: 10_000, Records: 1_000_000, Limit: 240 * time.Second},
		{Name: "W4", Title: "I/O-bound", Partitions: 1, Keys: 1_000, Records: 10_000, Sleep: 5 * time.Millisecond, Limit: 120 * time.Second},
	}
	if quick {
		for i, n := range []int64{2_000, 2_000, 20_000, 400} {
			ws[i].Records = n
			ws[i].Limit = 60 * time.Second
		}
	}
	return ws
}

// Select returns the workloads named in list (comma-separated, e.g.
// "W1,W3"); "" or "all" means all of them.
func Select(ws []Workload, list string) ([]Workload, error) {
	if list == "" || list == "all" {
		return ws, nil
	}
	var out []Workload
	for _, name := range strings.Split(list, ",") {
		found := false
		for _, w := range ws {
			if strings.EqualFold(w.Name, strings.TrimSpace(name)) {
				out, found = append(out, w), true
			}
		}
		if !found {
			return nil, fmt.Errorf("unknown workload %q in --workloads=%s: want some of W1,W2,W3,W4", name, list)
		}
	}
	return out, nil
}

// Pos is where an input record landed.
type Pos struct {
	Partition int32
	Offset    int64
}

// Input is a loaded input topic.
type Input struct {
	Workload
	Topic string
	Ends  map[int32]int64 // end offset of every partition
	Where []Pos           // by sequence number
}

// Sent returns, per key, the sequence numbers sent with it in send order
// (which is offset order: a key lives in one partition), as the IDs that
// pipeline/verify compares outputs with.
func (in *Input) Sent() map[string][]string {
	sent := make(map[string][]string, in.Keys)
	for seq := range in.Records {
		k := string(records.Key(seq, in.Keys))
		sent[k] = append(sent[k], ID(seq))
	}
	return sent
}

// ID is the verify ID of sequence number seq.
func ID(seq int64) string { return fmt.Sprint(seq) }

// Load creates topic with w's partitions and writes w's records to it with
// a fast asynchronous producer.
func Load(ctx context.Context, brokers []string, w Workload, topic string) (*Input, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...),
		kgo.ProducerLinger(10*time.Millisecond),
		kgo.MaxBufferedRecords(200_000),
		kgo.ProducerBatchMaxBytes(1<<20),
		kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil)), // murmur2 of the key, as Java's
	)
	if err != nil {
		return nil, fmt.Errorf("load %s: client: %w", w.Name, err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	if _, err := adm.CreateTopic(ctx, w.Partitions, 1, nil, topic); err != nil {
		return nil, fmt.Errorf("load %s: create topic %s: %w", w.Name, topic, err)
	}

	in := &Input{Workload: w, Topic: topic, Where: make([]Pos, w.Records)}
	var (
		mu    sync.Mutex
		first error
	)
	for seq := range w.Records {
		r := &kgo.Record{Topic: topic, Key: records.Key(seq, w.Keys), Value: records.Value(seq)}
		cl.Produce(ctx, r, func(r *kgo.Record, err error) {
			if err != nil {
				mu.Lock()
				if first == nil {
					first = fmt.Errorf("produce record %d: %w", seq, err)
				}
				mu.Unlock()
				return
			}
			in.Where[seq] = Pos{r.Partition, r.Offset}
		})
	}
	if err := cl.Flush(ctx); err != nil {
		return nil, fmt.Errorf("load %s: flush: %w", w.Name, err)
	}
	if first != nil {
		return nil, fmt.Errorf("load %s: %w", w.Name, first)
	}
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		return nil, fmt.Errorf("load %s: end offsets of %s: %w", w.Name, topic, err)
	}
	in.Ends = make(map[int32]int64)
	var total int64
	ends.Each(func(o kadm.ListedOffset) {
		in.Ends[o.Partition] = o.Offset
		total += o.Offset
	})
	if total != w.Records || len(in.Ends) != int(w.Partitions) {
		return nil, fmt.Errorf("load %s: %s holds %d records in %d partitions, want %d in %d", w.Name, topic, total, len(in.Ends), w.Records, w.Partitions)
	}
	return in, nil
}
