// Package order holds the Go form of the order events that flow through
// Sluice (Placed, Validated, Scored, Decided and Status) and their conversion
// to and from the native maps the schemas package encodes as Avro.
//
// # Record keys
//
// Every order topic is keyed by the order ID, and To is the one place that
// builds a keyed record, so no stage can pick a different key. Kafka only
// orders records within a partition, and the order that matters here is that
// of one order's status transitions: VALIDATED must never overtake SCORED, and
// CONFIRMED must be the last word. Keying by order ID puts every event of an
// order in one partition and keeps them in sequence, while random-looking IDs
// spread orders evenly over partitions and so over consumer-group members.
// Keying by customer ID instead would hot-spot the partitions of large
// customers (a marketplace seller can place thousands of orders an hour) and
// serialize their unrelated orders behind one another for no benefit. Finally
// the order-status topic is compacted, and compaction keeps the latest record
// per key: the key must be exactly the thing the status belongs to, the order.
//
// # Stages and codecs
//
// A stage is a function from one decoded event to the Messages it writes
// (see processors/validate, score and decide); To addresses each. NewCodecs
// returns the codecs pipeline.Typed runs such a function with: one per
// event type for the input, and Codecs.Event, which encodes any event by its
// own schema, for the outputs.
//
// # Status ranks
//
// Every Status carries a rank (State.Rank), so that a reader can tell a
// stale status (a stage that redid an order after a crash) from a new one
// and never move an order back; see processors/status.
package order
