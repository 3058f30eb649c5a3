// Package status serves the current status of every order from a
// materialized view of the compacted order-status topic.
//
// The view is rebuilt from the start of the topic on every start: compaction
// keeps it about as large as the number of live orders, and reading it back
// needs no state of its own. Records are applied in log order, which per key
// (per order) is the order the pipeline wrote them; the topic, not the
// changed_at timestamps, is the truth.
package status

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/sluice-dev/sluice/processors/order"
	"github.com/sluice-dev/sluice/schemas"
)

// ErrKeyMismatch means a status record's key is not the order ID in its
// value: a producer broke the keying rule (see package order), and applying
// it would file the status under the wrong order.
var ErrKeyMismatch = errors.New("record key is not the order ID")

// View is the latest status of each order. It is safe for concurrent use:
// Follow's goroutine writes through Apply, HTTP handlers read through Get;
// mu guards statuses, ready is set once.
type View struct {
	serde *schemas.Serde

	mu       sync.RWMutex
	statuses map[string]order.Status

	ready atomic.Bool
}

// NewView returns an empty view that decodes records with serde.
func NewView(serde *schemas.Serde) *View {
	return &View{serde: serde, statuses: make(map[string]order.Status)}
}

// Apply applies one record of the order-status topic: an empty value is a
// tombstone and forgets the order, anything else must decode as an
// OrderStatus whose order ID is the key, and replaces what the view held.
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
		return fmt.Errorf("apply status of %q: %w", id, err)
	}
	if s.OrderID != id {
		return fmt.Errorf("apply status of %q: value is for %q: %w", id, s.OrderID, ErrKeyMismatch)
	}
	v.mu.Lock()
	v.statuses[id] = s
	v.mu.Unlock()
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
