package deadletter

// Header names of retry and dead-letter records: the pipeline runtime
// writes them (this package is the one definition of the format), this
// package's tools read them. The original key, value and headers are kept
// unchanged; these are added, replacing any sluice.* headers of an earlier
// attempt. Values are UTF-8 text: counts in decimal, times in RFC 3339
// (UTC, nanoseconds).
const (
	HeaderAttempts        = "sluice.attempts"
	HeaderErrorClass      = "sluice.error.class"
	HeaderError           = "sluice.error"
	HeaderFirstFailure    = "sluice.failure.first"
	HeaderLastFailure     = "sluice.failure.last"
	HeaderOriginTopic     = "sluice.origin.topic"
	HeaderOriginPartition = "sluice.origin.partition"
	HeaderOriginOffset    = "sluice.origin.offset"
	HeaderOriginTimestamp = "sluice.origin.timestamp"
	HeaderProcessor       = "sluice.processor"
	HeaderDue             = "sluice.due"
	HeaderParked          = "sluice.parked"
	// HeaderReplayed is what [Queue.Replay] adds to every record it sends:
	// "<dlq topic>/<partition>/<offset>" of the dead-letter record.
	HeaderReplayed = "sluice.replayed.from"
)

// Kafka Connect's dead-letter header names (errors.deadletterqueue.context.
// headers.enable=true), which the runtime writes instead of the sluice.*
// error headers with its ConnectHeaders option. Every value is a string.
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

// Prefixes of the error headers that a replay removes: every header whose
// key starts with one of them, not only the names above, so headers the
// runtime adds later are removed too.
const (
	sluicePrefix  = "sluice."
	connectPrefix = "__connect.errors."
)
