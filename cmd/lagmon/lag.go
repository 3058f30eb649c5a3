package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/sluice-dev/sluice/internal/envflag"
	"github.com/sluice-dev/sluice/lag/monitor"
	"github.com/sluice-dev/sluice/lag/table"
)

const lagSynopsis = `usage: lagmon lag [options]

Prints every watched group's lag per partition, like
kafka-consumer-groups.sh --describe, with two more columns: how many
seconds behind the group is and its status (OK, WARN, ERR, STALL, STOP),
followed by each group's status reason.

Lag in seconds needs history: the table is printed after --samples samples
--interval apart (or read from a running lagmon with --from, which has it).
With --watch the table is redrawn every --interval and history accumulates.

A few samples judge what they can: a group with no members that is behind
is WARN from the first sample (STOP needs --stop-after of samples); a stall or a
growing lag needs --stall-after or --warn-window of samples, so a group
with members reads "OK ... (judged on 4s of samples; a stall shows only
after 1m)" until then. Use --watch or --from for the full verdict.`

func lag(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("lagmon lag", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var w watchFlags
	w.register(fs, 2*time.Second)
	watch := fs.Bool("watch", false, "redraw the table every --interval until interrupted")
	samples := fs.Int("samples", 3, "samples taken before the first table (at least 2 for lag in seconds)")
	from := fs.String("from", "", "read the report from a running lagmon at this URL (http://host:9308) instead of sampling Kafka")
	fs.Usage = envflag.Usage(fs, envPrefix, lagSynopsis)
	if err := envflag.Parse(fs, envPrefix, args); err != nil {
		return err
	}
	log, err := w.logger(stderr)
	if err != nil {
		return err
	}
	slog.SetDefault(log)
	if *from != "" {
		return printFrom(ctx, strings.TrimSuffix(*from, "/"), *watch, w.interval, stdout)
	}
	cl, reader, mon, err := w.build()
	if err != nil {
		return err
	}
	defer cl.Close()
	var rep monitor.Report
	for i := range max(1, *samples) {
		if i > 0 && !sleep(ctx, w.interval) {
			return nil
		}
		rep = mon.ReadOnce(ctx, reader)
	}
	for {
		if *watch {
			fmt.Fprintf(stdout, "\033[H\033[2J%s  every %s  (Ctrl-C to stop)\n\n", rep.Time.Format(time.TimeOnly), w.interval)
		}
		if err := table.Write(stdout, rep); err != nil {
			return err
		}
		if !*watch || !sleep(ctx, w.interval) {
			return nil
		}
		rep = mon.ReadOnce(ctx, reader)
	}
}

func printFrom(ctx context.Context, base string, watch bool, every time.Duration, stdout io.Writer) error {
	for {
		rep, err := fetchReport(ctx, base+"/api/report")
		if err != nil {
			return err
		}
		if watch {
			fmt.Fprintf(stdout, "\033[H\033[2J%s  from %s  every %s  (Ctrl-C to stop)\n\n", rep.Time.Format(time.TimeOnly), base, every)
		}
		if err := table.Write(stdout, rep); err != nil {
			return err
		}
		if !watch || !sleep(ctx, every) {
			return nil
		}
	}
}

func fetchReport(ctx context.Context, url string) (monitor.Report, error) {
	var rep monitor.Report
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return rep, fmt.Errorf("--from: %w", err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return rep, fmt.Errorf("--from: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return rep, fmt.Errorf("--from: GET %s: %s", url, res.Status)
	}
	if err := json.NewDecoder(res.Body).Decode(&rep); err != nil {
		return rep, fmt.Errorf("--from: decode %s: %w", url, err)
	}
	return rep, nil
}

// sleep waits d or until ctx is done; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
