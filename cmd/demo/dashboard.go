package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluice-dev/sluice/lag/dashboard"
	"github.com/sluice-dev/sluice/lag/monitor"
	"github.com/sluice-dev/sluice/lag/promexport"
	"github.com/sluice-dev/sluice/lag/snapshot"
)

// dashboardEvery is how often the dashboard samples the groups and the page
// refreshes: lagmon's 5s would show a few points of a run that lasts
// seconds.
const dashboardEvery = time.Second

// lagDashboard is the lag monitor of cmd/lagmon run in this process on the
// three processors' groups: its live dashboard on / and its Prometheus
// metrics on /metrics. The zero value is a dashboard turned off.
//
// The sampling goroutine owns the monitor and feeds the board; stop ends it
// and waits for it.
type lagDashboard struct {
	url    string // http://host:port, "" when off
	note   string // why the address is not the one asked for, if it is not
	srv    *http.Server
	cancel context.CancelFunc
	done   chan struct{} // closed when sampling has stopped
	client *kgo.Client
}

// startDashboard samples the processors' groups on the broker at broker
// every dashboardEvery and serves the dashboard on addr, or on a free port
// if addr is taken. An empty addr turns it off.
func startDashboard(addr, broker string, log *slog.Logger) (*lagDashboard, error) {
	if addr == "" {
		return &lagDashboard{}, nil
	}
	ln, note, err := listen("--dashboard-addr", addr)
	if err != nil {
		return nil, err
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(broker))
	if err != nil {
		ln.Close()
		return nil, err
	}
	groups := make([]string, len(stages))
	for i, s := range stages {
		groups[i] = s.Name
	}
	reader := groupsYetToJoin{snapshot.NewReader(kadm.NewClient(cl), snapshot.Groups(groups...))}
	// Rates over 10s rather than lagmon's 30s: the run is over before 30s.
	mon := monitor.New(monitor.Config{RateWindow: 10 * time.Second})
	board := dashboard.New(dashboard.Refresh(dashboardEvery))
	reg := prometheus.NewRegistry()
	reg.MustRegister(promexport.New(mon.Latest))
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.Handle("/", board)

	ctx, cancel := context.WithCancel(context.Background())
	d := &lagDashboard{
		url: "http://" + ln.Addr().String(), note: note,
		srv:    &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second},
		cancel: cancel, done: make(chan struct{}), client: cl,
	}
	go func() { _ = d.srv.Serve(ln) }()
	go func() {
		defer close(d.done)
		mon.Run(ctx, reader, dashboardEvery, log, board.Update)
	}()
	return d, nil
}

// stop shuts the HTTP server down and stops sampling.
func (d *lagDashboard) stop() {
	if d.srv == nil {
		return
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = d.srv.Shutdown(shutdownCtx)
	d.cancel()
	<-d.done
	d.client.Close()
}

// groupsYetToJoin reads snapshots like its Reader, without reporting the
// groups that do not exist yet as errors. snapshot leaves out a group Kafka
// describes as Dead, but kfake answers GROUP_ID_NOT_FOUND instead, and the
// demo starts sampling before the processors have joined.
type groupsYetToJoin struct{ *snapshot.Reader }

func (r groupsYetToJoin) Read(ctx context.Context) (snapshot.Snapshot, error) {
	s, err := r.Reader.Read(ctx)
	joined, ok := err.(interface{ Unwrap() []error })
	if !ok {
		return s, err
	}
	var kept []error
	for _, e := range joined.Unwrap() {
		if !errors.Is(e, kerr.GroupIDNotFound) {
			kept = append(kept, e)
		}
	}
	return s, errors.Join(kept...)
}
