package order

import (
	"fmt"
	"time"
)

// FieldError reports a native map whose field is missing or of the wrong Go
// type: the map did not come from the schema the conversion expects.
type FieldError struct {
	Field string // dotted path, e.g. "lines[2].quantity"
	Want  string // the Go type or values expected
	Got   any    // the value found; nil when the field is missing
}

func (e *FieldError) Error() string {
	if e.Got == nil {
		return fmt.Sprintf("field %s: missing, want %s", e.Field, e.Want)
	}
	return fmt.Sprintf("field %s: want %s, got %T (%v)", e.Field, e.Want, e.Got, e.Got)
}

// PlacedFromNative converts a decoded OrderPlaced.
func PlacedFromNative(m map[string]any) (Placed, error) {
	r := reader{m: m}
	p := r.placed()
	if r.err != nil {
		return Placed{}, fmt.Errorf("%s: %w", p.Schema(), r.err)
	}
	return p, nil
}

// placed reads the fields OrderPlaced and OrderValidated share.
func (r *reader) placed() Placed {
	return Placed{
		OrderID:         r.str("order_id"),
		CustomerID:      r.str("customer_id"),
		PlacedAt:        r.time("placed_at"),
		Currency:        r.str("currency"),
		Lines:           r.lines("lines"),
		TotalCents:      r.long("total_cents"),
		ShippingCountry: r.str("shipping_country"),
		Channel:         r.str("channel"),
	}
}

// Native returns p as the native map the OrderPlaced schema encodes.
func (p Placed) Native() map[string]any {
	return map[string]any{
		"order_id":         p.OrderID,
		"customer_id":      p.CustomerID,
		"placed_at":        p.PlacedAt,
		"currency":         p.Currency,
		"lines":            linesNative(p.Lines),
		"total_cents":      p.TotalCents,
		"shipping_country": p.ShippingCountry,
		"channel":          p.Channel,
	}
}

// ValidatedFromNative converts a decoded OrderValidated.
func ValidatedFromNative(m map[string]any) (Validated, error) {
	r := reader{m: m}
	v := Validated{Placed: r.placed(), ValidatedAt: r.time("validated_at")}
	if r.err != nil {
		return Validated{}, fmt.Errorf("%s: %w", v.Schema(), r.err)
	}
	return v, nil
}

// Native returns v as the native map the OrderValidated schema encodes.
func (v Validated) Native() map[string]any {
	m := v.Placed.Native()
	m["validated_at"] = v.ValidatedAt
	return m
}

// ScoredFromNative converts a decoded OrderScored.
func ScoredFromNative(m map[string]any) (Scored, error) {
	r := reader{m: m}
	s := Scored{
		OrderID:         r.str("order_id"),
		CustomerID:      r.str("customer_id"),
		PlacedAt:        r.time("placed_at"),
		Currency:        r.str("currency"),
		TotalCents:      r.long("total_cents"),
		LineCount:       r.int("line_count"),
		ShippingCountry: r.str("shipping_country"),
		Channel:         r.str("channel"),
		RiskScore:       r.double("risk_score"),
		ModelVersion:    r.str("model_version"),
		ScoredAt:        r.time("scored_at"),
	}
	if r.err != nil {
		return Scored{}, fmt.Errorf("%s: %w", s.Schema(), r.err)
	}
	return s, nil
}

// Native returns s as the native map the OrderScored schema encodes.
func (s Scored) Native() map[string]any {
	return map[string]any{
		"order_id":         s.OrderID,
		"customer_id":      s.CustomerID,
		"placed_at":        s.PlacedAt,
		"currency":         s.Currency,
		"total_cents":      s.TotalCents,
		"line_count":       s.LineCount,
		"shipping_country": s.ShippingCountry,
		"channel":          s.Channel,
		"risk_score":       s.RiskScore,
		"model_version":    s.ModelVersion,
		"scored_at":        s.ScoredAt,
	}
}

// DecidedFromNative converts a decoded OrderDecided.
func DecidedFromNative(m map[string]any) (Decided, error) {
	r := reader{m: m}
	d := Decided{
		OrderID:    r.str("order_id"),
		CustomerID: r.str("customer_id"),
		Decision:   Decision(r.enum("decision", string(DecisionConfirmed), string(DecisionRejected))),
		Reason:     r.optStr("reason"),
		Stage:      r.str("stage"),
		RiskScore:  r.optDouble("risk_score"),
		TotalCents: r.long("total_cents"),
		Currency:   r.str("currency"),
		PlacedAt:   r.time("placed_at"),
		DecidedAt:  r.time("decided_at"),
	}
	if r.err != nil {
		return Decided{}, fmt.Errorf("%s: %w", d.Schema(), r.err)
	}
	return d, nil
}

// Native returns d as the native map the OrderDecided schema encodes.
func (d Decided) Native() map[string]any {
	var risk any // Avro null
	if d.RiskScore != nil {
		risk = map[string]any{"double": *d.RiskScore}
	}
	return map[string]any{
		"order_id":    d.OrderID,
		"customer_id": d.CustomerID,
		"decision":    string(d.Decision),
		"reason":      optStrNative(d.Reason),
		"stage":       d.Stage,
		"risk_score":  risk,
		"total_cents": d.TotalCents,
		"currency":    d.Currency,
		"placed_at":   d.PlacedAt,
		"decided_at":  d.DecidedAt,
	}
}

// StatusFromNative converts a decoded OrderStatus.
func StatusFromNative(m map[string]any) (Status, error) {
	r := reader{m: m}
	s := Status{
		OrderID: r.str("order_id"),
		State: State(r.enum("status", string(StateAccepted), string(StateValidated),
			string(StateScored), string(StateConfirmed), string(StateRejected))),
		Reason:    r.optStr("reason"),
		Stage:     r.str("stage"),
		ChangedAt: r.time("changed_at"),
		Rank:      r.int("rank"),
	}
	if r.err != nil {
		return Status{}, fmt.Errorf("%s: %w", s.Schema(), r.err)
	}
	return s, nil
}

// Native returns s as the native map the OrderStatus schema encodes.
func (s Status) Native() map[string]any {
	return map[string]any{
		"order_id":   s.OrderID,
		"status":     string(s.State),
		"reason":     optStrNative(s.Reason),
		"stage":      s.Stage,
		"changed_at": s.ChangedAt,
		"rank":       s.Rank,
	}
}

func linesNative(lines []Line) []any {
	out := make([]any, len(lines))
	for i, l := range lines {
		out[i] = map[string]any{
			"sku":              l.SKU,
			"quantity":         l.Quantity,
			"unit_price_cents": l.UnitPriceCents,
		}
	}
	return out
}

// optStrNative encodes an optional string as the ["null","string"] union:
// the empty string is null, which is what readers of the schema expect for
// "no reason".
func optStrNative(s string) any {
	if s == "" {
		return nil
	}
	return map[string]any{"string": s}
}

// reader pulls typed fields out of a goavro native map and remembers the
// first failure, so a conversion reads as a list of fields rather than a
// ladder of error checks.
type reader struct {
	m      map[string]any
	prefix string // for nested records, e.g. "lines[2]."
	err    error
}

// get returns the field's value, or ok=false after recording a FieldError.
func get[T any](r *reader, field, want string) (v T, ok bool) {
	if r.err != nil {
		return v, false
	}
	raw, present := r.m[field]
	if v, ok = raw.(T); !ok {
		if !present {
			raw = nil
		}
		r.err = &FieldError{Field: r.prefix + field, Want: want, Got: raw}
	}
	return v, ok
}

func (r *reader) str(field string) string {
	v, _ := get[string](r, field, "string")
	return v
}

func (r *reader) int(field string) int32 {
	v, _ := get[int32](r, field, "int32 (Avro int)")
	return v
}

func (r *reader) long(field string) int64 {
	v, _ := get[int64](r, field, "int64 (Avro long)")
	return v
}

func (r *reader) double(field string) float64 {
	v, _ := get[float64](r, field, "float64 (Avro double)")
	return v
}

func (r *reader) time(field string) time.Time {
	v, _ := get[time.Time](r, field, "time.Time (Avro timestamp-millis)")
	return v
}

func (r *reader) enum(field string, symbols ...string) string {
	v, ok := get[string](r, field, fmt.Sprintf("one of %v", symbols))
	if !ok {
		return ""
	}
	for _, s := range symbols {
		if v == s {
			return v
		}
	}
	r.err = &FieldError{Field: r.prefix + field, Want: fmt.Sprintf("one of %v", symbols), Got: v}
	return ""
}

// optStr reads a ["null","string"] union; null reads as "".
func (r *reader) optStr(field string) string {
	v, ok := r.union(field, "string", `nil or map[string]any{"string": string}`)
	if !ok || v == nil {
		return ""
	}
	s, ok := v.(string)
	if !ok {
		r.err = &FieldError{Field: r.prefix + field, Want: "string in union", Got: v}
	}
	return s
}

// optDouble reads a ["null","double"] union; null reads as nil.
func (r *reader) optDouble(field string) *float64 {
	v, ok := r.union(field, "double", `nil or map[string]any{"double": float64}`)
	if !ok || v == nil {
		return nil
	}
	f, ok := v.(float64)
	if !ok {
		r.err = &FieldError{Field: r.prefix + field, Want: "float64 in union", Got: v}
		return nil
	}
	return &f
}

// union reads a ["null", branch] union the way goavro decodes it: nil, or a
// one-entry map from the branch name to the value.
func (r *reader) union(field, branch, want string) (any, bool) {
	if r.err != nil {
		return nil, false
	}
	raw, present := r.m[field]
	if !present {
		r.err = &FieldError{Field: r.prefix + field, Want: want}
		return nil, false
	}
	if raw == nil {
		return nil, true
	}
	if m, ok := raw.(map[string]any); ok && len(m) == 1 {
		if v, ok := m[branch]; ok {
			return v, true
		}
	}
	r.err = &FieldError{Field: r.prefix + field, Want: want, Got: raw}
	return nil, false
}

func (r *reader) lines(field string) []Line {
	items, ok := get[[]any](r, field, "[]any (Avro array of OrderLine)")
	if !ok {
		return nil
	}
	lines := make([]Line, len(items))
	for i, item := range items {
		m, ok := item.(map[string]any)
		if !ok {
			r.err = &FieldError{Field: fmt.Sprintf("%s%s[%d]", r.prefix, field, i), Want: "map[string]any (Avro record OrderLine)", Got: item}
			return nil
		}
		lr := reader{m: m, prefix: fmt.Sprintf("%s%s[%d].", r.prefix, field, i)}
		lines[i] = Line{
			SKU:            lr.str("sku"),
			Quantity:       lr.int("quantity"),
			UnitPriceCents: lr.long("unit_price_cents"),
		}
		if lr.err != nil {
			r.err = lr.err
			return nil
		}
	}
	return lines
}
