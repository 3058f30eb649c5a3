//go:build integration

package integration_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/integration/orderchain"
	"github.com/sluice-dev/sluice/pipeline/kafkatest"
	"github.com/sluice-dev/sluice/processors/order"
)

// pyenv is where integration/thirdparty/setup.sh installs the Python client.
func pyenv(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("SLUICE_PYENV")
	if dir == "" {
		cache := os.Getenv("SLUICE_CACHE")
		if cache == "" {
			home, _ := os.UserHomeDir()
			cache = filepath.Join(home, ".cache", "sluice")
		}
		dir = filepath.Join(cache, "pyenv")
	}
	py := filepath.Join(dir, "bin", "python")
	if _, err := os.Stat(filepath.Join(dir, ".installed")); err != nil {
		t.Fatalf("the third-party Python client is not installed at %s (%v): run `bash integration/thirdparty/setup.sh`", dir, err)
	}
	return py
}

// wire runs integration/thirdparty/wire.py with args and stdin and returns
// its JSON lines.
func wire(t *testing.T, stdin []byte, args ...string) []map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, pyenv(t), append([]string{filepath.Join("thirdparty", "wire.py")}, args...)...)
	cmd.Stdin = bytes.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("wire.py %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	var lines []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("wire.py printed %q: %v", sc.Text(), err)
		}
		lines = append(lines, m)
	}
	return lines
}

// avroJSON is an OrderPlaced the way a non-Go producer holds it: Avro field
// names, placed_at in epoch milliseconds.
func avroJSON(p order.Placed) map[string]any {
	lines := make([]map[string]any, len(p.Lines))
	for i, l := range p.Lines {
		lines[i] = map[string]any{"sku": l.SKU, "quantity": l.Quantity, "unit_price_cents": l.UnitPriceCents}
	}
	return map[string]any{
		"order_id": p.OrderID, "customer_id": p.CustomerID, "placed_at": p.PlacedAt.UnixMilli(),
		"currency": p.Currency, "lines": lines, "total_cents": p.TotalCents,
		"shipping_country": p.ShippingCountry, "channel": p.Channel,
	}
}

// TestIntegrationWireCompatibilityWithPythonClient checks Sluice's Avro
// single-object records against a client nobody here wrote: Python's
// confluent-kafka (librdkafka) with fastavro, talking to the broker at
// 127.0.0.1. Orders that Python encodes from the .avsc file are validated,
// scored and decided by the Sluice containers; the OrderDecided records
// Sluice writes are read back by Python, whose fingerprint of the schema's
// canonical form must equal the one in each record's header, and whose
// decoding must agree with Sluice's.
func TestIntegrationWireCompatibilityWithPythonClient(t *testing.T) {
	k := kafkatest.Shared(t)
	c := orderchain.New(t, k, "wire", orderchain.Partitions(3))
	col := c.Collect(t)
	start := time.Now()
	c.StartAll(t)

	// Orders from seed 6, re-labelled as the Python shop's, plus one that
	// breaks a rule, so both of validate's paths see Python's bytes.
	orders := orderchain.Orders(6, 20)
	for i := range orders {
		orders[i].OrderID = fmt.Sprintf("py-%02d", i)
	}
	orders[len(orders)-1].Currency = "XBT"
	sent := orderchain.NewSent()
	c.Expect(sent, orders)
	payload := make([]map[string]any, len(orders))
	for i, p := range orders {
		payload[i] = avroJSON(p)
	}
	stdin, _ := json.Marshal(payload)
	broker := k.Brokers()[0]
	acked := wire(t, stdin, "produce", "--brokers", broker, "--topic", c.Topics.Placed, "--schema", "../schemas/order_placed.v2.avsc")
	if len(acked) != len(orders) {
		t.Fatalf("python acknowledged %d of %d orders", len(acked), len(orders))
	}

	c.WaitSettled(t, col, 2*time.Minute)
	c.RequireRunning(t)
	f, _ := c.Verify(t, sent, col, start)

	// Python reads what decide and validate wrote.
	decided := col.Records(c.Topics.Decided)
	got := wire(t, nil, "consume", "--brokers", broker, "--topic", c.Topics.Decided, "--schema", "../schemas/order_decided.v1.avsc",
		"--count", fmt.Sprint(len(decided)))
	byKey := map[string]map[string]any{}
	for _, g := range got {
		v, _ := g["value"].(map[string]any)
		key, _ := g["key"].(string)
		byKey[key] = v
		if v["order_id"] != key {
			t.Errorf("python decoded order_id %v from a record keyed %q", v["order_id"], key)
		}
	}
	for id, e := range sent.Expected {
		v, ok := byKey[id]
		if !ok {
			t.Errorf("python did not read the decision of %s", id)
			continue
		}
		if v["decision"] != string(e.Decision) {
			t.Errorf("python decoded decision %v for %s, want %s", v["decision"], id, e.Decision)
		}
		if v["total_cents"] != float64(sentTotal(sent, id)) {
			t.Errorf("python decoded total_cents %v for %s, want %d", v["total_cents"], id, sentTotal(sent, id))
		}
	}
	fp, _ := got[0]["fingerprint"].(string)
	t.Logf("python (confluent-kafka + fastavro) produced %d orders and read %d decisions; OrderDecided fingerprint %s", len(acked), len(got), fp)
	orderchain.Report(t, "wire-compat", f)
	orderchain.Summary(t, fmt.Sprintf("INTEGRATION wire-compat: python produced %d, sluice decided %d, python decoded %d decisions (fingerprint %s agreed)", len(acked), f.Decided, len(got), fp))
}

func sentTotal(s *orderchain.Sent, id string) int64 {
	for _, p := range s.Orders {
		if p.OrderID == id {
			return p.TotalCents
		}
	}
	return -1
}
