package verify_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/sluice-dev/sluice/pipeline/verify"
)

// out builds consumed records from "key:id" pairs, in consumption order.
func out(pairs ...string) []verify.Record {
	recs := make([]verify.Record, len(pairs))
	for i, p := range pairs {
		k, id, _ := strings.Cut(p, ":")
		recs[i] = verify.Record{Key: k, ID: id, Topic: "out", Offset: int64(i)}
	}
	return recs
}

func TestCheckReportsLossDuplicatesAndReordering(t *testing.T) {
	sent := map[string][]string{"a": {"1", "2", "3"}, "b": {"1", "2"}}
	tests := []struct {
		name           string
		out, dead      []verify.Record
		ok             bool
		lost           []verify.Missing
		duplicates     int
		duplicated     []string // key:id
		reorderedKeys  []string
		unexpected     int
		distinct       int
		deadLetteredIn int
	}{
		{
			name:     "everything once, keys interleaved",
			out:      out("a:1", "b:1", "a:2", "b:2", "a:3"),
			ok:       true,
			distinct: 5,
		},
		{
			name:     "lost record",
			out:      out("a:1", "a:3", "b:1", "b:2"),
			lost:     []verify.Missing{{Key: "a", ID: "2"}},
			distinct: 4,
		},
		{
			name:     "lost key",
			out:      out("a:1", "a:2", "a:3"),
			lost:     []verify.Missing{{Key: "b", ID: "1"}, {Key: "b", ID: "2"}},
			distinct: 3,
		},
		{
			name:       "re-delivery after a crash is a duplicate, not a reordering",
			out:        out("a:1", "a:2", "a:3", "a:2", "a:3", "b:1", "b:2"),
			ok:         true,
			duplicates: 2,
			duplicated: []string{"a:2", "a:3"},
			distinct:   5,
		},
		{
			name:       "same record three times",
			out:        out("a:1", "a:1", "a:1", "a:2", "a:3", "b:1", "b:2"),
			ok:         true,
			duplicates: 2,
			duplicated: []string{"a:1"},
			distinct:   5,
		},
		{
			name:          "reordered within a key",
			out:           out("a:1", "a:3", "a:2", "b:1", "b:2"),
			reorderedKeys: []string{"a"},
			distinct:      5,
		},
		{
			name:          "reordered and duplicated",
			out:           out("b:2", "b:1", "b:2", "a:1", "a:2", "a:3"),
			reorderedKeys: []string{"b"},
			duplicates:    1,
			duplicated:    []string{"b:2"},
			distinct:      5,
		},
		{
			name:       "unknown key and unknown id",
			out:        out("a:1", "a:2", "a:3", "b:1", "b:2", "c:1", "a:9"),
			unexpected: 2,
			distinct:   5,
		},
		{
			name:           "dead-lettered record is not lost",
			out:            out("a:1", "a:3", "b:1", "b:2"),
			dead:           out("a:2"),
			ok:             true,
			distinct:       5,
			deadLetteredIn: 1,
		},
		{
			name:     "nothing came out",
			lost:     []verify.Missing{{Key: "a", ID: "1"}, {Key: "a", ID: "2"}, {Key: "a", ID: "3"}, {Key: "b", ID: "1"}, {Key: "b", ID: "2"}},
			distinct: 0,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := verify.Check(verify.History{Sent: sent, Out: tc.out, DeadLettered: tc.dead})
			if r.OK() != tc.ok {
				t.Errorf("OK() = %v, want %v\n%s", r.OK(), tc.ok, r)
			}
			if r.Keys != 2 || r.Sent != 5 || r.Received != len(tc.out) || r.Distinct != tc.distinct {
				t.Errorf("figures keys=%d sent=%d received=%d distinct=%d, want 2, 5, %d, %d", r.Keys, r.Sent, r.Received, r.Distinct, len(tc.out), tc.distinct)
			}
			if !slices.Equal(r.Lost, tc.lost) {
				t.Errorf("Lost = %v, want %v", r.Lost, tc.lost)
			}
			if r.Duplicates != tc.duplicates {
				t.Errorf("Duplicates = %d, want %d", r.Duplicates, tc.duplicates)
			}
			var dups []string
			for _, d := range r.Duplicated {
				dups = append(dups, d.Key+":"+d.ID)
				if len(d.Where) != d.Count {
					t.Errorf("duplicate %s:%s: Count %d but %d locations", d.Key, d.ID, d.Count, len(d.Where))
				}
			}
			if !slices.Equal(dups, tc.duplicated) {
				t.Errorf("Duplicated = %v, want %v", dups, tc.duplicated)
			}
			var keys []string
			for _, o := range r.Reordered {
				keys = append(keys, o.Key)
			}
			if !slices.Equal(keys, tc.reorderedKeys) {
				t.Errorf("Reordered keys = %v, want %v", keys, tc.reorderedKeys)
			}
			if len(r.Unexpected) != tc.unexpected {
				t.Errorf("Unexpected = %v, want %d records", r.Unexpected, tc.unexpected)
			}
			if len(r.DeadLettered) != tc.deadLetteredIn {
				t.Errorf("DeadLettered = %v, want %d records", r.DeadLettered, tc.deadLetteredIn)
			}
		})
	}
}

func TestReorderingListsSentAndDeliveredOrder(t *testing.T) {
	r := verify.Check(verify.History{
		Sent: map[string][]string{"k": {"VALIDATED", "SCORED", "CONFIRMED"}},
		Out:  out("k:SCORED", "k:VALIDATED", "k:CONFIRMED"),
	})
	want := verify.Reordering{Key: "k", Sent: []string{"VALIDATED", "SCORED", "CONFIRMED"}, Got: []string{"SCORED", "VALIDATED", "CONFIRMED"}}
	if len(r.Reordered) != 1 || !slices.Equal(r.Reordered[0].Sent, want.Sent) || !slices.Equal(r.Reordered[0].Got, want.Got) {
		t.Fatalf("Reordered = %+v, want [%+v]", r.Reordered, want)
	}
}

func TestStringListsAtMostTenOffendersOfEachKind(t *testing.T) {
	sent := map[string][]string{}
	for i := range 25 {
		sent[fmt.Sprintf("k%02d", i)] = []string{"x"}
	}
	s := verify.Check(verify.History{Sent: sent}).String()
	if got := strings.Count(s, "\n  lost: "); got != 10 {
		t.Errorf("String lists %d lost records, want 10:\n%s", got, s)
	}
	if !strings.Contains(s, "... 15 more lost") || !strings.HasPrefix(s, "keys=25 sent=25 received=0 distinct=0 lost=25 ") {
		t.Errorf("String summary wrong:\n%s", s)
	}
}

// fakeTB records failures without stopping the test that uses it.
type fakeTB struct {
	testing.TB
	failed bool
	logs   []string
}

func (f *fakeTB) Helper()                        {}
func (f *fakeTB) Logf(format string, a ...any)   { f.logs = append(f.logs, fmt.Sprintf(format, a...)) }
func (f *fakeTB) Errorf(format string, a ...any) { f.failed = true; f.Logf(format, a...) }

func TestRequireFailsOnLossButNotOnDuplicates(t *testing.T) {
	sent := map[string][]string{"a": {"1", "2"}}
	dup := &fakeTB{}
	verify.Require(dup, "dup", verify.Check(verify.History{Sent: sent, Out: out("a:1", "a:2", "a:2")}))
	if dup.failed {
		t.Errorf("Require failed on duplicates only: %v", dup.logs)
	}
	lost := &fakeTB{}
	verify.Require(lost, "lost", verify.Check(verify.History{Sent: sent, Out: out("a:1")}))
	if !lost.failed {
		t.Errorf("Require passed with a lost record: %v", lost.logs)
	}
}

func ExampleCheck() {
	r := verify.Check(verify.History{
		Sent: map[string][]string{"order-1": {"VALIDATED", "SCORED", "CONFIRMED"}},
		Out: []verify.Record{
			{Key: "order-1", ID: "VALIDATED"},
			{Key: "order-1", ID: "SCORED"},
			{Key: "order-1", ID: "VALIDATED"}, // re-delivered after a crash
			{Key: "order-1", ID: "CONFIRMED"},
		},
	})
	fmt.Println(r.OK(), r.Duplicates, len(r.Lost))
	// Output: true 1 0
}
