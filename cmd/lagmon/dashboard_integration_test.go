//go:build integration

package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluice-dev/sluice/lag/monitor"
	"github.com/sluice-dev/sluice/pipeline/kafkatest"
)

// TestIntegrationDashboardInChromium runs lagmon's HTTP server on a fake
// cluster with live traffic (a producer, a consumer group that falls
// behind, an idle group with no members, retry and DLQ topics), opens the
// dashboard in headless Chromium and checks what a person would see: the
// group names and statuses, numbers, and charts with lines drawn. The
// screenshot is kept in $SLUICE_ARTIFACTS (default: a temporary directory).
func TestIntegrationDashboardInChromium(t *testing.T) {
	chromium := findChromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	c := kafkatest.NewFake(t)
	c.CreateTopic(t, "orders", 3, nil)
	c.CreateTopic(t, "orders.retry.5s", 1, nil)
	c.CreateTopic(t, "orders.dlq", 1, nil)
	traffic(ctx, t, c)

	// An idle group with no members: committed offsets, nobody consuming.
	adm := kadm.NewClient(c.Client(t))
	var offs kadm.Offsets
	for p := range int32(3) {
		offs.Add(kadm.Offset{Topic: "orders", Partition: p, At: 0, LeaderEpoch: -1})
	}
	if err := adm.CommitAllOffsets(ctx, "score", offs); err != nil {
		t.Fatalf("commit for the idle group: %v", err)
	}

	var w watchFlags
	w.conn.Brokers = c.Brokers()
	w.interval = 300 * time.Millisecond
	w.lagWindow = 10 * time.Minute
	w.rateWindow = 3 * time.Second
	w.rules.SLO = 30 * time.Second
	a, err := newApp(w, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.close)
	a.log = testLogger(t)
	srv := httptest.NewServer(a.handler)
	t.Cleanup(srv.Close)
	runCtx, stopRun := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); a.run(runCtx) }()
	t.Cleanup(func() { stopRun(); wg.Wait() })

	// Wait (polling) until the monitor has history worth drawing: both
	// groups, a known lag in seconds, traffic on the DLQ.
	var rep monitor.Report
	deadline := time.Now().Add(60 * time.Second)
	for {
		rep = a.monitor.Latest()
		if ready(rep) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("monitor not ready after 60s: %+v", rep)
		}
		time.Sleep(100 * time.Millisecond) // polling a condition, not waiting for a guess
	}
	// A few more samples so every chart has a line.
	for n := rep.Reads; a.monitor.Latest().Reads < n+8 && ctx.Err() == nil; {
		time.Sleep(100 * time.Millisecond)
	}

	dir := os.Getenv("SLUICE_ARTIFACTS")
	if dir == "" {
		dir = t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(dir, "lagmon-dashboard.png")
	browser := func(extra ...string) []byte {
		args := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
			"--disable-background-networking", "--disable-component-update", "--disable-sync",
			"--user-data-dir=" + t.TempDir(), "--hide-scrollbars", "--window-size=1440,1700",
			"--virtual-time-budget=6000"}, extra...)
		args = append(args, srv.URL+"/")
		cctx, ccancel := context.WithTimeout(ctx, 60*time.Second)
		defer ccancel()
		var stderr bytes.Buffer
		cmd := exec.CommandContext(cctx, chromium, args...)
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s %s: %v\n%s", chromium, strings.Join(extra, " "), err, stderr.String())
		}
		return out
	}
	dom := string(browser("--dump-dom"))
	browser("--screenshot=" + shot)
	if fi, err := os.Stat(shot); err != nil || fi.Size() < 10_000 {
		t.Errorf("screenshot %s missing or too small (%v)", shot, err)
	}
	t.Logf("dashboard screenshot: %s", shot)

	// Group names and their statuses.
	for _, g := range []string{"validate", "score"} {
		if !regexp.MustCompile(`data-group="` + g + `" data-status="(OK|WARN|ERR|STALL|STOP)"`).MatchString(dom) {
			t.Errorf("no card for group %s with a status", g)
		}
		if !strings.Contains(dom, "<h2>"+g+"</h2>") {
			t.Errorf("group name %s not shown as a heading", g)
		}
	}
	if !strings.Contains(dom, "no active members") {
		t.Error("the idle group does not say it has no active members")
	}
	// Numbers: the lag of each partition, and the headline lag, as digits.
	lags := regexp.MustCompile(`data-lag="(\d+)"`).FindAllStringSubmatch(dom, -1)
	if len(lags) < 6 {
		t.Errorf("%d partition lag cells, want 6 (3 partitions × 2 groups)", len(lags))
	}
	positive := 0
	for _, m := range lags {
		if n, _ := strconv.Atoi(m[1]); n > 0 {
			positive++
		}
	}
	if positive == 0 {
		t.Error("every partition shows lag 0, but the traffic keeps groups behind")
	}
	if !regexp.MustCompile(`<div class="label">Lag</div><div class="value">[0-9][0-9.,kMG]*</div>`).MatchString(dom) {
		t.Error("no headline lag number")
	}
	if !regexp.MustCompile(`<div class="label">Dead-lettered</div><div class="value">[1-9][0-9.,kMG]*</div>`).MatchString(dom) {
		t.Error("dead-lettered count not shown as a positive number")
	}
	if !regexp.MustCompile(`<div class="label">Behind</div><div class="value">[0-9.]+ s`).MatchString(dom) {
		t.Error("no lag in seconds shown for any group")
	}
	// Charts drawn: lines with several points and a path.
	lines := regexp.MustCompile(`<path class="line" stroke="[^"]+" data-series="[^"]*" data-points="(\d+)" d="(M[^"]+)"`).FindAllStringSubmatch(dom, -1)
	drawn := 0
	for _, m := range lines {
		if n, _ := strconv.Atoi(m[1]); n >= 3 && strings.Count(m[2], "L") >= 2 {
			drawn++
		}
	}
	if drawn < 6 { // three charts per group, two groups
		t.Errorf("%d chart lines with at least 3 points, want >= 6", drawn)
	}
	if strings.Contains(dom, "Waiting for the first sample") || !strings.Contains(dom, `id="live-dot" class="dot on"`) {
		t.Error("page did not load live data, or lost its connection while polling")
	}
}

// ready reports whether rep has both groups, validate's lag in seconds and
// DLQ traffic.
func ready(rep monitor.Report) bool {
	if len(rep.Groups) != 2 || rep.Reads < 5 {
		return false
	}
	for _, g := range rep.Groups {
		if g.Name == "validate" && (!g.MaxSeconds.Known || g.Lag == 0 || len(g.Members) == 0) {
			return false
		}
		for _, t := range g.Topics {
			if t.Topic == "orders" && t.DeadLettered == 0 {
				return false
			}
		}
	}
	return true
}

// traffic produces to orders (and now and then to its retry and DLQ
// topics) and runs group validate, which consumes more slowly than the
// producer writes, until ctx is done or the test ends.
func traffic(ctx context.Context, t *testing.T, c *kafkatest.Fake) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	prod := c.Client(t)
	cons := c.Client(t, kgo.ConsumerGroup("validate"), kgo.ConsumeTopics("orders"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.AutoCommitInterval(200*time.Millisecond),
		kgo.ClientID("sluice-validate"))
	wg.Add(2)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ctx.Err() == nil && i < 20_000; i++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			recs := []*kgo.Record{{Topic: "orders", Key: []byte(fmt.Sprint(i)), Value: []byte("order")}, {Topic: "orders", Key: []byte(fmt.Sprint(i + 1)), Value: []byte("order")}}
			if i%5 == 0 {
				recs = append(recs, &kgo.Record{Topic: "orders.retry.5s", Value: []byte("retry")})
			}
			if i%17 == 0 {
				recs = append(recs, &kgo.Record{Topic: "orders.dlq", Value: []byte("dead")})
			}
			prod.ProduceSync(ctx, recs...)
		}
	}()
	go func() {
		defer wg.Done()
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for ctx.Err() == nil {
			// At most 6 records per 100ms: 60/s against 100/s produced.
			cons.PollRecords(ctx, 6)
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
}

func findChromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("headless Chromium not found: run `bash .ci/observability.sh` (apt-get install chromium)")
	return ""
}
