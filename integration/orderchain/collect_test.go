package orderchain

import (
	"slices"
	"testing"

	"github.com/sluice-dev/sluice/pipeline/verify"
	"github.com/sluice-dev/sluice/processors/order"
)

// TestRegressionsCountOrdersThatWentBack checks the checker the crash
// scenarios rely on, on a log written by hand.
func TestRegressionsCountOrdersThatWentBack(t *testing.T) {
	const topic = "order-status"
	col := &Collector{recs: map[string][]verify.Record{}, ranks: map[string][]int32{}}
	add := func(key string, s order.State) {
		col.recs[topic] = append(col.recs[topic], verify.Record{Key: key, ID: string(s), Topic: topic, Offset: int64(len(col.recs[topic]))})
		col.ranks[topic] = append(col.ranks[topic], s.Rank())
	}
	// o-1: the sequence of issue 11, with o-2's records in between.
	add("o-1", order.StateValidated)
	add("o-2", order.StateValidated)
	add("o-1", order.StateScored)
	add("o-1", order.StateConfirmed)
	add("o-2", order.StateScored)
	add("o-1", order.StateScored) // back
	add("o-2", order.StateScored) // a duplicate, not a regression
	add("o-1", order.StateConfirmed)
	add("o-2", order.StateRejected)
	add("o-3", order.StateRejected)
	add("o-3", order.StateValidated) // back
	add("o-3", order.StateScored)    // forward again from VALIDATED

	got := col.regressions(topic)
	want := Regressions{Records: 2, Orders: 2, First: []string{
		"o-1: CONFIRMED -> SCORED at order-status/0@5",
		"o-3: REJECTED -> VALIDATED at order-status/0@10",
	}}
	if got.Records != want.Records || got.Orders != want.Orders || !slices.Equal(got.First, want.First) {
		t.Fatalf("regressions = %+v, want %+v", got, want)
	}
	if r := col.regressions("orders.decided"); r.Records != 0 || r.Orders != 0 {
		t.Fatalf("regressions of an empty topic = %+v, want none", r)
	}
}
