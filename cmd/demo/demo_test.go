package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/processors/ordergen"
)

// writeOrders writes n orders of ordergen's sequence for seed to a JSON
// Lines file and returns its path.
func writeOrders(t *testing.T, seed int64, n int) string {
	t.Helper()
	var buf bytes.Buffer
	g := ordergen.New(ordergen.Config{Seed: seed, Keys: 50})
	for range n {
		line, err := ordergen.MarshalJSONL(g.Next())
		if err != nil {
			t.Fatal(err)
		}
		buf.Write(line)
		buf.WriteByte('\n')
	}
	path := filepath.Join(t.TempDir(), "orders.jsonl")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// runDemo runs the demo with args on free ports and a small model, failing
// the test if it does not finish within a minute. It returns the summary
// and what was printed.
func runDemo(t *testing.T, args ...string) (*summary, string) {
	t.Helper()
	args = append([]string{"--broker-port", "0", "--status-addr", "127.0.0.1:0", "--model-trees", "20", "--partitions", "3"}, args...)
	c, err := parseFlags(args, io.Discard)
	if err != nil {
		t.Fatalf("parse %v: %v", args, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out, errOut bytes.Buffer
	log := slog.New(slog.NewTextHandler(&errOut, &slog.HandlerOptions{Level: slog.LevelWarn}))
	sum, err := demo(ctx, c, newConsole(&out, &errOut), log)
	if err != nil {
		t.Fatalf("demo %v: %v\nstdout:\n%s\nstderr:\n%s", args, err, out.String(), errOut.String())
	}
	return sum, out.String()
}

func TestDemoDecidesEveryOrderThenResumesWithNothingToDo(t *testing.T) {
	const orders = 300
	file := writeOrders(t, 7, orders)
	dataDir := filepath.Join(t.TempDir(), "data")

	sum, out := runDemo(t, "--data-dir", dataDir, "--orders", file)
	a := sum.after
	if a.placed != orders || sum.newOrders != orders {
		t.Fatalf("first run: %d orders in, %d produced; want %d of each\n%s", a.placed, sum.newOrders, orders, out)
	}
	if a.decided != orders {
		t.Fatalf("first run: %d of %d orders decided\n%s", a.decided, orders, out)
	}
	if a.confirmed+a.rejected != orders || a.confirmed == 0 || a.rejected == 0 {
		t.Fatalf("first run: %d confirmed + %d rejected, want both kinds adding up to %d\n%s", a.confirmed, a.rejected, orders, out)
	}
	for _, o := range sum.offsets {
		if !o.equal || o.committed != o.end {
			t.Errorf("first run: group %s on %s committed %d of %d", o.group, o.topic, o.committed, o.end)
		}
	}
	if len(sum.offsets) != len(stages) {
		t.Errorf("first run: offsets checked for %d groups, want %d", len(sum.offsets), len(stages))
	}
	if got := sum.exitStatus(); got != exitOK {
		t.Fatalf("first run: exit status %d, want 0\n%s", got, out)
	}
	if len(sum.examples) == 0 || !strings.Contains(sum.examples[0].body, `"order_id":"`+sum.examples[0].id+`"`) {
		t.Errorf("first run: the status view did not answer for an example order: %+v", sum.examples)
	}
	for _, want := range []string{"committed offsets = end offsets", "yes", "orders/s end to end", "top rejection reasons"} {
		if !strings.Contains(out, want) {
			t.Errorf("first run's output lacks %q:\n%s", want, out)
		}
	}

	sum, out = runDemo(t, "--data-dir", dataDir, "--orders", file)
	if sum.newOrders != 0 || sum.before.placed != orders || sum.after.placed != orders {
		t.Fatalf("second run: produced %d, found %d, ended with %d; want 0 new of %d\n%s",
			sum.newOrders, sum.before.placed, sum.after.placed, orders, out)
	}
	if sum.after.decided != orders || sum.exitStatus() != exitOK {
		t.Fatalf("second run: %d decided, exit status %d; want %d and 0\n%s", sum.after.decided, sum.exitStatus(), orders, out)
	}
	if !strings.Contains(out, "resuming the previous run") || !strings.Contains(out, "nothing new to process") {
		t.Errorf("second run does not say it resumed with nothing to do:\n%s", out)
	}
}

func TestRunExitStatusForUsage(t *testing.T) {
	cases := []struct {
		args []string
		want int
	}{
		{[]string{"--help"}, exitOK},
		{[]string{"--partitions", "0"}, exitUsage},
		{[]string{"--log-level", "loud"}, exitUsage},
		{[]string{"extra"}, exitUsage},
		{[]string{"--orders", filepath.Join(t.TempDir(), "missing.jsonl"), "--data-dir", t.TempDir()}, exitFailed},
	}
	for _, c := range cases {
		var out, errOut bytes.Buffer
		if got := run(context.Background(), c.args, &out, &errOut); got != c.want {
			t.Errorf("run %v = %d, want %d\n%s%s", c.args, got, c.want, out.String(), errOut.String())
		}
	}
}

func TestHelpNamesEveryOptionAndItsVariable(t *testing.T) {
	var errOut bytes.Buffer
	run(context.Background(), []string{"--help"}, io.Discard, &errOut)
	for _, want := range []string{"--data-dir", "$SLUICE_DEMO_DATA_DIR", "--fresh", "--orders", "--generate", "--keep-running", "--status-addr", "--model-trees", "--log-level"} {
		if !strings.Contains(errOut.String(), want) {
			t.Errorf("--help lacks %q", want)
		}
	}
}

func TestFreshRefusesADirectoryTheDemoDidNotWrite(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "thesis.tex"), []byte("years of work"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := removeDataDir(dir); err == nil {
		t.Fatal("removeDataDir deleted a directory without meta.json")
	}
	if _, err := os.Stat(filepath.Join(dir, "thesis.tex")); err != nil {
		t.Fatalf("the file is gone: %v", err)
	}
	if err := removeDataDir(filepath.Join(dir, "absent")); err != nil {
		t.Fatalf("removing a missing directory: %v", err)
	}
}

func TestReasonKind(t *testing.T) {
	cases := map[string]string{
		"fraud risk 0.91 >= 0.85":                           "fraud risk ≥ 0.85",
		"amount over limit: 1827885 > 1000000 NOK cents":    "amount over limit",
		"lines sum to 10595 cents but total_cents is 11068": "lines do not add up to total_cents",
		`unknown currency "XBT"`:                            "unknown currency",
		"line 3: quantity -2 is not positive":               "quantity N is not positive",
		"missing customer_id":                               "missing customer_id",
		`unknown channel "fax", want web, mobile or api`:    `unknown channel "fax", want web, mobile or api`,
		"line 2: unit_price_cents -5 is negative":           "unit_price_cents N is negative",
	}
	for reason, want := range cases {
		if got := reasonKind(reason); got != want {
			t.Errorf("reasonKind(%q) = %q, want %q", reason, got, want)
		}
	}
}

func TestNum(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -45000: "-45,000"} {
		if got := num(n); got != want {
			t.Errorf("num(%d) = %q, want %q", n, got, want)
		}
	}
}
