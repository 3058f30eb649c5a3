package pipeline

// Headers Sluice adds to retry and dead-letter records. The original key,
// value and headers are kept unchanged; these are added (replacing any
// sluice.* headers of an earlier attempt). Times are RFC 3339 with
// nanoseconds, in UTC.
const (
	// HeaderAttempts is how many times the handler failed on the record
	// (decimal).
	HeaderAttempts = "sluice.attempts"
	// HeaderErrorClass is poison, retryable, permanent or panic.
	HeaderErrorClass = "sluice.error.class"
	// HeaderError is the last error's message.
	HeaderError = "sluice.error"
	// HeaderFirstFailure and HeaderLastFailure are when the handler failed
	// first and last.
	HeaderFirstFailure = "sluice.failure.first"
	HeaderLastFailure  = "sluice.failure.last"
	// HeaderOriginTopic, HeaderOriginPartition, HeaderOriginOffset and
	// HeaderOriginTimestamp locate the record in the topic it first came
	// from (the timestamp in RFC 3339).
	HeaderOriginTopic     = "sluice.origin.topic"
	HeaderOriginPartition = "sluice.origin.partition"
	HeaderOriginOffset    = "sluice.origin.offset"
	HeaderOriginTimestamp = "sluice.origin.timestamp"
	// HeaderProcessor is the name of the processor that routed the record.
	HeaderProcessor = "sluice.processor"
	// HeaderDue, on retry records only, is when the record may be
	// processed again (RFC 3339).
	HeaderDue = "sluice.due"
	// HeaderParked, on retry records only, is "true" for a record that did
	// not fail itself but was parked behind an earlier record with the same
	// key that is being retried, to keep the key's order.
	HeaderParked = "sluice.parked"
	// HeaderReplayed is set by the dlq tool on records it replays: the DLQ
	// topic, partition and offset the record was replayed from.
	HeaderReplayed = "sluice.replayed.from"
)

// Kafka Connect's dead-letter header names, written instead of the sluice.*
// error headers with the ConnectHeaders option so tools built for Connect's
// DLQs can read Sluice's.
const (
	ConnectHeaderTopic            = "__connect.errors.topic"
	ConnectHeaderPartition        = "__connect.errors.partition"
	ConnectHeaderOffset           = "__connect.errors.offset"
	ConnectHeaderConnectorName    = "__connect.errors.connector.name"
	ConnectHeaderTaskID           = "__connect.errors.task.id"
	ConnectHeaderStage            = "__connect.errors.stage"
	ConnectHeaderClassName        = "__connect.errors.class.name"
	ConnectHeaderExceptionMessage = "__connect.errors.exception.message"
	ConnectHeaderStackTrace       = "__connect.errors.exception.stacktrace"
)
