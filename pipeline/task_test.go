package pipeline

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TestIdleRunHoldsNoRecord: a worker that ran a batch and waits for the
// next keeps nothing of its records, neither the last one nor any output
// a handler returned, in storage it reuses: each would keep its whole
// fetched batch from the garbage collector.
func TestIdleRunHoldsNoRecord(t *testing.T) {
	ps := &partState{tp: topicPartition{"in", 0}}
	kr := &kgo.Record{Topic: "in", Key: []byte("k"), Value: []byte("v"), Headers: []kgo.RecordHeader{{Key: "h", Value: []byte("x")}}}
	var r run
	r.load(&task{rec: kr, part: ps})
	// Three outputs, then one: the storage keeps the two it did not
	// return this time.
	r.in.Outputs(Output{Key: r.in.Key}, Output{Value: r.in.Value}, Output{Key: r.in.Key})
	r.load(&task{rec: kr, part: ps})
	r.in.Outputs(Output{Value: r.in.Value})
	r.idle()
	if r.in.Key != nil || r.in.Value != nil || r.in.Headers != nil {
		t.Errorf("idle run still holds its last record: %+v", r.in)
	}
	outs := r.in.outs[:cap(r.in.outs)]
	for i, o := range outs {
		if o.Key != nil || o.Value != nil {
			t.Errorf("idle run's output storage %d still holds %+v", i, o)
		}
	}
	if len(outs) < 3 {
		t.Errorf("output storage shrank to %d: it is kept for the next records", len(outs))
	}
	for i, h := range r.headers[:cap(r.headers)] {
		if h.Value != nil {
			t.Errorf("idle run's header storage %d still holds %+v", i, h)
		}
	}
}
