// Package runner is the shared main of Sluice's processor binaries: it
// parses the flags every processor has (connection, group, concurrency,
// ordering, wire format, metrics address), serves /metrics, /healthz and
// /readyz, builds the processor and runs it until SIGINT or SIGTERM.
//
// At start it waits up to --kafka-wait (a minute) for the brokers to
// answer, for this client to be accepted and for its input topics to be
// visible to it, with /readyz saying why meanwhile, and exits with the
// classified reason (package kafkaconn) when that does not happen. Once
// running, a group session that Kafka keeps refusing (authentication,
// authorization, TLS) makes /readyz fail with the reason and, after
// --kafka-wait, ends the processor with exit status 1; a broker that
// becomes unreachable only makes it unready until it is back.
package runner

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/sluice-dev/sluice/internal/envflag"
	"github.com/sluice-dev/sluice/internal/logflag"
	"github.com/sluice-dev/sluice/internal/ports"
	"github.com/sluice-dev/sluice/internal/signals"
	"github.com/sluice-dev/sluice/pipeline"
	"github.com/sluice-dev/sluice/pipeline/kafkaconn"
	"github.com/sluice-dev/sluice/schemas"
)

// EnvPrefix prefixes the environment variable of every flag.
const EnvPrefix = "SLUICE"

// Spec describes one processor binary.
type Spec struct {
	// Name is the processor's name: its default group and client ID
	// (sluice-<Name>), and the key of its default --metrics-addr in
	// internal/ports (a name the table lacks has metrics off by default).
	Name     string
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
	KafkaWait      time.Duration

	RetryDelays     string
	DeadLetterTopic string
	ConnectHeaders  bool
	HandlerTimeout  time.Duration
	OnError         string
	PanicsRetryable bool
	CreateTopics    bool
	SessionTimeout  time.Duration
	InstanceID      string
	Guarantee       string

	profiling profiling // --pprof-addr (pprof.go)
}

func (c *Common) register(fs *flag.FlagSet, spec Spec) {
	c.Conn.Brokers = []string{"127.0.0.1:9092"}
	c.Conn.ClientID = "sluice-" + spec.Name
	c.Conn.RegisterFlags(fs)
	fs.StringVar(&c.Group, "group", spec.Name, "consumer group; run more instances with the same group to scale out")
	fs.StringVar(&c.Inputs, "input", strings.Join(spec.Inputs, ","), "comma-separated input topics")
	fs.IntVar(&c.Workers, "workers", runtime.GOMAXPROCS(0), "handlers running at once; the default (GOMAXPROCS) suits CPU-bound work, and light handlers run on one worker whatever it is (see pipeline.Workers)")
	fs.StringVar(&c.Ordering, "ordering", "key", "key: same key in order, different keys in parallel; partition: one record at a time per partition; unordered")
	maxInFlight := spec.MaxInFlight
	if maxInFlight == 0 {
		maxInFlight = pipeline.DefaultMaxInFlightRecords
	}
	fs.IntVar(&c.MaxInFlight, "max-in-flight", maxInFlight, "records fetched but not finished before fetching pauses: bounds memory, and the work redone after a crash or finished before a graceful stop")
	fs.DurationVar(&c.CommitInterval, "commit-interval", time.Second, "how often finished offsets are committed (also on rebalance and shutdown)")
	fs.StringVar(&c.Format, "format", "single-object", "Avro wire format: single-object (no registry) or confluent (needs --registry-url)")
	fs.StringVar(&c.RegistryURL, "registry-url", "", "Confluent Schema Registry URL; implies --format confluent")
	metricsAddr, _ := ports.Default(spec.Name, "metrics-addr")
	fs.StringVar(&c.MetricsAddr, "metrics-addr", metricsAddr, "address for /metrics, /healthz and /readyz; each binary has its own default port, so all run on one host (empty disables)")
	fs.StringVar(&c.LogLevel, "log-level", "info", logflag.Usage+"; debug adds the Kafka client's own lines (connections, group joins, heartbeats, commits)")
	fs.DurationVar(&c.KafkaWait, "kafka-wait", time.Minute, "how long Kafka may fail to answer or refuse this processor (wrong password, missing ACL, untrusted certificate), at start or later for its group, before it exits with the reason; /readyz says why meanwhile")
	fs.StringVar(&c.RetryDelays, "retry-delays", "5s,30s,5m", "retry tiers: a record failing with a retryable error is retried after each delay in turn (topics <input>.retry.<delay>), then dead-lettered; empty: no retries")
	fs.StringVar(&c.DeadLetterTopic, "dlq-topic", "", "dead-letter topic (default <input>.dlq)")
	fs.BoolVar(&c.ConnectHeaders, "connect-headers", false, "write Kafka Connect's __connect.errors.* header names on dead-letter records")
	fs.DurationVar(&c.HandlerTimeout, "handler-timeout", 0, "per-record handler deadline; a timed-out record is retried (0: none)")
	fs.StringVar(&c.OnError, "on-error", "route", "route: failed records go to retry tiers and the dead-letter topic; stop: the processor stops at the first failed record (the retry and dead-letter flags then do not apply)")
	fs.BoolVar(&c.PanicsRetryable, "panics-retryable", false, "retry records whose handler panicked instead of dead-lettering them at once")
	fs.BoolVar(&c.CreateTopics, "create-topics", true, "create missing retry and dead-letter topics at start")
	fs.DurationVar(&c.SessionTimeout, "session-timeout", 45*time.Second, "consumer-group session timeout: how long a silent instance keeps its partitions")
	fs.StringVar(&c.Guarantee, "guarantee", "at-least-once", "at-least-once: a crash may process records again; exactly-once: outputs and offsets commit together in Kafka transactions, once per --commit-interval, so read_committed readers see every output once (needs the transactional-ID ACLs)")
	host, _ := os.Hostname()
	fs.StringVar(&c.InstanceID, "instance-id", host, "static group membership: a restart with the same ID takes back its partitions at once; every live instance of a group needs its own (default: the host name, so a StatefulSet pod keeps its identity); empty: dynamic membership")
	c.profiling.register(fs)
}

// membership turns --instance-id into its option.
func (c *Common) membership() ([]pipeline.Option, error) {
	var opts []pipeline.Option
	if c.InstanceID != "" {
		opts = append(opts, pipeline.InstanceID(c.InstanceID))
	}
	switch c.Guarantee {
	case "at-least-once":
	case "exactly-once":
		opts = append(opts, pipeline.ExactlyOnce())
	default:
		return nil, fmt.Errorf("--guarantee %q: want at-least-once or exactly-once", c.Guarantee)
	}
	return opts, nil
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
	switch c.OnError {
	case "route":
	case "stop":
		// Stopping replaces the failure path: the routing flags would do
		// nothing, and the library refuses them. --retry-delays has a
		// default, so only the flags without one are an error here.
		if c.DeadLetterTopic != "" || c.ConnectHeaders {
			return nil, fmt.Errorf("--on-error stop: --dlq-topic and --connect-headers only apply with --on-error route")
		}
		opts = append(opts, pipeline.StopOnError())
		if c.HandlerTimeout > 0 {
			opts = append(opts, pipeline.HandlerTimeout(c.HandlerTimeout))
		}
		if c.PanicsRetryable {
			opts = append(opts, pipeline.PanicsRetryable())
		}
		return opts, nil
	default:
		return nil, fmt.Errorf("--on-error %q: want route or stop", c.OnError)
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
	log, err := logflag.New(c.LogLevel, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", spec.Name, err)
		return 2
	}
	if c.KafkaWait <= 0 {
		fmt.Fprintf(stderr, "%s: --kafka-wait %s: want a positive duration like 1m\n", spec.Name, c.KafkaWait)
		return 2
	}
	if err := run(spec, &c, log); err != nil {
		log.Error("exiting", "processor", spec.Name, "err", err)
		if errors.As(err, new(*kafkaconn.ConfigError)) {
			return 2
		}
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
	memberOpts, err := c.membership()
	if err != nil {
		return err
	}
	ctx, stop := signals.Context(context.Background())
	defer stop()
	ctx, giveUp := context.WithCancelCause(ctx)
	defer giveUp(nil)
	h := newHealth(c.Group, c.KafkaWait, giveUp, log)
	clientOpts := append(connOpts, kafkaconn.WithClientLogger(log))

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	p, err := pipeline.New(spec.Name, handler, append([]pipeline.Option{
		pipeline.Group(c.Group),
		pipeline.Topics(splitList(c.Inputs)...),
		pipeline.Workers(c.Workers),
		pipeline.OrderBy(ordering),
		pipeline.MaxInFlight(c.MaxInFlight, pipeline.DefaultMaxInFlightBytes),
		pipeline.CommitInterval(c.CommitInterval),
		pipeline.ClientOptions(append(clientOpts, kgo.SessionTimeout(c.SessionTimeout), kgo.WithHooks(h))...),
		pipeline.Logger(log),
		pipeline.Metrics(reg),
	}, append(failureOpts, memberOpts...)...)...)
	if err != nil {
		return err
	}

	_, stopProfiling, err := c.profiling.serve(log)
	if err != nil {
		return err
	}
	defer stopProfiling()
	if c.MetricsAddr != "" {
		srv, err := ServeOps(c.MetricsAddr, reg, h.ready)
		if err != nil {
			return err
		}
		defer srv.Close()
		log.Info("serving metrics and health", "addr", "http://"+srv.Addr+"/metrics")
	}
	// A missing input topic ends the processor at once, as it does in the
	// runtime; anything else gets --kafka-wait.
	if err := WaitForKafka(ctx, c.Conn, clientOpts, splitList(c.Inputs), c.KafkaWait, log, h.waiting); err != nil {
		if ctx.Err() != nil {
			return nil // stopped while waiting for Kafka
		}
		if errors.Is(err, kafkaconn.ErrTopicMissing) {
			return fmt.Errorf("--input: %w", err)
		}
		return fmt.Errorf("%w (--kafka-wait)", err)
	}
	h.start()
	err = p.Run(ctx)
	h.stop()
	var refused *refusedError
	if cause := context.Cause(ctx); err == nil && errors.As(cause, &refused) {
		return cause
	}
	return kafkaconn.Classify(err)
}

// WaitForKafka waits (up to wait, logging why) until the brokers answer a
// client built from opts, accept it, and let it describe topics: a binary
// started beside its broker, as in a compose file, waits for it, and one
// whose credentials or ACLs are not in place yet gets that long for them,
// while a wrong address or password still ends in a clear error instead
// of retrying silently forever. A missing topic ends it at once. Each
// reason it waits for, classified with conn.Diagnose, goes to onWait (if
// not nil) and, when it changes, to the log.
func WaitForKafka(ctx context.Context, conn kafkaconn.Config, opts []kgo.Opt, topics []string, wait time.Duration, log *slog.Logger, onWait func(error)) error {
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	deadline := time.Now().Add(wait)
	var last string
	for {
		pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := cl.Ping(pctx)
		if err == nil {
			err = kafkaconn.CheckTopics(pctx, adm, topics...)
		}
		cancel()
		if err == nil || ctx.Err() != nil {
			return err
		}
		err = conn.Diagnose(ctx, err)
		if errors.Is(err, kafkaconn.ErrTopicMissing) {
			return err
		}
		if onWait != nil {
			onWait(err)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("gave up waiting for Kafka after %s: %w", wait, err)
		}
		if msg := err.Error(); msg != last {
			log.Warn("waiting for Kafka", "gives_up_in", time.Until(deadline).Round(time.Second), "err", err)
			last = msg
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
}

// ServeOps serves /metrics from reg, /healthz (always 200) and /readyz (200
// while ready returns nil; 503 with the error it returns, the reason,
// otherwise) on addr, the value of --metrics-addr.
// A busy address is an error naming --metrics-addr and its environment
// variable. The caller closes the server.
func ServeOps(addr string, reg *prometheus.Registry, ready func() error) (*http.Server, error) {
	ln, err := ports.Listen("metrics-addr", envflag.Name(EnvPrefix, "metrics-addr"), addr)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if why := ready(); why != nil {
			http.Error(w, "not ready: "+why.Error(), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	srv := &http.Server{Addr: ln.Addr().String(), Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return srv, nil
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
