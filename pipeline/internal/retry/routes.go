// Package retry holds the processor's failure path: which retry tier or
// dead-letter topic a failed record goes to (Routes), the records that carry
// it there (Router), the key-ordered bookkeeping that keeps later records of
// a key behind an earlier one in the retry path (Router), and the gates that
// hold back a retry partition until its next record is due (Gates).
//
// The runtime tells it what happened to a record; it answers with the
// record to produce. It never produces or commits by itself, and it knows
// nothing of workers or offsets, so the runtime's parts call into it and
// never the other way round.
package retry

import (
	"time"

	"github.com/sluice-dev/sluice/pipeline/failure"
)

// Tier tells, for a retry topic, which input and tier it belongs to.
type Tier struct {
	Input string
	Index int
}

// Routes are the retry and dead-letter topics of a processor, derived once
// from its configuration.
type Routes struct {
	inputs []string
	delays []time.Duration
	tiers  map[string][]string // input → its retry topics, by tier
	of     map[string]Tier     // retry topic → input and tier
	dlq    map[string]string   // input → dead-letter topic
}

// NewRoutes returns the routes of inputs with the given tier delays. dlq ""
// means each input's default dead-letter topic (failure.DeadLetterTopic).
func NewRoutes(inputs []string, delays []time.Duration, dlq string) *Routes {
	r := &Routes{inputs: inputs, delays: delays, tiers: map[string][]string{}, of: map[string]Tier{}, dlq: map[string]string{}}
	for _, in := range inputs {
		for i, d := range delays {
			t := failure.RetryTopic(in, d)
			r.tiers[in] = append(r.tiers[in], t)
			r.of[t] = Tier{in, i}
		}
		r.dlq[in] = failure.DeadLetterTopic(in)
		if dlq != "" {
			r.dlq[in] = dlq
		}
	}
	return r
}

// Consumed returns the inputs and their retry topics: what the processor
// subscribes to.
func (r *Routes) Consumed() []string {
	out := append([]string(nil), r.inputs...)
	for _, in := range r.inputs {
		out = append(out, r.tiers[in]...)
	}
	return out
}

// TierOf reports which input and tier topic is a retry topic of.
func (r *Routes) TierOf(topic string) (Tier, bool) {
	t, ok := r.of[topic]
	return t, ok
}

// Outputs returns the topics failed records of input may be sent to: its
// dead-letter topic first, then its retry tiers in order.
func (r *Routes) Outputs(input string) []string {
	return append([]string{r.dlq[input]}, r.tiers[input]...)
}

// Tiers returns how many retry tiers each input has.
func (r *Routes) Tiers() int { return len(r.delays) }
