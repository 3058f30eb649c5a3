package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluice-dev/sluice/internal/logflag"
	"github.com/sluice-dev/sluice/lag/monitor"
	"github.com/sluice-dev/sluice/lag/snapshot"
	"github.com/sluice-dev/sluice/lag/status"
	"github.com/sluice-dev/sluice/pipeline/kafkaconn"
)

// watchFlags are the flags both modes share: what to watch and how to judge.
type watchFlags struct {
	conn       kafkaconn.Config
	groups     string
	interval   time.Duration
	lagWindow  time.Duration
	rateWindow time.Duration
	rules      status.Rules
	logLevel   string
}

func (w *watchFlags) register(fs *flag.FlagSet, interval time.Duration) {
	w.conn.Brokers = []string{"127.0.0.1:9092"}
	w.conn.ClientID = "sluice-lagmon"
	w.conn.RegisterFlags(fs)
	fs.StringVar(&w.groups, "groups", "", "comma-separated consumer groups to watch (empty: every consumer group, including new ones)")
	fs.DurationVar(&w.interval, "interval", interval, "how often the cluster is sampled; lag in seconds is accurate to about one interval")
	fs.DurationVar(&w.lagWindow, "lag-window", 30*time.Minute, "end-offset history kept per partition; a group further behind than this has lag in seconds \"unknown\" (with a lower bound)")
	fs.DurationVar(&w.rateWindow, "rate-window", 30*time.Second, "span over which consume, produce, retry and DLQ rates are computed")
	fs.DurationVar(&w.rules.SLO, "slo", time.Minute, "lag in seconds above which a group is ERR")
	fs.Int64Var(&w.rules.MaxLag, "max-lag", 0, "lag in records above which a group is ERR (0: no limit)")
	fs.DurationVar(&w.rules.StallAfter, "stall-after", time.Minute, "committed offset unchanged this long with lag > 0 while members are connected: STALL")
	fs.DurationVar(&w.rules.StopAfter, "stop-after", 5*time.Minute, "group without members and lag > 0 is WARN at once, and STOP once its offset has been unchanged this long")
	fs.DurationVar(&w.rules.Window, "warn-window", 2*time.Minute, "lag growing through this whole window while committing: WARN")
	fs.StringVar(&w.logLevel, "log-level", "info", logflag.Usage)
}

func (w *watchFlags) logger(out io.Writer) (*slog.Logger, error) { return logflag.New(w.logLevel, out) }

// client connects to Kafka and returns the reader and monitor.
func (w *watchFlags) build() (*kgo.Client, *snapshot.Reader, *monitor.Monitor, error) {
	if w.interval <= 0 {
		return nil, nil, nil, fmt.Errorf("--interval %s: must be positive", w.interval)
	}
	opts, err := w.conn.Options()
	if err != nil {
		return nil, nil, nil, err
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("kafka client: %w", err)
	}
	var groups []string
	for _, g := range strings.Split(w.groups, ",") {
		if g = strings.TrimSpace(g); g != "" {
			groups = append(groups, g)
		}
	}
	reader := snapshot.NewReader(kadm.NewClient(cl), snapshot.Groups(groups...))
	mon := monitor.New(monitor.Config{Rules: w.rules, LagWindow: w.lagWindow, RateWindow: w.rateWindow})
	return cl, reader, mon, nil
}
