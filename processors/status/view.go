// Package status serves the current status of every order from a
// materialized view of the compacted order-status topic.
//
// The view is rebuilt from the start of the topic on every start: compaction
// keeps it about as large as the number of live orders, and reading it back
// needs no state of its own. Records are applied in log order, which per key
// (per order) is the order the pipeline wrote them; the topic, not the
// changed_at timestamps, is the truth.
//
// # Statuses never go back
//
// The view never moves an order backwards. Every status has a rank
// (order.Status.Rank: ACCEPTED < VALIDATED < SCORED < CONFIRMED = REJECTED),
// and a record whose rank is below the one the view holds for its order is
// ignored and counted (sluice_status_records_ignored_total{reason="lower_rank"}).
// Such records are normal in at-least-once mode: a stage restarted after a
// crash redoes the orders past its last commit, and its SCORED for an order
// that decide has already confirmed lands after the CONFIRMED. A record of
// equal rank replaces the held one, so a final decision made again (a
// dead-letter replay, say) still shows. A record written before ranks
// existed (OrderStatus v1, rank 0) is ranked by its state, which is the same
// order. The rule depends only on the records, so it holds in both delivery
// modes; in exactly-once mode the topic itself holds no regression.
package status

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluice-dev/sluice/processors/order"
	"github.com/sluice-dev/sluice/schemas"
)

// ErrKeyMismatch means a status record's key is not the order ID in its
// value: a producer broke the keying rule (see package order), and applying
// it would file the status under the wrong order.
var ErrKeyMismatch = errors.New("record key is not the order ID")

// View is the latest status of each order. It is safe for concurrent use:
// Follow's goroutine writes through Apply, HTTP handlers read through Get;
// mu guards statuses, ready is set once, the counters count on their own.
type View struct {
	serde *schemas.Serde

	mu       sync.RWMutex
	statuses map[string]order.Status

	ready atomic.Bool

	lowerRank prometheus.Counter // records ignored: they would move an order back
	invalid   prometheus.Counter // records Apply refused with an error
	ignored   *prometheus.CounterVec
}

// NewView returns an empty view that decodes records with serde.
func NewView(serde *schemas.Serde) *View {
	ignored := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "sluice",
		Subsystem: "status",
		Name:      "records_ignored_total",
		Help:      "Records of the order-status topic the view did not apply: lower_rank would have moved an order back (a stage redid it), invalid did not decode or was keyed by another order.",
	}, []string{"reason"})
	return &View{
		serde:     serde,
		statuses:  make(map[string]order.Status),
		ignored:   ignored,
		lowerRank: ignored.WithLabelValues("lower_rank"),
		invalid:   ignored.WithLabelValues("invalid"),
	}
}

// RegisterMetrics registers the view's counters with reg. A view counts
// whether or not it is registered.
func (v *View) RegisterMetrics(reg prometheus.Registerer) error {
	if err := reg.Register(v.ignored); err != nil {
		return fmt.Errorf("register status view metrics: %w", err)
	}
	return nil
}

// Apply applies one record of the order-status topic: an empty value is a
// tombstone and forgets the order; anything else must decode as an
// OrderStatus whose order ID is the key, and replaces what the view held
// unless its rank is lower (see the package doc), in which case it is
// ignored and counted, and Apply returns nil.
func (v *View) Apply(ctx context.Context, key, value []byte) error {
	id := string(key)
	if len(value) == 0 {
		v.mu.Lock()
		delete(v.statuses, id)
		v.mu.Unlock()
		return nil
	}
	s, err := order.DecodeStatus(ctx, v.serde, value)
	if err != nil {
		v.invalid.Inc()
		return fmt.Errorf("apply status of %q: %w", id, err)
	}
	if s.OrderID != id {
		v.invalid.Inc()
		return fmt.Errorf("apply status of %q: value is for %q: %w", id, s.OrderID, ErrKeyMismatch)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if held, ok := v.statuses[id]; ok && s.EffectiveRank() < held.EffectiveRank() {
		v.lowerRank.Inc()
		return nil
	}
	v.statuses[id] = s
	return nil
}

// Get returns the latest status of the order with this ID.
func (v *View) Get(id string) (order.Status, bool) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	s, ok := v.statuses[id]
	return s, ok
}

// Len returns the number of orders in the view.
func (v *View) Len() int {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return len(v.statuses)
}

// Ready reports whether the view has caught up with the topic as it was when
// Follow started. Before that, a missing order may just not be loaded yet.
func (v *View) Ready() bool { return v.ready.Load() }
