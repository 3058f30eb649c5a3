package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluice-dev/sluice/internal/envflag"
	"github.com/sluice-dev/sluice/internal/ports"
	"github.com/sluice-dev/sluice/lag/dashboard"
	"github.com/sluice-dev/sluice/lag/monitor"
	"github.com/sluice-dev/sluice/lag/promexport"
	"github.com/sluice-dev/sluice/lag/snapshot"
)

const serveSynopsis = `usage: lagmon [serve] [options]   metrics and dashboard (this help)
       lagmon lag [options]       lag table in the terminal ("lagmon lag --help")

Samples the watched consumer groups every --interval through Kafka's admin
API and serves, on --listen:
  /          a live dashboard: lag in records and seconds over time, consume
             and produce rates, retry and DLQ counts, status and partitions
             per member
  /metrics   Prometheus metrics with kafka_exporter's names and labels
             (kafka_consumergroup_lag, ..._lag_sum, ..._current_offset,
             ..._members, kafka_topic_partition_current_offset) plus
             kafka_consumergroup_lag_seconds and sluice_lagmon_group_status
  /healthz   200 once running`

// app is a running lag monitor: the sampling loop and its HTTP handler.
type app struct {
	client  *kgo.Client
	reader  *snapshot.Reader
	monitor *monitor.Monitor
	board   *dashboard.Server
	handler http.Handler
	every   time.Duration
	log     *slog.Logger
}

func newApp(w watchFlags, log *slog.Logger) (*app, error) {
	cl, reader, mon, err := w.build()
	if err != nil {
		return nil, err
	}
	board := dashboard.New(dashboard.SLO(w.rules.SLO), dashboard.Keep(int(time.Hour/w.interval)+1))
	reg := prometheus.NewRegistry()
	reg.MustRegister(promexport.New(mon.Latest), collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.Handle("/", board)
	return &app{client: cl, reader: reader, monitor: mon, board: board, handler: mux, every: w.interval, log: log}, nil
}

// run samples until ctx is done.
func (a *app) run(ctx context.Context) {
	a.monitor.Run(ctx, a.reader, a.every, a.log, a.board.Update)
}

func (a *app) close() { a.client.Close() }

func serve(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("lagmon serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var w watchFlags
	w.register(fs, 5*time.Second)
	addr, _ := ports.Default("lagmon", "listen")
	listen := fs.String("listen", addr, "address for the dashboard, /metrics and /healthz (9308 is kafka_exporter's port)")
	fs.Usage = envflag.Usage(fs, envPrefix, serveSynopsis)
	if err := envflag.Parse(fs, envPrefix, args); err != nil {
		return err
	}
	log, err := w.logger(stderr)
	if err != nil {
		return err
	}
	a, err := newApp(w, log)
	if err != nil {
		return err
	}
	defer a.close()
	ln, err := ports.Listen("listen", envflag.Name(envPrefix, "listen"), *listen)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: a.handler, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.run(ctx)
	}()
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shut)
	}()
	log.Info("lagmon serving", "dashboard", "http://"+ln.Addr().String()+"/", "brokers", w.conn.Brokers, "groups", w.groups, "interval", w.interval)
	err = srv.Serve(ln)
	<-done
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}
