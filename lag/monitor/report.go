package monitor

import (
	"time"

	"github.com/sluice-dev/sluice/lag/status"
	"github.com/sluice-dev/sluice/lag/timelag"
)

// Report is what the monitor knows at one moment: every watched group's
// lag and status and every topic's end offsets. It is a value: the
// monitor never changes a Report once published. Its JSON form is the
// dashboard's and `lagmon lag --from`'s API.
type Report struct {
	Time   time.Time `json:"time"`
	Groups []Group   `json:"groups"`
	Topics []Topic   `json:"topics"`
	// Err is the last read's error ("" when it went well). A partial
	// failure (one group could not be described) leaves the other groups
	// in the report; a total one leaves Groups and Topics empty.
	Err string `json:"error,omitempty"`
	// Reads and ReadErrors count the snapshots attempted and failed since
	// start.
	Reads      int64 `json:"reads"`
	ReadErrors int64 `json:"readErrors"`
	// ReadSeconds is how long the last snapshot took.
	ReadSeconds float64 `json:"readSeconds"`
}

// Group is one consumer group's lag and status.
type Group struct {
	Name    string         `json:"name"`
	State   string         `json:"state"`
	Members []Member       `json:"members"`
	Verdict status.Verdict `json:"verdict"`
	// Lag is the sum of the partitions' lag in records.
	Lag int64 `json:"lag"`
	// MaxSeconds is the largest lag in seconds over the partitions; unknown
	// when any partition that is behind has an unknown estimate (AtLeast is
	// then the largest lower bound).
	MaxSeconds timelag.Estimate `json:"maxSeconds"`
	// ConsumeRate is records per second that the group committed past,
	// over the rate window.
	ConsumeRate float64      `json:"consumeRate"`
	Topics      []GroupTopic `json:"topics"`
}

// Member is an active member and how many partitions it owns.
type Member struct {
	ID         string   `json:"id"`
	ClientID   string   `json:"clientId"`
	Host       string   `json:"host"`
	Partitions int      `json:"partitions"`
	Assigned   []string `json:"assigned"` // "topic/partition", sorted
}

// GroupTopic is a group's lag on one topic, with the topic's retry and
// dead-letter traffic (topics named <topic>.retry.<delay> and <topic>.dlq).
type GroupTopic struct {
	Topic       string           `json:"topic"`
	Lag         int64            `json:"lag"`
	Committed   int64            `json:"committed"` // sum over partitions
	MaxSeconds  timelag.Estimate `json:"maxSeconds"`
	ConsumeRate float64          `json:"consumeRate"`
	ProduceRate float64          `json:"produceRate"`
	// Retried and DeadLettered are the records ever written to the topic's
	// retry topics and DLQ (the sum of their end offsets); the rates are
	// per second over the rate window.
	Retried      int64       `json:"retried"`
	DeadLettered int64       `json:"deadLettered"`
	RetryRate    float64     `json:"retryRate"`
	DLQRate      float64     `json:"dlqRate"`
	Partitions   []Partition `json:"partitions"`
}

// Partition is a group's position on one partition.
type Partition struct {
	Partition int32 `json:"partition"`
	// Committed is the group's committed offset, -1 when the partition is
	// assigned but nothing was committed yet (lag then is not known and is
	// reported as 0 with Note saying so).
	Committed int64 `json:"committed"`
	End       int64 `json:"end"`
	// Lag is End - Committed, never negative.
	Lag     int64            `json:"lag"`
	Seconds timelag.Estimate `json:"seconds"`
	// Note explains an adjusted number: a lag clamped to 0 because the
	// committed offset was ahead of the end offset read, or no commit yet.
	Note string `json:"note,omitempty"`
	// Owner, Host and MemberID are the client ID, host and member ID of
	// the member it is assigned to, "" when unassigned.
	Owner    string `json:"owner,omitempty"`
	Host     string `json:"host,omitempty"`
	MemberID string `json:"memberId,omitempty"`
}

// HasCommit reports whether the group committed an offset here.
func (p Partition) HasCommit() bool { return p.Committed >= 0 }

// Topic is a topic's end offsets and produce rate.
type Topic struct {
	Name        string         `json:"name"`
	Ends        []PartitionEnd `json:"ends"`
	End         int64          `json:"end"` // sum over partitions
	ProduceRate float64        `json:"produceRate"`
}

// PartitionEnd is one partition's log end offset.
type PartitionEnd struct {
	Partition int32 `json:"partition"`
	End       int64 `json:"end"`
}
