// Package deadletter reads, replays and purges Sluice's dead-letter topics:
// the logic of the dlq command, usable from tests and other tools.
//
// # Topics
//
// A processor whose handler gives up on a record of input topic "orders"
// writes it to "orders.dlq" ([Topic]); records waiting to be retried go to
// retry tiers "orders.retry.5s", "orders.retry.5m" ([failure.RetryTopic]).
//
// # Record format
//
// A dead-letter record keeps the original record's key and value bytes and
// its headers unchanged, and adds error headers (values are UTF-8 text;
// times RFC 3339 in UTC with nanoseconds):
//
//	sluice.attempts          how many times the handler failed (decimal)
//	sluice.error.class       poison, retryable, permanent or panic
//	sluice.error             the last error's message
//	sluice.failure.first     when the handler first failed
//	sluice.failure.last      when it last failed
//	sluice.origin.topic      where the record first came from
//	sluice.origin.partition
//	sluice.origin.offset
//	sluice.origin.timestamp  the original record's timestamp
//	sluice.processor         the processor that routed it
//	sluice.due               retry tiers only: when it may run again
//	sluice.parked            retry tiers only: "true" when parked behind
//	                         an earlier failing record of the same key
//	sluice.replayed.from     set by a replay: <dlq topic>/<partition>/<offset>
//
// With the runtime's failure.ConnectHeaders option the error headers are Kafka
// Connect's instead (__connect.errors.topic, .partition, .offset,
// .class.name, .exception.message, .exception.stacktrace, .connector.name,
// .task.id, .stage). [Parse] understands both, and so topics written by
// Kafka Connect can be read and replayed too.
//
// # Jobs
//
// [Open] a [Queue], then:
//   - [Queue.Read] reads from the start to the end offsets seen at the
//     start, without a consumer group, and hands over the records a
//     [Filter] matches; [ListWriter], [WriteDetail] and [WriteJSON] print
//     them.
//   - [Queue.Replay] sends records back to their origin topic or its first
//     retry tier, exactly once across reruns: each batch and its progress
//     commit in one transaction. Records that came back from an earlier
//     replay are left out unless [IncludeRefailed], so replays do not
//     loop. [Queue.PlanReplay] is its dry run.
//   - [Queue.Purge] deletes records before given offsets.
package deadletter
