package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluice-dev/sluice/internal/envflag"
	"github.com/sluice-dev/sluice/lag/monitor"
	"github.com/sluice-dev/sluice/lag/snapshot"
	"github.com/sluice-dev/sluice/lag/table"
	"github.com/sluice-dev/sluice/pipeline/kafkaconn"
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
after 1m)" until then. Use --watch or --from for the full verdict.

Exit status: 0 when the table shows what was asked for; 1 when Kafka
could not be read (the reason, and the flag or ACL that fixes it, on
stderr), a group named in --groups does not exist, or, without --groups,
no group is visible because the principal may not DESCRIBE the cluster.`

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
	cl, reader, mon, err := w.build(log)
	if err != nil {
		return err
	}
	defer cl.Close()
	last := &lastRead{r: reader}
	var rep monitor.Report
	for i := range max(1, *samples) {
		if i > 0 && !sleep(ctx, w.interval) {
			return nil
		}
		rep = mon.ReadOnce(ctx, last)
	}
	// The first table's read problem is the command's error, on stderr
	// and in the exit status, not a warning line in the table.
	problem := w.readProblem(ctx, cl, rep, last.err, stderr)
	if problem != nil && !*watch {
		if last.err != nil && len(rep.Groups) == 0 && len(rep.Topics) == 0 {
			return problem // nothing was read: no table of nothing
		}
		rep.Err = ""
	}
	for {
		if *watch {
			fmt.Fprintf(stdout, "\033[H\033[2J%s  every %s  (Ctrl-C to stop)\n\n", rep.Time.Format(time.TimeOnly), w.interval)
		}
		if err := table.Write(stdout, rep); err != nil {
			return err
		}
		if !*watch {
			return problem
		}
		if !sleep(ctx, w.interval) {
			return nil
		}
		rep = mon.ReadOnce(ctx, last)
	}
}

// lastRead is a snapshot reader that keeps the error of its last read,
// which the report only has as text.
type lastRead struct {
	r   monitor.Reader
	err error
}

func (l *lastRead) Read(ctx context.Context) (snapshot.Snapshot, error) {
	s, err := l.r.Read(ctx)
	l.err = err
	return s, err
}

// readProblem returns why rep is not what was asked for: the read failed
// (classified, see kafkaconn), a group named in --groups does not exist,
// or, asked for every group, none is visible because this principal may
// not DESCRIBE the cluster (Kafka then lists only the groups it may
// DESCRIBE). A partial list for want of that ACL is only a note on stderr.
func (w *watchFlags) readProblem(ctx context.Context, cl *kgo.Client, rep monitor.Report, readErr error, stderr io.Writer) error {
	if readErr != nil {
		return w.conn.Diagnose(ctx, readErr)
	}
	seen := map[string]bool{}
	for _, g := range rep.Groups {
		seen[g.Name] = true
	}
	if groups := w.groupList(); len(groups) > 0 {
		for _, g := range groups {
			if !seen[g] {
				return fmt.Errorf("--groups: group %q does not exist (no members and no committed offsets)", g)
			}
		}
		return nil
	}
	may, err := kafkaconn.MayDescribeCluster(ctx, cl)
	switch {
	case err != nil:
		return w.conn.Diagnose(ctx, err)
	case may:
		return nil
	case len(rep.Groups) == 0:
		return &kafkaconn.AuthorizationError{Resource: kafkaconn.ResourceCluster, Operation: kmsg.ACLOperationDescribe,
			Err: errors.New("no consumer group is visible: without DESCRIBE on the cluster Kafka lists only the groups this principal may DESCRIBE; or grant DESCRIBE on the groups to watch and name them with --groups")}
	}
	fmt.Fprintln(stderr, "lagmon: note: this principal may not DESCRIBE the cluster, so only the groups it may DESCRIBE are listed")
	return nil
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
