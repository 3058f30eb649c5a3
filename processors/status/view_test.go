package status

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

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
