package loader

import (
	"context"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluice-dev/sluice/processors/ordergen"
	"github.com/sluice-dev/sluice/schemas"
)

// Generator is a Source of synthetic OrderPlaced records from ordergen,
// keyed by order ID. The same ordergen.Config gives the same records, in
// the same order.
//
// Generating and encoding run on their own goroutine, a batch ahead of
// Next, so that they overlap with producing. That goroutine owns gen; it
// is started by the first Next and ended by Close.
type Generator struct {
	gen      *ordergen.Generator
	poison   bool // the Config has a PoisonRate: use NextRecord
	serde    *schemas.Serde
	count    int64
	duration time.Duration
	clock    Clock

	start   atomic.Int64 // UnixNano of the first Next, 0 before
	n       atomic.Int64 // records returned by Next
	batches chan genBatch
	batch   genBatch // being handed out by Next
	stop    context.CancelFunc
	wg      sync.WaitGroup
}

type genBatch struct {
	recs []Record
	err  error // after recs
}

// genBatchSize is how many records the generating goroutine hands over at
// once; batches keep the channel out of the per-record cost.
const genBatchSize = 256

// NewGenerator returns a Source of the orders of cfg, encoded with serde:
// count records, or as many as it sends in duration (timed by clock,
// WallClock if nil), whichever limit comes first; a zero limit is no
// limit. It panics on a cfg ordergen.New rejects. Close it when done.
func NewGenerator(cfg ordergen.Config, serde *schemas.Serde, count int64, duration time.Duration, clock Clock) *Generator {
	if clock == nil {
		clock = WallClock{}
	}
	return &Generator{gen: ordergen.New(cfg), poison: cfg.PoisonRate > 0, serde: serde, count: count, duration: duration, clock: clock}
}

// Next implements Source.
func (g *Generator) Next(ctx context.Context) (Record, error) {
	if g.start.Load() == 0 {
		g.start.Store(g.clock.Now().UnixNano())
		g.run()
	} else if g.duration > 0 && time.Duration(g.clock.Now().UnixNano()-g.start.Load()) >= g.duration {
		return Record{}, io.EOF
	}
	for len(g.batch.recs) == 0 {
		if g.batch.err != nil {
			return Record{}, g.batch.err
		}
		select {
		case b := <-g.batches:
			g.batch = b
		case <-ctx.Done():
			return Record{}, ctx.Err()
		}
	}
	r := g.batch.recs[0]
	g.batch.recs = g.batch.recs[1:]
	g.n.Add(1)
	return r, nil
}

// run starts the goroutine that generates and encodes.
func (g *Generator) run() {
	ctx, cancel := context.WithCancel(context.Background())
	g.stop = cancel
	g.batches = make(chan genBatch, 8)
	g.wg.Go(func() {
		var fast *placedEncoder
		if !g.poison {
			fast = newPlacedEncoder(ctx, g.serde)
		}
		var made int64
		for {
			b := genBatch{recs: make([]Record, 0, genBatchSize)}
			var slab []byte // keys and values of the batch: one allocation, not two a record
			for len(b.recs) < genBatchSize && (g.count == 0 || made < g.count) {
				var r Record
				if fast != nil {
					p := g.gen.Next()
					if cap(slab)-len(slab) < 512 {
						slab = make([]byte, 0, 64<<10)
					}
					at := len(slab)
					slab = append(slab, p.OrderID...)
					r.Key = slab[at:len(slab):len(slab)]
					at = len(slab)
					slab = fast.appendTo(slab, p)
					r.Value = slab[at:len(slab):len(slab)]
				} else {
					r.Key, r.Value, r.Poison, b.err = g.gen.NextRecord(ctx, g.serde)
					if b.err != nil {
						break
					}
				}
				b.recs = append(b.recs, r)
				made++
			}
			if len(b.recs) == 0 && b.err == nil {
				b.err = io.EOF
			}
			select {
			case g.batches <- b:
			case <-ctx.Done():
				return
			}
			if b.err != nil {
				return
			}
		}
	})
}

// Close stops the generating goroutine and waits for it.
func (g *Generator) Close() error {
	if g.stop != nil {
		g.stop()
		g.wg.Wait()
	}
	return nil
}

// Progress implements Source: records out of --count, or else nanoseconds
// out of --duration.
func (g *Generator) Progress() (done, total int64) {
	if g.count > 0 {
		return g.n.Load(), g.count
	}
	if start := g.start.Load(); g.duration > 0 && start != 0 {
		return min(g.clock.Now().UnixNano()-start, int64(g.duration)), int64(g.duration)
	}
	return g.n.Load(), 0
}
