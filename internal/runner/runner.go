// Package runner is the shared main of Sluice's processor binaries: it
// parses the flags every processor has (connection, group, concurrency,
// ordering, wire format, metrics address), serves /metrics, /healthz and
// /readyz, builds the processor and runs it until SIGINT or SIGTERM.
package runner

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/sluice-dev/sluice/internal/envflag"
	"github.com/sluice-dev/sluice/internal/signals"
	"github.com/sluice-dev/sluice/pipeline"
	"github.com/sluice-dev/sluice/pipeline/kafkaconn"
	"github.com/sluice-dev/sluice/schemas"
)

// EnvPrefix prefixes the environment variable of every flag.
const EnvPrefix = "SLUICE"

// Spec describes one processor binary.
type Spec struct {
	Name     string   // processor name: default group, client ID, metrics label
	Synopsis string   // first lines of --help
	Inputs   []string // default input topics
	// MaxInFlight is the default of --max-in-flight; 0 means the
	// library's (pipeline.DefaultMaxInFlightRecords), right for fast handlers. A slow stage sets a few seconds' worth of records.
	MaxInFlight int
	// Flags registers the processor's own flags.
	Flags func(fs *flag.FlagSet)
	// Handler builds the handler once flags are parsed.
	Handler func(serde *schemas.Serde) (pipeline.Handler, error)
}

// Common holds the flags every processor shares.
type Common struct {
	Conn           kafkaconn.Config
	Group          string
	Inputs         string
	Workers        int
	Ordering       string
	MaxInFlight    int
	CommitInterval time.Duration
	Format         string
	RegistryURL    string
	MetricsAddr    string
	LogLevel       string

	RetryDelays     string
	DeadLetterTopic string
	ConnectHeaders  bool
	HandlerTimeout  time.Duration
	OnError         string
	PanicsRetryable bool
	CreateTopics    bool
	SessionTimeout  time.Duration

	profiling profiling // --pprof-addr (pprof.go)
}

func (c *Common) register(fs *flag.FlagSet, spec Spec) {
	c.Conn.Brokers = []string{"127.0.0.1:9092"}
	c.Conn.RegisterFlags(fs)
	fs.StringVar(&c.Group, "group", spec.Name, "consumer group; run more instances with the same group to scale out")
	fs.StringVar(&c.Inputs, "input", strings.Join(spec.Inputs, ","), "comma-separated input topics")
	fs.IntVar(&c.Workers, "workers", runtime.GOMAXPROCS(0), "handlers running at once; the default (GOMAXPROCS) suits CPU-bound work")
	fs.StringVar(&c.Ordering, "ordering", "key", "key: same key in order, different keys in parallel; partition: one record at a time per partition; unordered")
	maxInFlight := spec.MaxInFlight
	if maxInFlight == 0 {
		maxInFlight = pipeline.DefaultMaxInFlightRecords
	}
	fs.IntVar(&c.MaxInFlight, "max-in-flight", maxInFlight, "records fetched but not finished before fetching pauses: bounds memory, and the work redone after a crash or finished before a graceful stop")
	fs.DurationVar(&c.CommitInterval, "commit-interval", time.Second, "how often finished offsets are committed (also on rebalance and shutdown)")
	fs.StringVar(&c.Format, "format", "single-object", "Avro wire format: single-object (no registry) or confluent (needs --registry-url)")
	fs.StringVar(&c.RegistryURL, "registry-url", "", "Confluent Schema Registry URL; implies --format confluent")
	fs.StringVar(&c.MetricsAddr, "metrics-addr", "127.0.0.1:9464", "address for /metrics, /healthz and /readyz (empty disables)")
	fs.StringVar(&c.LogLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&c.RetryDelays, "retry-delays", "5s,30s,5m", "retry tiers: a record failing with a retryable error is retried after each delay in turn (topics <input>.retry.<delay>), then dead-lettered; empty: no retries")
	fs.StringVar(&c.DeadLetterTopic, "dlq-topic", "", "dead-letter topic (default <input>.dlq)")
	fs.BoolVar(&c.ConnectHeaders, "connect-headers", false, "write Kafka Connect's __connect.errors.* header names on dead-letter records")
	fs.DurationVar(&c.HandlerTimeout, "handler-timeout", 0, "per-record handler deadline; a timed-out record is retried (0: none)")
	fs.StringVar(&c.OnError, "on-error", "route", "route: failed records go to retry tiers and the dead-letter topic; stop: the processor stops at the first failed record")
	fs.BoolVar(&c.PanicsRetryable, "panics-retryable", false, "retry records whose handler panicked instead of dead-lettering them at once")
	fs.BoolVar(&c.CreateTopics, "create-topics", true, "create missing retry and dead-letter topics at start")
	fs.DurationVar(&c.SessionTimeout, "session-timeout", 45*time.Second, "consumer-group session timeout: how long a silent instance keeps its partitions")
	c.profiling.register(fs)
}

// options turns the failure-handling flags into processor options.
func (c *Common) options() ([]pipeline.Option, error) {
	var opts []pipeline.Option
	var delays []time.Duration
	for _, s := range splitList(c.RetryDelays) {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("--retry-delays %q: %q is not a positive duration like 5s or 5m", c.RetryDelays, s)
		}
		delays = append(delays, d)
	}
	opts = append(opts, pipeline.RetryDelays(delays...), pipeline.CreateTopics(c.CreateTopics))
	if c.DeadLetterTopic != "" {
		opts = append(opts, pipeline.DeadLetterTopic(c.DeadLetterTopic))
	}
	if c.ConnectHeaders {
		opts = append(opts, pipeline.ConnectHeaders())
	}
	if c.HandlerTimeout > 0 {
		opts = append(opts, pipeline.HandlerTimeout(c.HandlerTimeout))
	}
	if c.PanicsRetryable {
		opts = append(opts, pipeline.PanicsRetryable())
	}
	switch c.OnError {
	case "route":
	case "stop":
		opts = append(opts, pipeline.StopOnError())
	default:
		return nil, fmt.Errorf("--on-error %q: want route or stop", c.OnError)
	}
	return opts, nil
}

// Serde builds the Avro serde the flags ask for.
func (c *Common) Serde() (*schemas.Serde, error) { return Serde(c.Format, c.RegistryURL) }

// Serde builds the Avro serde for a --format and --registry-url pair; every
// binary that reads or writes Avro takes those two flags.
func Serde(format, registryURL string) (*schemas.Serde, error) {
	set, err := schemas.Load()
	if err != nil {
		return nil, err
	}
	if registryURL != "" {
		rc, err := sr.NewClient(sr.URLs(registryURL))
		if err != nil {
			return nil, fmt.Errorf("--registry-url %s: %w", registryURL, err)
		}
		return schemas.NewSerde(set, schemas.WithRegistry(rc))
	}
	f, err := schemas.ParseFormat(format)
	if err != nil {
		return nil, fmt.Errorf("--format: %w", err)
	}
	if f == schemas.Confluent {
		return nil, errors.New("--format confluent needs --registry-url")
	}
	return schemas.NewSerde(set, schemas.WithFormat(f))
}

// Main runs the binary described by spec with args and returns the exit
// status: 0 after a clean shutdown, 1 on failure, 2 on bad usage.
func Main(spec Spec, args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet(spec.Name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c Common
	c.register(fs, spec)
	if spec.Flags != nil {
		spec.Flags(fs)
	}
	fs.Usage = envflag.Usage(fs, EnvPrefix, spec.Synopsis)
	if err := envflag.Parse(fs, EnvPrefix, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(stderr, "%s: %v\nRun %s --help for the options.\n", spec.Name, err, spec.Name)
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "%s: unexpected argument %q (options start with --)\n", spec.Name, fs.Arg(0))
		return 2
	}
	log, err := newLogger(c.LogLevel, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", spec.Name, err)
		return 2
	}
	if err := run(spec, &c, log); err != nil {
		log.Error("exiting", "processor", spec.Name, "err", err)
		return 1
	}
	return 0
}

func run(spec Spec, c *Common, log *slog.Logger) error {
	ordering, err := pipeline.ParseOrdering(c.Ordering)
	if err != nil {
		return fmt.Errorf("--ordering: %w", err)
	}
	connOpts, err := c.Conn.Options()
	if err != nil {
		return err
	}
	serde, err := c.Serde()
	if err != nil {
		return err
	}
	handler, err := spec.Handler(serde)
	if err != nil {
		return err
	}
	failureOpts, err := c.options()
	if err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	p, err := pipeline.New(spec.Name, handler, append([]pipeline.Option{
		pipeline.Group(c.Group),
		pipeline.Topics(splitList(c.Inputs)...),
		pipeline.Workers(c.Workers),
		pipeline.WithOrdering(ordering),
		pipeline.MaxInFlight(c.MaxInFlight, pipeline.DefaultMaxInFlightBytes),
		pipeline.CommitInterval(c.CommitInterval),
		pipeline.ClientOptions(append(connOpts, kgo.SessionTimeout(c.SessionTimeout))...),
		pipeline.Logger(log),
		pipeline.Metrics(reg),
	}, failureOpts...)...)
	if err != nil {
		return err
	}
	ctx, stop := signals.Context(context.Background())
	defer stop()

	_, stopProfiling, err := c.profiling.serve(log)
	if err != nil {
		return err
	}
	defer stopProfiling()
	var ready atomic.Bool
	if c.MetricsAddr != "" {
		srv, err := serveOps(c.MetricsAddr, reg, &ready)
		if err != nil {
			return err
		}
		defer srv.Close()
		log.Info("serving metrics and health", "addr", "http://"+srv.Addr+"/metrics")
	}
	if err := ping(ctx, connOpts, log); err != nil {
		if ctx.Err() != nil {
			return nil // stopped while waiting for Kafka
		}
		return err
	}
	ready.Store(true)
	err = p.Run(ctx)
	ready.Store(false)
	return err
}

// ping waits (up to a minute, logging why) for the brokers to answer before
// joining the group: a processor started beside its broker, as in a
// compose file, waits for it, while a wrong address still ends in a clear
// error instead of retrying silently forever.
func ping(ctx context.Context, opts []kgo.Opt, log *slog.Logger) error {
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return err
	}
	defer cl.Close()
	deadline := time.Now().Add(time.Minute)
	for {
		pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := cl.Ping(pctx)
		cancel()
		if err == nil || ctx.Err() != nil {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("cannot reach Kafka for a minute (check --brokers, TLS and SASL settings): %w", err)
		}
		log.Warn("waiting for Kafka", "err", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
}

func serveOps(addr string, reg *prometheus.Registry, ready *atomic.Bool) (*http.Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--metrics-addr %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !ready.Load() {
			http.Error(w, "not ready: connecting to Kafka or shutting down", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	srv := &http.Server{Addr: ln.Addr().String(), Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return srv, nil
}

func newLogger(level string, w io.Writer) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l})), nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
