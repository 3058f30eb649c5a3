package orderchain

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/processors/status"
)

// ViewWatch follows the chain's order-status topic with the status
// service's own view (processors/status) and samples it while the scenario
// runs, as a client polling GET /orders/{id} would: an order whose answer
// moves to a lower-ranked state between two samples is a regression the
// user sees.
type ViewWatch struct {
	stop func()
	done chan struct{}

	mu          sync.Mutex
	samples     int
	regressions int
	first       []string
}

// WatchStatusView starts a status view on the chain's status topic and
// samples every order of sent every interval until Stop.
func (c *Chain) WatchStatusView(t testing.TB, sent *Sent, every time.Duration) *ViewWatch {
	t.Helper()
	view := status.NewView(newSerde(t))
	cl := c.k.Client(t, status.ClientOpts(c.Topics.Status)...)
	ctx, cancel := context.WithCancel(context.Background())
	w := &ViewWatch{stop: cancel, done: make(chan struct{})}
	go func() { _ = status.Follow(ctx, cl, c.Topics.Status, view, func() {}) }()
	go func() {
		defer close(w.done)
		held := map[string]int32{}
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			sent.mu.Lock()
			ids := make([]string, 0, len(sent.Expected))
			for id := range sent.Expected {
				ids = append(ids, id)
			}
			sent.mu.Unlock()
			w.mu.Lock()
			w.samples++
			for _, id := range ids {
				st, ok := view.Get(id)
				if !ok {
					continue
				}
				r := st.EffectiveRank()
				if prev, seen := held[id]; seen && r < prev {
					w.regressions++
					if len(w.first) < 10 {
						w.first = append(w.first, fmt.Sprintf("%s: rank %d -> %d (%s)", id, prev, r, st.State))
					}
				}
				held[id] = r
			}
			w.mu.Unlock()
		}
	}()
	t.Cleanup(func() { w.Stop() })
	return w
}

// Stop ends the watch and returns how many samples it took and how many
// answers went backwards, with up to ten of them.
func (w *ViewWatch) Stop() (samples, regressions int, first []string) {
	w.stop()
	<-w.done // a second Stop finds it closed
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.samples, w.regressions, w.first
}
