// Package pipeline is Sluice's processor runtime: a Processor consumes input
// topics in a consumer group, runs a Handler on every record on a pool of
// workers (beyond the partition count, keeping per-key order), produces the
// handler's outputs and commits an offset only once the records before it
// are fully processed. Failed records go down a failure path of retry tiers
// and a dead-letter topic instead of stalling the partition.
//
// # The life of a record
//
// Each step is one file, and calls run one way, from Run down:
//
//  1. processor.go: New validates the options (validate.go) and wraps the
//     handler in its middleware (recover.go, classify.go, the user's, then
//     timeout.go). Run checks the topics (topics.go), builds the parts
//     below and owns the shutdown sequence.
//  2. fetch.go, the fetcher, on Run's goroutine: polls at most as many
//     records as the in-flight caps leave room for (pausing fetching when
//     they stay reached), holds back retry-tier records that are not due
//     (internal/retry's Gates), starts each record in its partition's
//     offset window (internal/offsets, through ledger.go) and queues it by
//     ordering key (internal/schedule).
//  3. execute.go, the executor, on the worker goroutines: takes runnable
//     records (a record waits while an earlier one of its key runs), parks
//     it behind an earlier record of its key that waits in a retry tier,
//     runs the handler, and produces the outputs in order, each after the
//     previous one is acknowledged; a failed record gets its retry-tier or
//     dead-letter record from internal/retry's Router instead.
//  4. Settling: when the broker acknowledged a record's last output, the
//     task (task.go) finishes in the ledger (ledger.go), which marks its
//     offset done in the window; a record that cannot be finished (shutdown
//     cut it short, its output was refused) is abandoned there, unfinished.
//  5. commit.go, the committer: every CommitInterval, commits per partition
//     the window's watermark, the first offset not finished, so a commit
//     never passes an unfinished record.
//  6. rebalance.go: kgo's assignment callbacks, between polls: on revoke,
//     queued records of the partition are dropped, running ones are waited
//     for (RevokeTimeout), the partition is committed and forgotten.
//
// Exactly-once mode adds transact.go (a Kafka transaction per commit
// interval, ended on the fetcher's goroutine) and txngate.go (outputs are
// produced inside one transaction, each record claimed in the commit
// metadata before its outputs are). typed.go adapts a typed function (decode, handle, encode) to a
// Handler.
//
// The formats other tools read live in leaf packages: failure (retry and
// dead-letter headers and topic names) and offsetmeta (the finished offsets
// above the committed one, in the commit metadata). Connection settings are in
// kafkaconn; kafkatest starts brokers for tests; verify checks what came out
// against what went in.
//
// # Guarantees
//
// At-least-once by default: a crash, a kill or a rebalance never loses a
// record; records not recorded as finished by the last commit may be
// processed again. ExactlyOnce: every output is visible once to
// read_committed readers. Outputs carry the input record's timestamp.
package pipeline
