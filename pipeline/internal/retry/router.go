package retry

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluice-dev/sluice/pipeline/failure"
)

// Attempt is one run of a record as the failure path sees it.
type Attempt struct {
	// Input is the input topic the record belongs to; Tier the retry tier
	// it was read from, -1 for the input itself.
	Input string
	Tier  int
	Key   []byte
	Value []byte
	// Headers are the record's own headers: those of a retry tier's
	// record without the failure headers, the replay headers kept.
	Headers []kgo.RecordHeader
	// Origin is where the record was first read.
	Origin failure.Origin
	// Attempts counts the failed attempts of this pass before this one
	// (since the record was produced or last replayed); ReplayAttempts
	// those before its last replay.
	Attempts       int
	ReplayAttempts int
	FirstFailure   time.Time
	Parked         bool
}

// FromInput describes r, read from an input topic.
func FromInput(r *kgo.Record) Attempt {
	a := Attempt{
		Input: r.Topic, Tier: -1, Key: r.Key, Value: r.Value, Headers: r.Headers,
		Origin: failure.Origin{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset, Timestamp: r.Timestamp},
	}
	for _, h := range r.Headers {
		if h.Key == failure.HeaderReplayAttempts {
			f, _ := failure.Decode(r.Headers)
			a.ReplayAttempts = f.ReplayAttempts
			break
		}
	}
	return a
}

// FromTier describes r, read from retry tier t: its origin, attempts and
// first failure come from its headers, which are left out of Headers.
func FromTier(r *kgo.Record, t Tier) Attempt {
	f, _ := failure.Decode(r.Headers)
	a := Attempt{
		Input: t.Input, Tier: t.Index, Key: r.Key, Value: r.Value,
		Origin:         f.Origin,
		Attempts:       max(0, f.Attempts-f.ReplayAttempts),
		ReplayAttempts: f.ReplayAttempts,
		FirstFailure:   f.FirstFailure,
		Parked:         f.Parked,
	}
	if a.Origin.Topic == "" {
		a.Origin.Topic = t.Input
	}
	for _, h := range r.Headers {
		if !failure.IsHeader(h.Key) {
			a.Headers = append(a.Headers, h)
		}
	}
	return a
}

// Router decides where failed records go and keeps, per key, the records in
// the retry path in order (key-ordered retries): while a record of a key
// waits in a tier, later records of the key are parked behind it, in the
// same tier, instead of overtaking it. Safe for concurrent use.
//
// Every method that returns a record to produce hands it to produce while
// holding the router's lock, so the path and the order of the records in
// the retry topics agree.
type Router struct {
	routes     *Routes
	processor  string
	connect    bool
	keyOrdered bool

	mu     sync.Mutex
	keys   atomic.Int64 // keys in paths, read without mu on the hot path
	paths  map[pathKey][]pathEntry
	delays []time.Duration
}

// pathKey identifies a key of an input topic in the retry path.
type pathKey struct {
	topic string
	key   string
}

// pathEntry is a record of that key in the retry path, by its origin.
type pathEntry struct {
	partition int32
	offset    int64
	tier      int
}

// NewRouter returns the router of a processor. keyOrdered turns on
// key-ordered retries; connectHeaders writes Kafka Connect's headers on
// dead-letter records instead of Sluice's.
func NewRouter(routes *Routes, processor string, keyOrdered, connectHeaders bool) *Router {
	return &Router{routes: routes, processor: processor, keyOrdered: keyOrdered && routes.Tiers() > 0,
		connect: connectHeaders, paths: map[pathKey][]pathEntry{}, delays: routes.delays}
}

func (a *Attempt) pathKey() pathKey { return pathKey{a.Origin.Topic, string(a.Key)} }

func (a *Attempt) is(e pathEntry) bool {
	return e.partition == a.Origin.Partition && e.offset == a.Origin.Offset
}

// Parking reports whether any key has records in the retry path, i.e.
// whether Park can park anything: a cheap check before Park, whose caller
// then needs the time only when it can.
func (r *Router) Parking() bool { return r.keyOrdered && r.keys.Load() > 0 }

// Park is called before the handler. If an earlier record of a's key is in
// the retry path, a must not overtake it: Park hands produce the record
// that sends a (parked) to the tier that record waits in and reports true.
func (r *Router) Park(a *Attempt, now time.Time, produce func(*kgo.Record)) bool {
	if !r.keyOrdered || r.keys.Load() == 0 {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	k := a.pathKey()
	path := r.paths[k]
	if len(path) == 0 {
		return false
	}
	if a.Tier < 0 {
		tier := path[len(path)-1].tier
		r.paths[k] = append(path, pathEntry{a.Origin.Partition, a.Origin.Offset, tier})
		produce(r.retryRecord(a, tier, a.Attempts, nil, "", true, now))
		return true
	}
	if a.is(path[0]) {
		return false // the head: run it
	}
	head := path[0].tier
	for i := range path {
		if a.is(path[i]) {
			path[i].tier = head
		}
	}
	produce(r.retryRecord(a, head, a.Attempts, nil, "", a.Parked, now))
	return true
}

// Failed routes a failed attempt: to its next retry tier if retryable and
// tiers are left, else to the dead-letter topic. It hands produce the
// record and returns the tier (-1: dead-lettered). class names the failure
// in the headers.
func (r *Router) Failed(a *Attempt, cause error, class string, retryable bool, now time.Time, produce func(*kgo.Record)) int {
	attempts := a.Attempts + 1
	tier := -1
	if retryable && attempts <= r.routes.Tiers() {
		tier = attempts - 1
	}
	var out *kgo.Record
	if tier >= 0 {
		out = r.retryRecord(a, tier, attempts, cause, class, false, now)
	} else {
		out = r.deadLetterRecord(a, attempts, cause, class, now)
	}
	if !r.keyOrdered {
		produce(out)
		return tier
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	k := a.pathKey()
	path := r.paths[k]
	i := 0
	for i < len(path) && !a.is(path[i]) {
		i++
	}
	switch {
	case tier >= 0 && i < len(path):
		path[i].tier = tier
	case tier >= 0:
		if len(path) == 0 {
			r.keys.Add(1)
		}
		r.paths[k] = append(path, pathEntry{a.Origin.Partition, a.Origin.Offset, tier})
	case i < len(path):
		r.removeLocked(k, i)
	}
	produce(out)
	return tier
}

// Succeeded removes a record read from a retry tier from its key's path,
// once its outputs were handed to the producer: later records of the key
// may go.
func (r *Router) Succeeded(a *Attempt) {
	if !r.keyOrdered || a.Tier < 0 || r.keys.Load() == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	k := a.pathKey()
	for i, e := range r.paths[k] {
		if a.is(e) {
			r.removeLocked(k, i)
			return
		}
	}
}

func (r *Router) removeLocked(k pathKey, i int) {
	path := r.paths[k]
	path = append(path[:i], path[i+1:]...)
	if len(path) == 0 {
		delete(r.paths, k)
		r.keys.Add(-1)
		return
	}
	r.paths[k] = path
}

// Forget drops the path bookkeeping after a rebalance: records whose
// partitions moved are another instance's now, and an entry that can never
// leave would park its key forever.
func (r *Router) Forget() {
	r.mu.Lock()
	defer r.mu.Unlock()
	clear(r.paths)
	r.keys.Store(0)
}

// Keys returns how many keys have records in the retry path (for tests).
func (r *Router) Keys() int { return int(r.keys.Load()) }

// retryRecord builds the record that sends a to tier. parked marks a record
// that did not fail but follows an earlier one of its key.
func (r *Router) retryRecord(a *Attempt, tier, attempts int, cause error, class string, parked bool, now time.Time) *kgo.Record {
	f := r.failureOf(a, attempts, cause, class, now)
	f.Due = now.Add(r.delays[tier])
	f.Parked = parked
	hs := failure.AppendHeaders(append([]kgo.RecordHeader(nil), a.Headers...), &f, true)
	return &kgo.Record{Topic: r.routes.tiers[a.Input][tier], Key: a.Key, Value: a.Value, Headers: hs}
}

// deadLetterRecord builds the record that sends a to its dead-letter topic.
func (r *Router) deadLetterRecord(a *Attempt, attempts int, cause error, class string, now time.Time) *kgo.Record {
	f := r.failureOf(a, attempts, cause, class, now)
	hs := append([]kgo.RecordHeader(nil), a.Headers...)
	if r.connect {
		hs = failure.AppendConnectHeaders(hs, &f)
	} else {
		hs = failure.AppendHeaders(hs, &f, false)
	}
	return &kgo.Record{Topic: r.routes.dlq[a.Input], Key: a.Key, Value: a.Value, Headers: hs}
}

func (r *Router) failureOf(a *Attempt, attempts int, cause error, class string, now time.Time) failure.Failure {
	first := a.FirstFailure
	if first.IsZero() {
		first = now
	}
	msg := ""
	if cause != nil {
		msg = cause.Error()
	}
	return failure.Failure{
		Attempts:     a.ReplayAttempts + attempts,
		Class:        class,
		Error:        msg,
		FirstFailure: first,
		LastFailure:  now,
		Origin:       a.Origin,
		Processor:    r.processor,
	}
}
