package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
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

// testArgs are the options every test run starts with: free ports, a small
// model, few partitions.
func testArgs() []string {
	return []string{"--broker-port", "0", "--status-addr", "127.0.0.1:0", "--dashboard-addr", "127.0.0.1:0",
		"--model-trees", "20", "--partitions", "3"}
}

// runDemo runs the demo with args on free ports and a small model, failing
// the test if it does not finish within a minute. It returns the summary
// and what was printed.
func runDemo(t *testing.T, args ...string) (*summary, string) {
	t.Helper()
	args = append(testArgs(), args...)
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

func TestDemoDecidesEveryOrderDeadLettersThePoisonThenResumesWithNothingToDo(t *testing.T) {
	const orders, poison = 300, 3
	file := writeOrders(t, 7, orders)
	dataDir := filepath.Join(t.TempDir(), "data")

	sum, out := runDemo(t, "--data-dir", dataDir, "--orders", file, "--poison", strconv.Itoa(poison))
	a := sum.after
	if a.placed != orders || sum.newOrders != orders {
		t.Fatalf("first run: %d orders in, %d produced; want %d of each (poison records are not orders)\n%s", a.placed, sum.newOrders, orders, out)
	}
	if a.poison != poison || sum.newPoison != poison || a.poisonDLQ != poison || a.ordersDLQ != 0 {
		t.Fatalf("first run: %d poison records on orders (%d produced), %d of them and %d orders in %s; want %d, %d, %d and 0\n%s",
			a.poison, sum.newPoison, a.poisonDLQ, a.ordersDLQ, topicDLQ, poison, poison, poison, out)
	}
	if !slices.Equal(a.dlqClasses, []string{"poison"}) || a.dlqMaxTry != 1 || !strings.Contains(a.dlqExample, "decode") {
		t.Errorf("first run: dead-lettered with classes %v after %d attempts, example %q; want class poison at once, a decode error",
			a.dlqClasses, a.dlqMaxTry, a.dlqExample)
	}
	if a.decided != orders {
		t.Fatalf("first run: %d of %d orders decided\n%s", a.decided, orders, out)
	}
	// decided runs ahead of scored by validate's rejections, and the
	// output says so.
	if a.byValidate == 0 || a.decided-a.byValidate != a.scored {
		t.Errorf("first run: %d decided, %d of them by validate, %d scored; want decided = scored + validate's rejections", a.decided, a.byValidate, a.scored)
	}
	if want := fmt.Sprintf("decided %s (%s rejected by validate, unscored)", num(a.decided), num(a.byValidate)); !strings.Contains(out, want) {
		t.Errorf("first run's progress lacks %q:\n%s", want, out)
	}
	if want := fmt.Sprintf("(%s by decide after scoring, %s rejected by validate without scoring)", num(a.scored), num(a.byValidate)); !strings.Contains(out, want) {
		t.Errorf("first run's summary lacks %q:\n%s", want, out)
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
	for _, want := range []string{"committed offsets = end offsets", "yes", "orders/s end to end", "top rejection reasons",
		"every poison record dead-lettered", "3 in orders.dlq", "nothing stalled behind them",
		"go run ./cmd/dlq inspect --topic orders.dlq --brokers " + sum.brokerAddr, "dashboard    http://127.0.0.1:",
		"the run ends by itself within seconds: add --keep-running to keep it up"} {
		if !strings.Contains(out, want) {
			t.Errorf("first run's output lacks %q:\n%s", want, out)
		}
	}

	sum, out = runDemo(t, "--data-dir", dataDir, "--orders", file, "--poison", strconv.Itoa(poison))
	if sum.newOrders != 0 || sum.before.placed != orders || sum.after.placed != orders {
		t.Fatalf("second run: produced %d, found %d, ended with %d; want 0 new of %d\n%s",
			sum.newOrders, sum.before.placed, sum.after.placed, orders, out)
	}
	if sum.newPoison != 0 || sum.after.poison != poison || sum.after.poisonDLQ != poison {
		t.Fatalf("second run: produced %d poison records, ended with %d on orders and %d in %s; want 0 new of %d\n%s",
			sum.newPoison, sum.after.poison, sum.after.poisonDLQ, topicDLQ, poison, out)
	}
	if sum.after.decided != orders || sum.exitStatus() != exitOK {
		t.Fatalf("second run: %d decided, exit status %d; want %d and 0\n%s", sum.after.decided, sum.exitStatus(), orders, out)
	}
	if !strings.Contains(out, "resuming the previous run") || !strings.Contains(out, "nothing new to process") {
		t.Errorf("second run does not say it resumed with nothing to do:\n%s", out)
	}
}

func TestDashboardAnswersWhileTheDemoRuns(t *testing.T) {
	args := append(testArgs(), "--data-dir", filepath.Join(t.TempDir(), "data"),
		"--orders", writeOrders(t, 3, 50), "--poison", "1", "--keep-running")
	c, err := parseFlags(args, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out, errOut syncBuffer
	log := slog.New(slog.NewTextHandler(&errOut, &slog.HandlerOptions{Level: slog.LevelWarn}))
	type result struct {
		sum *summary
		err error
	}
	done := make(chan result, 1)
	go func() {
		sum, err := demo(ctx, c, newConsole(&out, &errOut), log)
		done <- result{sum, err}
	}()

	still := regexp.MustCompile(`Still running: .*dashboard on (http://\S+/)\. `)
	var url string
	for deadline := time.Now().Add(30 * time.Second); url == ""; {
		if m := still.FindStringSubmatch(out.String()); m != nil {
			url = m[1]
		} else if time.Now().After(deadline) {
			t.Fatalf("the demo did not say it keeps running with a dashboard:\n%s%s", out.String(), errOut.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, path := range []string{"", "metrics"} {
		resp, err := http.Get(url + path)
		if err != nil {
			t.Fatalf("GET %s%s: %v", url, path, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s%s: %s", url, path, resp.Status)
		}
		if path == "" && (!strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || !strings.Contains(string(body), "<html")) {
			t.Errorf("GET %s: %s, not the dashboard's HTML:\n%.200s", url, resp.Header.Get("Content-Type"), body)
		}
	}

	cancel()
	r := <-done
	if r.err != nil || r.sum.exitStatus() != exitOK {
		t.Fatalf("demo: %v; want a complete run stopped by Ctrl-C\n%s%s", r.err, out.String(), errOut.String())
	}
	if _, err := http.Get(url); err == nil {
		t.Errorf("the dashboard still answers on %s after the demo stopped", url)
	}
}

// TestOnATerminalTheViewsStayUpUntilEnter runs the demo as on a terminal
// (its console has an input to press Enter on): after the summary the
// status view and the dashboard stay up, with a line saying so, until
// Enter; the run itself ended as usual.
func TestOnATerminalTheViewsStayUpUntilEnter(t *testing.T) {
	args := append(testArgs(), "--data-dir", filepath.Join(t.TempDir(), "data"), "--orders", writeOrders(t, 5, 30), "--poison", "0")
	c, err := parseFlags(args, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out, errOut syncBuffer
	enter, press := io.Pipe()
	defer press.Close()
	con := newConsole(&out, &errOut)
	con.enter = enter
	done := make(chan *summary, 1)
	go func() {
		sum, err := demo(ctx, c, con, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Errorf("demo: %v", err)
		}
		done <- sum
	}()

	holding := regexp.MustCompile(`The status view (http://\S+) and the dashboard (http://\S+/) stay up .*\nPress Enter or Ctrl-C to end\.`)
	var m []string
	for deadline := time.Now().Add(30 * time.Second); m == nil; {
		select {
		case <-done:
			t.Fatalf("the demo ended without waiting for Enter:\n%s", out.String())
		default:
		}
		if m = holding.FindStringSubmatch(out.String()); m == nil && time.Now().After(deadline) {
			t.Fatalf("the demo did not say the views stay up until Enter:\n%s%s", out.String(), errOut.String())
		}
		time.Sleep(20 * time.Millisecond) // polling a condition with a deadline
	}
	for _, url := range []string{m[1] + "/readyz", m[2]} {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatalf("GET %s while waiting for Enter: %v", url, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s while waiting for Enter: %s", url, resp.Status)
		}
	}
	if !strings.Contains(out.String(), "stays up after the run until you press Enter") || !strings.Contains(out.String(), "it is up until you press Enter") {
		t.Errorf("the header and the summary do not say the views stay up until Enter:\n%s", out.String())
	}
	if _, err := press.Write([]byte("\n")); err != nil {
		t.Fatal(err)
	}
	if sum := <-done; sum == nil || sum.exitStatus() != exitOK {
		t.Fatalf("after Enter: summary %+v, want a complete run\n%s", sum, out.String())
	}
	if _, err := http.Get(m[2]); err == nil {
		t.Errorf("the dashboard still answers on %s after Enter", m[2])
	}
}

func TestListenTakesAFreePortWhenTheAddressIsBusy(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	ln, note, err := listen("--dashboard-addr", busy.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if ln.Addr().String() == busy.Addr().String() || !strings.Contains(note, "is busy") {
		t.Errorf("listen on busy %s: got %s, note %q; want another port and a note", busy.Addr(), ln.Addr(), note)
	}
}

func TestDashboardOffWithoutAnAddress(t *testing.T) {
	d, err := startDashboard("", "127.0.0.1:1", slog.New(slog.DiscardHandler))
	if err != nil || d.url != "" {
		t.Fatalf("startDashboard(\"\") = %+v, %v; want a dashboard turned off", d, err)
	}
	d.stop()
}

// syncBuffer is a bytes.Buffer that the demo's goroutines may write while
// the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestRunExitStatusForUsage(t *testing.T) {
	cases := []struct {
		args []string
		want int
	}{
		{[]string{"--help"}, exitOK},
		{[]string{"--partitions", "0"}, exitUsage},
		{[]string{"--poison", "-1"}, exitUsage},
		{[]string{"--log-level", "loud"}, exitUsage},
		{[]string{"extra"}, exitUsage},
		{[]string{"--orders", filepath.Join(t.TempDir(), "missing.jsonl"), "--data-dir", t.TempDir()}, exitFailed},
	}
	for _, c := range cases {
		var out, errOut bytes.Buffer
		if got := run(context.Background(), c.args, nil, &out, &errOut); got != c.want {
			t.Errorf("run %v = %d, want %d\n%s%s", c.args, got, c.want, out.String(), errOut.String())
		}
	}
}

func TestHelpNamesEveryOptionAndItsVariable(t *testing.T) {
	var errOut bytes.Buffer
	run(context.Background(), []string{"--help"}, nil, io.Discard, &errOut)
	for _, want := range []string{"--data-dir", "$SLUICE_DEMO_DATA_DIR", "--fresh", "--orders", "--generate", "--keep-running", "--status-addr", "--dashboard-addr", "--poison", "--model-trees", "--log-level"} {
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
