// Command status serves the current status of every order over HTTP, from a
// materialized view of the compacted order-status topic that it rebuilds
// from the start of the topic on every start. Run --help for the options.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluice-dev/sluice/internal/envflag"
	"github.com/sluice-dev/sluice/internal/runner"
	"github.com/sluice-dev/sluice/internal/signals"
	"github.com/sluice-dev/sluice/pipeline/kafkaconn"
	"github.com/sluice-dev/sluice/processors/order"
	"github.com/sluice-dev/sluice/processors/status"
)

const synopsis = `usage: status [options]

Keeps an in-memory view of the compacted order-status topic (rebuilt from the
start of the topic at every start, then kept up to date) and answers
  GET /orders/{id}   the order's current status, reason and when it changed
                     (404 with a JSON error for unknown IDs, 503 while loading)
  GET /healthz       liveness
  GET /readyz        200 once the view has caught up with the topic
Every instance reads the whole topic: no consumer group, scale by adding
instances behind a load balancer.`

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	conn := kafkaconn.Config{Brokers: []string{"127.0.0.1:9092"}}
	conn.RegisterFlags(fs)
	topic := fs.String("status-topic", order.TopicStatus, "compacted order-status topic to follow")
	listen := fs.String("listen", "127.0.0.1:8080", "address to serve HTTP on")
	format := fs.String("format", "single-object", "Avro wire format: single-object or confluent (with --registry-url)")
	registry := fs.String("registry-url", "", "Confluent Schema Registry URL")
	fs.Usage = envflag.Usage(fs, runner.EnvPrefix, synopsis)
	if err := envflag.Parse(fs, runner.EnvPrefix, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(os.Stderr, "status: %v\nRun status --help for the options.\n", err)
		return 2
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := serve(conn, *topic, *listen, *format, *registry, log); err != nil {
		log.Error("exiting", "err", err)
		return 1
	}
	return 0
}

func serve(conn kafkaconn.Config, topic, listen, format, registry string, log *slog.Logger) error {
	opts, err := conn.Options()
	if err != nil {
		return err
	}
	serde, err := runner.Serde(format, registry)
	if err != nil {
		return err
	}
	cl, err := kgo.NewClient(append(opts, status.ClientOpts(topic)...)...)
	if err != nil {
		return err
	}
	defer cl.Close()
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("--listen %s: %w", listen, err)
	}
	ctx, stop := signals.Context(context.Background())
	defer stop()
	view := status.NewView(serde)
	srv := &http.Server{Handler: status.NewHandler(view), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	log.Info("serving order status", "addr", "http://"+ln.Addr().String()+"/orders/{id}", "topic", topic)
	start := time.Now()
	err = status.Follow(ctx, cl, topic, view, func() {
		log.Info("status view ready", "orders", view.Len(), "took", time.Since(start).Round(time.Millisecond))
	})
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutdownCtx)
	return err
}
