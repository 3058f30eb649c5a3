package order

import (
	"time"

	"github.com/sluice-dev/sluice/schemas"
)

// Default topic names. Each processor's Topics falls back to these when a
// field is left empty, so a zero-config deployment wires up on its own.
const (
	TopicPlaced    = "orders"
	TopicValidated = "orders.validated"
	TopicScored    = "orders.scored"
	TopicDecided   = "orders.decided"
	TopicStatus    = "order-status"
)

// Line is one line of an order: a quantity of one SKU at a unit price.
type Line struct {
	SKU            string
	Quantity       int32
	UnitPriceCents int64
}

// Placed is an order as the storefront hands it over (OrderPlaced). Nothing
// in it has been checked yet; see package validate.
type Placed struct {
	OrderID         string
	CustomerID      string
	PlacedAt        time.Time
	Currency        string // ISO 4217 code
	Lines           []Line
	TotalCents      int64
	ShippingCountry string // ISO 3166-1 alpha-2
	Channel         string // web, mobile or api; v1 producers get "web"
}

// Validated is an order that passed the business rules, normalized: trimmed
// IDs, upper-case currency and country, lower-case channel (OrderValidated).
type Validated struct {
	Placed
	ValidatedAt time.Time
}

// Scored is a validated order with its fraud-risk score (OrderScored).
type Scored struct {
	OrderID         string
	CustomerID      string
	PlacedAt        time.Time
	Currency        string
	TotalCents      int64
	LineCount       int32
	ShippingCountry string
	Channel         string
	RiskScore       float64 // 0 (safe) to 1 (certain fraud)
	ModelVersion    string
	ScoredAt        time.Time
}

// Decision is the final outcome of an order.
type Decision string

// The decisions an OrderDecided carries.
const (
	DecisionConfirmed Decision = "CONFIRMED"
	DecisionRejected  Decision = "REJECTED"
)

// Decided is the final outcome of an order (OrderDecided). Every order ends
// with exactly one: validate writes business-rule rejections, decide the rest.
type Decided struct {
	OrderID    string
	CustomerID string
	Decision   Decision
	Reason     string   // empty when there is nothing to explain (Avro null)
	Stage      string   // the processor that decided: validate or decide
	RiskScore  *float64 // nil when the order was rejected before scoring
	TotalCents int64
	Currency   string
	PlacedAt   time.Time
	DecidedAt  time.Time
}

// State is where an order stands in the pipeline.
type State string

// The states an OrderStatus carries, in pipeline order. Confirmed and
// Rejected are final.
const (
	StateAccepted  State = "ACCEPTED"
	StateValidated State = "VALIDATED"
	StateScored    State = "SCORED"
	StateConfirmed State = "CONFIRMED"
	StateRejected  State = "REJECTED"
)

// Rank is where a state stands in the pipeline, for ordering an order's
// statuses: a status of lower rank than one already seen for the order is
// stale (a stage that redid the order after a crash wrote it) and must not
// replace it. CONFIRMED and REJECTED are final and share the top rank,
// whichever stage writes them. 0 is no state this package knows.
func (s State) Rank() int32 {
	switch s {
	case StateAccepted:
		return RankAccepted
	case StateValidated:
		return RankValidated
	case StateScored:
		return RankScored
	case StateConfirmed, StateRejected:
		return RankFinal
	}
	return 0
}

// The ranks of the states, in pipeline order.
const (
	RankAccepted  int32 = 1
	RankValidated int32 = 2
	RankScored    int32 = 3
	RankFinal     int32 = 4 // CONFIRMED or REJECTED
)

// Status is the current status of an order (OrderStatus), the value of the
// compacted order-status topic.
type Status struct {
	OrderID   string
	State     State
	Reason    string // empty when there is nothing to explain (Avro null)
	Stage     string // the processor that set the state
	ChangedAt time.Time
	// Rank orders the order's statuses (see State.Rank); writers set it to
	// State.Rank(). 0 means not stated: records written with OrderStatus v1
	// read so, and EffectiveRank then takes the state's rank.
	Rank int32
}

// EffectiveRank is the rank to order s by: Rank, or the rank of its state
// when the writer did not state one (OrderStatus v1, Rank 0).
func (s Status) EffectiveRank() int32 {
	if s.Rank != 0 {
		return s.Rank
	}
	return s.State.Rank()
}

// Schema names the Avro schema a Placed is encoded with.
func (Placed) Schema() string { return schemas.OrderPlaced }

// Schema names the Avro schema a Validated is encoded with.
func (Validated) Schema() string { return schemas.OrderValidated }

// Schema names the Avro schema a Scored is encoded with.
func (Scored) Schema() string { return schemas.OrderScored }

// Schema names the Avro schema a Decided is encoded with.
func (Decided) Schema() string { return schemas.OrderDecided }

// Schema names the Avro schema a Status is encoded with.
func (Status) Schema() string { return schemas.OrderStatus }

// Key returns the record key for the order: its ID. See the package doc.
func (p Placed) Key() []byte { return Key(p.OrderID) }

// Key returns the record key for the order: its ID.
func (v Validated) Key() []byte { return Key(v.OrderID) }

// Key returns the record key for the order: its ID.
func (s Scored) Key() []byte { return Key(s.OrderID) }

// Key returns the record key for the order: its ID.
func (d Decided) Key() []byte { return Key(d.OrderID) }

// Key returns the record key for the order: its ID.
func (s Status) Key() []byte { return Key(s.OrderID) }

// Key returns the record key of every event about the order with this ID.
func Key(orderID string) []byte { return []byte(orderID) }
