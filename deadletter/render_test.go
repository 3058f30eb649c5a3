package deadletter_test

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/deadletter"
	"github.com/sluice-dev/sluice/schemas"
)

func testSerde(t *testing.T) *schemas.Serde {
	t.Helper()
	s, err := schemas.NewDefaultSerde()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func decoder(s *schemas.Serde) deadletter.Decoder {
	return func(ctx context.Context, b []byte) (string, map[string]any, error) {
		sc, v, err := s.DecodeAny(ctx, b)
		if err != nil {
			return "", nil, err
		}
		return sc.String(), v, nil
	}
}

// avroRecord is a dead-letter record whose value is an OrderStatus.
func avroRecord(t *testing.T, serde *schemas.Serde, at time.Time) *deadletter.Record {
	t.Helper()
	v, err := serde.Encode(context.Background(), schemas.OrderStatus, map[string]any{
		"order_id": "o-1", "status": "SCORED", "reason": nil, "stage": "score", "changed_at": at,
	})
	if err != nil {
		t.Fatal(err)
	}
	kr := sluiceRecord(failed{key: "o-1", class: "retryable", err: "timeout", at: at, origin: "orders", originOffset: 5})
	kr.Topic, kr.Value = "orders.dlq", v
	return deadletter.Parse(kr)
}

func jsonObject(t *testing.T, j deadletter.RecordJSON) map[string]any {
	t.Helper()
	var buf bytes.Buffer
	if err := deadletter.WriteJSON(&buf, j); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(buf.String(), "\n"); n != 1 || !strings.HasSuffix(buf.String(), "\n") {
		t.Fatalf("WriteJSON wrote %d lines, want one: %q", n, buf.String())
	}
	var m map[string]any
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestJSONFieldNamesAreStable(t *testing.T) {
	serde := testSerde(t)
	at := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	now := at.Add(90 * time.Second)
	r := avroRecord(t, serde, at)

	summary := []string{"topic", "partition", "offset", "timestamp", "dead_lettered_at", "age_seconds",
		"key", "key_base64", "header_format", "attempts", "error_class", "error", "first_failure", "last_failure",
		"origin", "processor", "due", "parked", "replayed_from", "replays"}
	m := jsonObject(t, deadletter.SummaryJSON(r, now))
	if got := slices.Sorted(maps.Keys(m)); !slices.Equal(got, slices.Sorted(slices.Values(summary))) {
		t.Errorf("summary fields %v, want %v", got, slices.Sorted(slices.Values(summary)))
	}
	if m["key"] != "o-1" || m["attempts"] != 3.0 || m["age_seconds"] != 90.0 || m["due"] != nil || m["header_format"] != "sluice" {
		t.Errorf("summary %v", m)
	}
	origin := m["origin"].(map[string]any)
	if origin["topic"] != "orders" || origin["partition"] != 1.0 || origin["offset"] != 5.0 {
		t.Errorf("origin %v", origin)
	}

	d := jsonObject(t, deadletter.DetailJSON(context.Background(), r, decoder(serde), now))
	if got := slices.Sorted(maps.Keys(d)); !slices.Equal(got, slices.Sorted(slices.Values(append(summary, "headers", "value")))) {
		t.Errorf("detail fields %v", got)
	}
	val := d["value"].(map[string]any)
	if !strings.HasPrefix(val["schema"].(string), "sluice.orders.OrderStatus") || val["decoded"].(map[string]any)["order_id"] != "o-1" {
		t.Errorf("decoded value %v", val)
	}
	hs := d["headers"].([]any)
	if len(hs) != len(r.Headers) || hs[0].(map[string]any)["key"] != "traceparent" || hs[0].(map[string]any)["value"] != "trace-o-1" {
		t.Errorf("headers %v", hs)
	}

	r.Value = []byte{0xff, 0x00, 'x'}
	bad := jsonObject(t, deadletter.DetailJSON(context.Background(), r, decoder(serde), now))["value"].(map[string]any)
	if bad["error"] == "" || bad["base64"] != "/wB4" || bad["size"] != 3.0 || bad["decoded"] != nil {
		t.Errorf("undecodable value %v", bad)
	}
}

func TestTextOutput(t *testing.T) {
	serde := testSerde(t)
	at := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	r := avroRecord(t, serde, at)
	var buf bytes.Buffer
	lw := deadletter.NewListWriter(&buf, at.Add(3*time.Hour+4*time.Minute))
	if err := lw.Write(r); err != nil {
		t.Fatal(err)
	}
	if err := lw.Flush(); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"PART/OFFSET", "0/0", "3h4m", "retryable", `"o-1"`, "orders/1/5", "timeout"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("list output lacks %q:\n%s", want, buf.String())
		}
	}
	buf.Reset()
	if err := deadletter.WriteDetail(context.Background(), &buf, r, decoder(serde), at.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"orders.dlq/0/0", "1h0m ago", "sluice.orders.OrderStatus v2", `"order_id": "o-1"`, "traceparent: trace-o-1", "processor"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("detail output lacks %q:\n%s", want, buf.String())
		}
	}
	r.Value = []byte("not avro at all")
	buf.Reset()
	if err := deadletter.WriteDetail(context.Background(), &buf, r, decoder(serde), at); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `not decodable`) || !strings.Contains(buf.String(), `"not avro at all"`) {
		t.Errorf("undecodable detail:\n%s", buf.String())
	}
}

func TestShowBytes(t *testing.T) {
	for _, c := range []struct {
		in   []byte
		want string
	}{
		{nil, "null"},
		{[]byte{}, `""`},
		{[]byte("o-1"), `"o-1"`},
		{[]byte("aaaé"), `"aaa"… (5 bytes)`},
		{[]byte{0xc3, 0x01, 0xff}, "0xc301ff"},
		{[]byte("abcdef"), `"abcd"… (6 bytes)`},
	} {
		if got := deadletter.ShowBytes(c.in, 4); got != c.want {
			t.Errorf("ShowBytes(%q) = %s, want %s", c.in, got, c.want)
		}
	}
}
