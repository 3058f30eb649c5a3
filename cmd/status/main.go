// Command status serves the current status of every order over HTTP, from a
// materialized view of the compacted order-status topic that it rebuilds
// from the start of the topic on every start. Run --help for the options.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluice-dev/sluice/internal/envflag"
	"github.com/sluice-dev/sluice/internal/logflag"
	"github.com/sluice-dev/sluice/internal/ports"
	"github.com/sluice-dev/sluice/internal/runner"
	"github.com/sluice-dev/sluice/internal/signals"
	"github.com/sluice-dev/sluice/pipeline/kafkaconn"
	"github.com/sluice-dev/sluice/processors/order"
	"github.com/sluice-dev/sluice/processors/status"
)

const synopsis = `usage: status [options]

Keeps an in-memory view of the compacted order-status topic (rebuilt from the
start of the topic at every start, then kept up to date) and answers, on
--listen,
  GET /orders/{id}   the order's current status, reason and when it changed
                     (404 with a JSON error for unknown IDs, 400 for IDs over
                     256 bytes, 503 while loading)
  GET /healthz       liveness
  GET /readyz        200 once the view has caught up with the topic
and serves Prometheus metrics, /healthz and /readyz on --metrics-addr.
An order's status never goes back: a record ranked below the one the view
holds (a SCORED after the CONFIRMED, from a stage that redid the order) is
ignored and counted in sluice_status_records_ignored_total. Only committed
records are read (read_committed).
Every instance reads the whole topic: no consumer group, scale by adding
instances behind a load balancer.`

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

// flags are status's command line.
type flags struct {
	conn        kafkaconn.Config
	topic       string
	listen      string
	metricsAddr string
	format      string
	registry    string
	logLevel    string
}

func parse(args []string, stderr io.Writer) (flags, error) {
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	fs.SetOutput(stderr)
	f := flags{conn: kafkaconn.Config{Brokers: []string{"127.0.0.1:9092"}, ClientID: "sluice-status"}}
	f.conn.RegisterFlags(fs)
	listen, _ := ports.Default("status", "listen")
	metrics, _ := ports.Default("status", "metrics-addr")
	fs.StringVar(&f.topic, "status-topic", order.TopicStatus, "compacted order-status topic to follow")
	fs.StringVar(&f.listen, "listen", listen, "address to serve the status API (GET /orders/{id}) on")
	fs.StringVar(&f.metricsAddr, "metrics-addr", metrics, "address for /metrics, /healthz and /readyz; each binary has its own default port, so all run on one host (empty disables)")
	fs.StringVar(&f.format, "format", "single-object", "Avro wire format: single-object (no registry) or confluent (needs --registry-url)")
	fs.StringVar(&f.registry, "registry-url", "", "Confluent Schema Registry URL; implies --format confluent")
	fs.StringVar(&f.logLevel, "log-level", "info", logflag.Usage)
	fs.Usage = envflag.Usage(fs, runner.EnvPrefix, synopsis)
	if err := envflag.Parse(fs, runner.EnvPrefix, args); err != nil {
		return f, err
	}
	if fs.NArg() > 0 {
		return f, fmt.Errorf("unexpected argument %q (options start with --)", fs.Arg(0))
	}
	return f, nil
}

func run(args []string, stderr io.Writer) int {
	f, err := parse(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err == nil {
		var log *slog.Logger
		if log, err = logflag.New(f.logLevel, stderr); err == nil {
			// The view logs skipped records through slog's default.
			slog.SetDefault(log)
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "status: %v\nRun status --help for the options.\n", err)
		return 2
	}
	if err := serve(f, slog.Default()); err != nil {
		slog.Error("exiting", "err", err)
		return 1
	}
	return 0
}

func serve(f flags, log *slog.Logger) error {
	opts, err := f.conn.Options()
	if err != nil {
		return err
	}
	serde, err := runner.Serde(f.format, f.registry)
	if err != nil {
		return err
	}
	cl, err := kgo.NewClient(append(opts, status.ClientOpts(f.topic)...)...)
	if err != nil {
		return err
	}
	defer cl.Close()
	view := status.NewView(serde)
	ln, err := ports.Listen("listen", envflag.Name(runner.EnvPrefix, "listen"), f.listen)
	if err != nil {
		return err
	}
	if f.metricsAddr != "" {
		reg := prometheus.NewRegistry()
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "sluice_status_view_orders", Help: "Orders in the status view."},
				func() float64 { return float64(view.Len()) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "sluice_status_view_ready", Help: "1 once the status view has caught up with the topic."},
				func() float64 { return b2f(view.Ready()) }))
		if err := view.RegisterMetrics(reg); err != nil {
			ln.Close()
			return err
		}
		ops, err := runner.ServeOps(f.metricsAddr, reg, view.Ready)
		if err != nil {
			ln.Close()
			return err
		}
		defer ops.Close()
		log.Info("serving metrics and health", "addr", "http://"+ops.Addr+"/metrics")
	}
	ctx, stop := signals.Context(context.Background())
	defer stop()
	srv := &http.Server{Handler: status.NewHandler(view), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	log.Info("serving order status", "addr", "http://"+ln.Addr().String()+"/orders/{id}", "topic", f.topic)
	start := time.Now()
	err = status.Follow(ctx, cl, f.topic, view, func() {
		log.Info("status view ready", "orders", view.Len(), "took", time.Since(start).Round(time.Millisecond))
	})
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutdownCtx)
	return err
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
