package retry

import (
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluice-dev/sluice/pipeline/failure"
)

// Fetcher is what Gates needs of the Kafka client: pausing, rewinding and
// resuming one partition. *kgo.Client implements it.
type Fetcher interface {
	PauseFetchPartitions(map[string][]int32) map[string][]int32
	ResumeFetchPartitions(map[string][]int32)
	SetOffsets(map[string]map[int32]kgo.EpochOffset)
}

type partition struct {
	topic string
	part  int32
}

// Gates hold back retry partitions whose next record is not due yet.
// Shutting a gate pauses the partition and rewinds its fetch position to
// that record; a timer reopens it when the record is due. Nothing is held in
// memory and no worker waits: records fetched behind the gated one are
// skipped while it is shut and fetched again after. Safe for concurrent use.
type Gates struct {
	cl    Fetcher
	mu    sync.Mutex
	gates map[partition]*time.Timer
}

// NewGates returns gates over cl.
func NewGates(cl Fetcher) *Gates { return &Gates{cl: cl, gates: map[partition]*time.Timer{}} }

// Due returns when a record of a retry topic may run, from its sluice.due
// header (zero if absent: at once).
func Due(r *kgo.Record) time.Time {
	for _, h := range r.Headers {
		if h.Key == failure.HeaderDue {
			return failure.ParseTime(string(h.Value))
		}
	}
	return time.Time{}
}

// Admit reports whether r, a record of a retry partition, may run now. If
// its gate is shut it may not; if r is not due yet, Admit shuts the gate at
// r and it may not either. The caller must be the poll loop, before it
// allows a rebalance, where rewinding the fetch position is safe.
func (g *Gates) Admit(r *kgo.Record, now time.Time) bool {
	p := partition{r.Topic, r.Partition}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.gates[p] != nil {
		return false
	}
	due := Due(r)
	if !due.After(now) {
		return true
	}
	tp := map[string][]int32{p.topic: {p.part}}
	g.cl.PauseFetchPartitions(tp)
	g.cl.SetOffsets(map[string]map[int32]kgo.EpochOffset{p.topic: {p.part: {Epoch: -1, Offset: r.Offset}}})
	var t *time.Timer
	t = time.AfterFunc(due.Sub(now), func() {
		g.mu.Lock()
		defer g.mu.Unlock()
		if g.gates[p] != t {
			return // opened early (revoke, shutdown)
		}
		delete(g.gates, p)
		g.cl.ResumeFetchPartitions(tp)
	})
	g.gates[p] = t
	return false
}

// Open opens the gate of a partition now (on revoke), so a partition never
// stays paused for whoever owns it next in this client.
func (g *Gates) Open(topic string, part int32) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.openLocked(partition{topic, part})
}

// OpenAll opens every gate (on shutdown).
func (g *Gates) OpenAll() {
	g.mu.Lock()
	defer g.mu.Unlock()
	for p := range g.gates {
		g.openLocked(p)
	}
}

func (g *Gates) openLocked(p partition) {
	t := g.gates[p]
	if t == nil {
		return
	}
	t.Stop()
	delete(g.gates, p)
	g.cl.ResumeFetchPartitions(map[string][]int32{p.topic: {p.part}})
}
