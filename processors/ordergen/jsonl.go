package ordergen

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sluice-dev/sluice/processors/order"
)

// jsonOrder is the JSON Lines shape; see MarshalJSONL.
type jsonOrder struct {
	OrderID         string     `json:"order_id"`
	CustomerID      string     `json:"customer_id"`
	PlacedAt        string     `json:"placed_at"`
	Currency        string     `json:"currency"`
	Lines           []jsonLine `json:"lines"`
	TotalCents      int64      `json:"total_cents"`
	ShippingCountry string     `json:"shipping_country"`
	Channel         string     `json:"channel"`
}

type jsonLine struct {
	SKU            string `json:"sku"`
	Quantity       int32  `json:"quantity"`
	UnitPriceCents int64  `json:"unit_price_cents"`
}

// jsonOrderIn is jsonOrder as read: pointers tell a missing field from a
// zero one.
type jsonOrderIn struct {
	OrderID         *string       `json:"order_id"`
	CustomerID      *string       `json:"customer_id"`
	PlacedAt        *string       `json:"placed_at"`
	Currency        *string       `json:"currency"`
	Lines           *[]jsonLineIn `json:"lines"`
	TotalCents      *int64        `json:"total_cents"`
	ShippingCountry *string       `json:"shipping_country"`
	Channel         *string       `json:"channel"`
}

type jsonLineIn struct {
	SKU            *string `json:"sku"`
	Quantity       *int32  `json:"quantity"`
	UnitPriceCents *int64  `json:"unit_price_cents"`
}

// rfc3339Millis is RFC 3339 with exactly three fractional digits.
const rfc3339Millis = "2006-01-02T15:04:05.000Z07:00"

// ErrMissingField means a JSON order lacks a required field; the error
// names it.
var ErrMissingField = errors.New("missing field")

// MarshalJSONL returns p as one line of JSON, without the trailing newline.
// The shape is the OrderPlaced Avro record's, with the same snake_case field
// names in schema order:
//
//	{"order_id":"o-42-1","customer_id":"c-00017","placed_at":"2026-03-02T08:00:00.000Z",
//	 "currency":"EUR","lines":[{"sku":"MUG-2001","quantity":2,"unit_price_cents":1199}],
//	 "total_cents":2398,"shipping_country":"DE","channel":"web"}
//
// (shown wrapped; a real line has no line breaks). placed_at is RFC 3339 in
// UTC with exactly three fractional digits, the millisecond precision of
// Avro's timestamp-millis; p.PlacedAt is truncated to it. Amounts are
// integers in minor units (yen for JPY). The output is stable: the same
// order always gives the same bytes.
func MarshalJSONL(p order.Placed) ([]byte, error) {
	j := jsonOrder{
		OrderID:         p.OrderID,
		CustomerID:      p.CustomerID,
		PlacedAt:        p.PlacedAt.UTC().Truncate(time.Millisecond).Format(rfc3339Millis),
		Currency:        p.Currency,
		Lines:           make([]jsonLine, len(p.Lines)),
		TotalCents:      p.TotalCents,
		ShippingCountry: p.ShippingCountry,
		Channel:         p.Channel,
	}
	for i, l := range p.Lines {
		j.Lines[i] = jsonLine(l)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(j); err != nil {
		return nil, fmt.Errorf("marshal order %q: %w", p.OrderID, err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// ParseJSONL parses one line in MarshalJSONL's shape, written by it or by
// hand; surrounding white space (the newline) is ignored. placed_at may be
// any RFC 3339 time and comes back in UTC.
//
// Every field is required except channel, which defaults to "web" as in the
// Avro schema; a missing one is an error wrapping ErrMissingField that names
// it. Unknown fields are refused, so a typo in a name is an error rather
// than a silently empty value. Values are not checked: an order with a
// negative quantity parses, and package validate rejects it, which is what
// test data for the validate stage needs.
func ParseJSONL(line []byte) (order.Placed, error) {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	var j jsonOrderIn
	if err := dec.Decode(&j); err != nil {
		return order.Placed{}, fmt.Errorf("parse order: %w", err)
	}
	if dec.More() {
		return order.Placed{}, errors.New("parse order: more than one JSON value on the line")
	}
	var missing []string
	need := func(ok bool, name string) {
		if !ok {
			missing = append(missing, name)
		}
	}
	need(j.OrderID != nil, "order_id")
	need(j.CustomerID != nil, "customer_id")
	need(j.PlacedAt != nil, "placed_at")
	need(j.Currency != nil, "currency")
	need(j.Lines != nil, "lines")
	need(j.TotalCents != nil, "total_cents")
	need(j.ShippingCountry != nil, "shipping_country")
	if j.Lines != nil {
		for i, l := range *j.Lines {
			need(l.SKU != nil, fmt.Sprintf("lines[%d].sku", i))
			need(l.Quantity != nil, fmt.Sprintf("lines[%d].quantity", i))
			need(l.UnitPriceCents != nil, fmt.Sprintf("lines[%d].unit_price_cents", i))
		}
	}
	if len(missing) > 0 {
		return order.Placed{}, fmt.Errorf("parse order: %w: %s", ErrMissingField, strings.Join(missing, ", "))
	}
	at, err := time.Parse(time.RFC3339Nano, *j.PlacedAt)
	if err != nil {
		return order.Placed{}, fmt.Errorf("parse order %q: placed_at: %w", *j.OrderID, err)
	}
	p := order.Placed{
		OrderID:         *j.OrderID,
		CustomerID:      *j.CustomerID,
		PlacedAt:        at.UTC(),
		Currency:        *j.Currency,
		Lines:           make([]order.Line, len(*j.Lines)),
		TotalCents:      *j.TotalCents,
		ShippingCountry: *j.ShippingCountry,
		Channel:         "web",
	}
	if j.Channel != nil {
		p.Channel = *j.Channel
	}
	for i, l := range *j.Lines {
		p.Lines[i] = order.Line{SKU: *l.SKU, Quantity: *l.Quantity, UnitPriceCents: *l.UnitPriceCents}
	}
	return p, nil
}
