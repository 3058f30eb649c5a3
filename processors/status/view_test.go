package status

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/sluice-dev/sluice/processors/order"
	"github.com/sluice-dev/sluice/schemas"
)

var changed = time.Date(2026, 3, 4, 12, 30, 15, 123_000_000, time.UTC)

func newSerde(t *testing.T) *schemas.Serde {
	t.Helper()
	s, err := schemas.NewDefaultSerde()
	if err != nil {
		t.Fatalf("new serde: %v", err)
	}
	return s
}

func encode(t *testing.T, serde *schemas.Serde, s order.Status) []byte {
	t.Helper()
	b, err := order.Encode(context.Background(), serde, s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestApplyReplacesAndTombstoneDeletes(t *testing.T) {
	ctx := context.Background()
	serde := newSerde(t)
	v := NewView(serde)
	validated := order.Status{OrderID: "o-1", State: order.StateValidated, Stage: "validate", ChangedAt: changed}
	confirmed := order.Status{OrderID: "o-1", State: order.StateConfirmed, Stage: "decide", ChangedAt: changed.Add(-time.Hour)}

	steps := []struct {
		name   string
		value  []byte
		want   order.Status
		wantOK bool
	}{
		{"first status", encode(t, serde, validated), validated, true},
		// Log order wins even when the clock says otherwise.
		{"later record with older changed_at", encode(t, serde, confirmed), confirmed, true},
		{"tombstone", nil, order.Status{}, false},
		{"tombstone of unknown order", []byte{}, order.Status{}, false},
	}
	for _, step := range steps {
		if err := v.Apply(ctx, []byte("o-1"), step.value); err != nil {
			t.Fatalf("%s: Apply: %v", step.name, err)
		}
		got, ok := v.Get("o-1")
		if ok != step.wantOK || got != step.want {
			t.Fatalf("%s: Get = %+v, %v; want %+v, %v", step.name, got, ok, step.want, step.wantOK)
		}
	}
}

func TestApplyRefusesBadRecords(t *testing.T) {
	ctx := context.Background()
	serde := newSerde(t)
	v := NewView(serde)
	other := encode(t, serde, order.Status{OrderID: "o-2", State: order.StateScored, Stage: "score", ChangedAt: changed})

	if err := v.Apply(ctx, []byte("o-1"), other); !errors.Is(err, ErrKeyMismatch) {
		t.Fatalf("Apply with the wrong key: error %v, want ErrKeyMismatch", err)
	}
	if err := v.Apply(ctx, []byte("o-1"), []byte("not avro")); !errors.Is(err, schemas.ErrNotAvro) {
		t.Fatalf("Apply of garbage: error %v, want schemas.ErrNotAvro", err)
	}
	if v.Len() != 0 {
		t.Fatalf("view holds %d orders after refused records, want 0", v.Len())
	}
	if got := testutil.ToFloat64(v.invalid); got != 2 {
		t.Fatalf("%v refused records counted, want 2", got)
	}
}

func TestHTTP(t *testing.T) {
	ctx := context.Background()
	serde := newSerde(t)
	v := NewView(serde)
	rejected := order.Status{OrderID: "o-1", State: order.StateRejected, Reason: "fraud risk 0.91 >= 0.85", Stage: "decide", ChangedAt: changed}
	if err := v.Apply(ctx, []byte("o-1"), encode(t, serde, rejected)); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(NewHandler(v))
	t.Cleanup(srv.Close)

	get := func(path string) (int, map[string]any) {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
			t.Fatalf("GET %s: Content-Type %q, want application/json", path, ct)
		}
		var body map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			t.Fatalf("GET %s: decode body: %v", path, err)
		}
		return resp.StatusCode, body
	}

	if code, body := get("/orders/o-1"); code != http.StatusServiceUnavailable || body["error"] != "status view is still loading" {
		t.Fatalf("before ready: %d %v, want 503 still loading", code, body)
	}
	if code, _ := get("/healthz"); code != http.StatusOK {
		t.Fatalf("healthz before ready: %d, want 200", code)
	}
	if code, _ := get("/readyz"); code != http.StatusServiceUnavailable {
		t.Fatalf("readyz before ready: %d, want 503", code)
	}

	v.ready.Store(true)
	code, body := get("/orders/o-1")
	want := map[string]any{
		"order_id":   "o-1",
		"status":     "REJECTED",
		"reason":     "fraud risk 0.91 >= 0.85",
		"stage":      "decide",
		"changed_at": "2026-03-04T12:30:15.123Z",
	}
	if code != http.StatusOK || len(body) != len(want) {
		t.Fatalf("known order: %d %v, want 200 %v", code, body, want)
	}
	for k, w := range want {
		if body[k] != w {
			t.Fatalf("known order: %s = %v, want %v", k, body[k], w)
		}
	}

	code, body = get("/orders/nope")
	if code != http.StatusNotFound || body["error"] != `order "nope" not found` || body["hint"] == "" {
		t.Fatalf("unknown order: %d %v, want 404 with error and hint", code, body)
	}
	if code, _ := get("/readyz"); code != http.StatusOK {
		t.Fatalf("readyz after ready: %d, want 200", code)
	}
}

func ranked(id string, state order.State, stage string) order.Status {
	return order.Status{OrderID: id, State: state, Stage: stage, ChangedAt: changed, Rank: state.Rank()}
}

// encodeV1 writes s as OrderStatus v1, without a rank, as binaries from
// before ranks did.
func encodeV1(t *testing.T, s order.Status) []byte {
	t.Helper()
	set, err := schemas.Load()
	if err != nil {
		t.Fatal(err)
	}
	v1 := set.Versions(schemas.OrderStatus)[0]
	native := s.Native()
	delete(native, "rank")
	b, err := v1.Codec.SingleFromNative(nil, native)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestViewNeverMovesAnOrderBack is the sequence a crash of score gives in
// at-least-once mode (issue 11): the restarted score redoes an order decide
// has confirmed. The view answers CONFIRMED from the first CONFIRMED on.
func TestViewNeverMovesAnOrderBack(t *testing.T) {
	ctx := context.Background()
	serde := newSerde(t)
	v := NewView(serde)
	reg := prometheus.NewPedanticRegistry()
	if err := v.RegisterMetrics(reg); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		in   order.Status
		want order.State
	}{
		{ranked("o-1", order.StateValidated, "validate"), order.StateValidated},
		{ranked("o-1", order.StateScored, "score"), order.StateScored},
		{ranked("o-1", order.StateConfirmed, "decide"), order.StateConfirmed},
		{ranked("o-1", order.StateScored, "score"), order.StateConfirmed},
		{ranked("o-1", order.StateConfirmed, "decide"), order.StateConfirmed},
	}
	for i, step := range steps {
		if err := v.Apply(ctx, []byte("o-1"), encode(t, serde, step.in)); err != nil {
			t.Fatalf("step %d: Apply: %v", i, err)
		}
		if got, _ := v.Get("o-1"); got.State != step.want {
			t.Fatalf("step %d (%s): view answers %s, want %s", i, step.in.State, got.State, step.want)
		}
	}
	want := `
# HELP sluice_status_records_ignored_total Records of the order-status topic the view did not apply: lower_rank would have moved an order back (a stage redid it), invalid did not decode or was keyed by another order.
# TYPE sluice_status_records_ignored_total counter
sluice_status_records_ignored_total{reason="invalid"} 0
sluice_status_records_ignored_total{reason="lower_rank"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "sluice_status_records_ignored_total"); err != nil {
		t.Fatal(err)
	}
}

func TestViewOrdersByRank(t *testing.T) {
	ctx := context.Background()
	serde := newSerde(t)
	v2 := func(s order.Status) []byte { return encode(t, serde, s) }
	v1 := func(s order.Status) []byte { return encodeV1(t, s) }
	rejected := ranked("o-1", order.StateRejected, "decide")
	rejected.Reason = "fraud risk 0.91 >= 0.85"
	tests := []struct {
		name        string
		records     [][]byte // for o-1, in log order; nil is a tombstone
		want        order.State
		wantIgnored float64
	}{
		{"equal rank replaces: a final decision made again shows",
			[][]byte{v2(ranked("o-1", order.StateConfirmed, "decide")), v2(rejected)}, order.StateRejected, 0},
		{"v1 records (no rank) are ranked by their state",
			[][]byte{v1(ranked("o-1", order.StateValidated, "validate")), v1(ranked("o-1", order.StateScored, "score")),
				v1(ranked("o-1", order.StateConfirmed, "decide")), v1(ranked("o-1", order.StateScored, "score"))}, order.StateConfirmed, 1},
		{"a v2 record below a v1 final is ignored",
			[][]byte{v1(ranked("o-1", order.StateConfirmed, "decide")), v2(ranked("o-1", order.StateScored, "score"))}, order.StateConfirmed, 1},
		{"a v1 record below a v2 final is ignored",
			[][]byte{v2(ranked("o-1", order.StateConfirmed, "decide")), v1(ranked("o-1", order.StateValidated, "validate"))}, order.StateConfirmed, 1},
		{"validate's rejection is final too",
			[][]byte{v2(ranked("o-1", order.StateRejected, "validate")), v2(ranked("o-1", order.StateValidated, "validate"))}, order.StateRejected, 1},
		{"a tombstone forgets the rank with the order",
			[][]byte{v2(ranked("o-1", order.StateConfirmed, "decide")), nil, v2(ranked("o-1", order.StateValidated, "validate"))}, order.StateValidated, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := NewView(serde)
			for i, rec := range tt.records {
				if err := v.Apply(ctx, []byte("o-1"), rec); err != nil {
					t.Fatalf("record %d: Apply: %v", i, err)
				}
			}
			if got, _ := v.Get("o-1"); got.State != tt.want {
				t.Errorf("view answers %s, want %s", got.State, tt.want)
			}
			if got := testutil.ToFloat64(v.lowerRank); got != tt.wantIgnored {
				t.Errorf("%v records ignored for their rank, want %v", got, tt.wantIgnored)
			}
		})
	}
}
