// Package verify checks what came out of a stream processor against what
// went in, in the spirit of Jepsen's Kafka checker: every record sent must
// come out (no loss), each key's records must come out in the order they
// were sent (no reordering), and nothing must come out that was never sent.
// Duplicates are allowed, because Sluice delivers at least once, but they
// are counted and listed so a test can log and bound them.
//
// A test records a [History]: for each key, the IDs it sent in order (an ID
// is whatever names one value: a sequence number, an order ID, a state), and
// the [Record]s it consumed from the output topics and from any dead-letter
// topic, in the order a consumer saw them. [Check] turns it into a [Report];
// [Require] fails the test when the report shows loss, reordering or
// strangers:
//
//	h := verify.History{Sent: sent}
//	for _, r := range consumed {
//		h.Out = append(h.Out, verify.Record{Key: string(r.Key), ID: idOf(r), Partition: r.Partition, Offset: r.Offset})
//	}
//	verify.Require(t, verify.Check(h))
//
// Order is judged per key on first deliveries: the IDs of a key, each taken
// where it first came out, must appear in the order they were sent. A
// re-delivery after a crash (a key's IDs 1 2 3 then 2 3 again) is a
// duplicate, not a reordering; an ID that first came out before an ID sent
// ahead of it (1 3 2) is a reordering. Within one key, Out must therefore
// list records in the order they were consumed, which for a Kafka topic is
// offset order (a key lives in one partition).
package verify

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// Record is one consumed record, reduced to what the checks need.
type Record struct {
	Key string
	// ID names the value: it is compared with the IDs of History.Sent.
	ID string
	// Topic, Partition and Offset say where the record was read; they only
	// appear in the report, to help find it.
	Topic     string
	Partition int32
	Offset    int64
}

func (r Record) where() string {
	if r.Topic == "" {
		return ""
	}
	return fmt.Sprintf(" at %s/%d@%d", r.Topic, r.Partition, r.Offset)
}

// History is what a test sent and what it consumed.
type History struct {
	// Sent maps each key to the IDs sent with it, in send order. IDs must be
	// unique within a key.
	Sent map[string][]string
	// Out holds the records consumed from the output topics, each key's in
	// consumption order.
	Out []Record
	// DeadLettered holds the records consumed from dead-letter topics. A
	// sent ID found here is not lost; it is reported as dead-lettered.
	DeadLettered []Record
}

// Missing is a sent ID that never came out.
type Missing struct {
	Key, ID string
}

// Duplicate is an ID that came out more than once.
type Duplicate struct {
	Key, ID string
	Count   int      // deliveries, at least 2
	Where   []Record // every delivery, in consumption order
}

// Reordering is a key whose IDs first came out in an order other than the
// one they were sent in.
type Reordering struct {
	Key  string
	Sent []string // the key's IDs in send order (only those that came out)
	Got  []string // the same IDs in order of first delivery
}

// Report is the outcome of [Check]. Figures count records; the slices list
// the offending records, sorted by key.
type Report struct {
	Keys     int // keys sent
	Sent     int // IDs sent
	Received int // records in Out (duplicates included)
	Distinct int // sent IDs that came out at least once, in Out or dead-lettered

	Lost []Missing
	// Duplicates is the number of extra deliveries: Received minus the
	// distinct (key, ID) pairs that came out.
	Duplicates   int
	Duplicated   []Duplicate
	Reordered    []Reordering
	Unexpected   []Record // came out but never sent (unknown key or ID)
	DeadLettered []Record // sent IDs found in a dead-letter topic
}

// OK reports whether nothing was lost, reordered or unexpected. Duplicates
// and dead letters do not count against it.
func (r Report) OK() bool {
	return len(r.Lost) == 0 && len(r.Reordered) == 0 && len(r.Unexpected) == 0
}

// Check compares what was sent with what came out.
func Check(h History) Report {
	r := Report{Keys: len(h.Sent), Received: len(h.Out)}
	// position of each sent ID within its key
	pos := make(map[string]map[string]int, len(h.Sent))
	for k, ids := range h.Sent {
		r.Sent += len(ids)
		m := make(map[string]int, len(ids))
		for i, id := range ids {
			m[id] = i
		}
		pos[k] = m
	}

	type keyID struct{ key, id string }
	deliveries := make(map[keyID][]Record, len(h.Out))
	firsts := make(map[string][]int) // key -> positions in order of first delivery
	for _, rec := range h.Out {
		p, ok := pos[rec.Key][rec.ID]
		if !ok {
			r.Unexpected = append(r.Unexpected, rec)
			continue
		}
		ki := keyID{rec.Key, rec.ID}
		if len(deliveries[ki]) == 0 {
			firsts[rec.Key] = append(firsts[rec.Key], p)
		}
		deliveries[ki] = append(deliveries[ki], rec)
	}
	dead := make(map[keyID]bool)
	for _, rec := range h.DeadLettered {
		if _, ok := pos[rec.Key][rec.ID]; !ok {
			r.Unexpected = append(r.Unexpected, rec)
			continue
		}
		r.DeadLettered = append(r.DeadLettered, rec)
		dead[keyID{rec.Key, rec.ID}] = true
	}

	for k, ids := range h.Sent {
		for _, id := range ids {
			ki := keyID{k, id}
			n := len(deliveries[ki])
			switch {
			case n == 0 && !dead[ki]:
				r.Lost = append(r.Lost, Missing{k, id})
				continue
			case n > 1:
				r.Duplicates += n - 1
				r.Duplicated = append(r.Duplicated, Duplicate{Key: k, ID: id, Count: n, Where: deliveries[ki]})
			}
			r.Distinct++
		}
		if f := firsts[k]; !slices.IsSorted(f) {
			sorted := slices.Sorted(slices.Values(f))
			ro := Reordering{Key: k}
			for _, p := range sorted {
				ro.Sent = append(ro.Sent, ids[p])
			}
			for _, p := range f {
				ro.Got = append(ro.Got, ids[p])
			}
			r.Reordered = append(r.Reordered, ro)
		}
	}

	slices.SortFunc(r.Lost, func(a, b Missing) int { return cmp.Or(cmp.Compare(a.Key, b.Key), cmp.Compare(a.ID, b.ID)) })
	slices.SortFunc(r.Duplicated, func(a, b Duplicate) int { return cmp.Or(cmp.Compare(a.Key, b.Key), cmp.Compare(a.ID, b.ID)) })
	slices.SortFunc(r.Reordered, func(a, b Reordering) int { return cmp.Compare(a.Key, b.Key) })
	return r
}

// maxListed bounds how many offenders of each kind String lists.
const maxListed = 10

// String summarizes the report on one line, then lists up to ten
// offenders of each kind, one per line.
func (r Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "keys=%d sent=%d received=%d distinct=%d lost=%d duplicates=%d (ids duplicated=%d) reordered_keys=%d unexpected=%d dead_lettered=%d",
		r.Keys, r.Sent, r.Received, r.Distinct, len(r.Lost), r.Duplicates, len(r.Duplicated), len(r.Reordered), len(r.Unexpected), len(r.DeadLettered))
	list(&b, "lost", r.Lost, func(m Missing) string { return fmt.Sprintf("key %q id %q", m.Key, m.ID) })
	list(&b, "reordered", r.Reordered, func(o Reordering) string {
		return fmt.Sprintf("key %q: sent %v, first delivered %v", o.Key, o.Sent, o.Got)
	})
	list(&b, "unexpected", r.Unexpected, func(rec Record) string {
		return fmt.Sprintf("key %q id %q%s", rec.Key, rec.ID, rec.where())
	})
	list(&b, "duplicated", r.Duplicated, func(d Duplicate) string {
		where := make([]string, len(d.Where))
		for i, w := range d.Where {
			where[i] = strings.TrimPrefix(w.where(), " at ")
		}
		return fmt.Sprintf("key %q id %q x%d %s", d.Key, d.ID, d.Count, strings.Join(where, " "))
	})
	list(&b, "dead-lettered", r.DeadLettered, func(rec Record) string {
		return fmt.Sprintf("key %q id %q%s", rec.Key, rec.ID, rec.where())
	})
	return b.String()
}

func list[E any](b *strings.Builder, what string, items []E, show func(E) string) {
	for i, it := range items {
		if i == maxListed {
			fmt.Fprintf(b, "\n  ... %d more %s", len(items)-maxListed, what)
			break
		}
		fmt.Fprintf(b, "\n  %s: %s", what, show(it))
	}
}

// Require logs the report under name and fails t when it shows loss,
// reordering or unexpected records. Duplicates are logged, never fatal: at
// least once allows them, and a test that wants to bound them checks
// [Report.Duplicated] itself.
func Require(t testing.TB, name string, r Report) {
	t.Helper()
	t.Logf("verify %s: %s", name, r)
	if !r.OK() {
		t.Errorf("verify %s: %d lost, %d keys reordered, %d unexpected (see the report above)", name, len(r.Lost), len(r.Reordered), len(r.Unexpected))
	}
}
