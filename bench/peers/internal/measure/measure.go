// Package measure runs one contender process against a loaded input and
// measures it from outside. It polls the consumer group (the admin API):
// first until the group is Stable with a member (the contender has joined
// and got its partitions), then until the group's committed offsets reach
// the input's end offsets. The processing window runs from the join to the
// end; the process's and the broker's CPU time are sampled from /proc at
// every poll, and its peak RSS at the end.
//
// The window starts at the join, not at the first output record, because
// contenders differ in when the first output becomes visible (a loop that
// handles a whole polled batch before its producer's first request lands
// would be credited with work done before it); from the join on, every
// contender faces the same remaining work.
package measure

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/sluice-dev/sluice/bench/peers/internal/proc"
	"github.com/sluice-dev/sluice/bench/peers/internal/workload"
)

// Status is how a run ended.
type Status string

const (
	OK      Status = "ok"      // committed offsets reached the end of the input
	Timeout Status = "timeout" // still short of the end at the workload's limit
	Failed  Status = "failed"  // exited early, or could not be measured
	Skipped Status = "skipped" // not run (contender unavailable)
)

// Result is what one run measured.
type Result struct {
	Status Status
	Err    string // why it failed or timed out, with the tail of its log
	// Done is the number of input records below the committed offsets
	// when the run ended (all of them, unless it timed out).
	Done int64
	// Startup is from process start to the group join (JVM or binary
	// start, client set-up, join and sync); Window from the join to the
	// poll that saw the committed offsets at the end of the input (or the
	// limit): the time Rate (Done / Window, records per second) is over.
	Startup, Window time.Duration
	Rate            float64
	// CPU is the contender's CPU time (user+system, all threads) over
	// Window and StartCPU before it; BrokerCPU the broker's over Window.
	CPU, StartCPU, BrokerCPU time.Duration

	PeakRSS int64 // bytes, VmHWM when the run ended
	// Shutdown is from SIGTERM to the process's exit; Killed says it
	// did not exit within 30s and was killed.
	Shutdown time.Duration
	Killed   bool
	// Committed is what the group committed after the process exited: what
	// a successor would resume from. Outputs of records below it must exist.
	Committed map[int32]int64
}

// sample is the contender's and the broker's CPU time at one moment.
type sample struct {
	at        time.Time
	cpu, bcpu time.Duration
}

// Env is what every run shares.
type Env struct {
	Admin     *kadm.Client
	BrokerPid int
	Poll      time.Duration // how often offsets are polled (default 25ms)
}

// Run waits until every partition of output has a leader, starts cmd (a
// contender reading in as group and writing output), measures it as the
// package comment says, stops it with SIGTERM (SIGKILL after 30s), and
// returns the result. The contender's
// stdout and stderr go to logPath.
func Run(ctx context.Context, env Env, cmd *exec.Cmd, in *workload.Input, group, output, logPath string) Result {
	poll := env.Poll
	if poll <= 0 {
		poll = 25 * time.Millisecond
	}
	logFile, err := os.Create(logPath)
	if err != nil {
		return Result{Status: Failed, Err: fmt.Sprintf("contender log: %v", err)}
	}
	defer logFile.Close()
	fmt.Fprintf(logFile, "# %s\n", strings.Join(cmd.Args, " "))
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// Own process group (a ^C reaches only the harness, which stops it);
	// killed if the harness dies.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}

	if err := waitReady(ctx, env.Admin, output, in.Partitions); err != nil {
		return Result{Status: Failed, Err: err.Error()}
	}
	if err := cmd.Start(); err != nil {
		return Result{Status: Failed, Err: fmt.Sprintf("start %s: %v", cmd.Path, err)}
	}
	pid := cmd.Process.Pid
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	take := func() (sample, error) {
		c, err1 := proc.CPU(pid)
		b, err2 := proc.CPU(env.BrokerPid)
		return sample{time.Now(), c, b}, firstErr(err1, err2)
	}

	var (
		res          Result
		begin, join  sample
		lastErr      error
		processEnded bool
	)
	if begin, err = take(); err != nil {
		res.Status, res.Err = Failed, err.Error()
	}
	tick := time.NewTicker(poll)
	defer tick.Stop()
	for res.Status == "" {
		select {
		case err := <-exited:
			processEnded = true
			res.Status = Failed
			res.Err = fmt.Sprintf("exited before its commits reached the end of the input (%v)\n%s", err, tail(logPath))
			continue
		case <-ctx.Done():
			res.Status, res.Err = Failed, "interrupted"
			continue
		case <-tick.C:
		}
		// Samples are taken after the request they belong to returned: on
		// a busy broker a request can take a while.
		if join.at.IsZero() {
			ok, err := joined(ctx, env.Admin, group)
			if err != nil {
				lastErr = err
			}
			if !ok {
				if time.Since(begin.at) >= in.Limit {
					res.Status = Failed
					res.Err = fmt.Sprintf("did not join its consumer group within %s\n%s", in.Limit, tail(logPath))
				}
				continue
			}
			if join, err = take(); err != nil {
				res.Status, res.Err = Failed, err.Error()
				continue
			}
		}
		done, err := committed(ctx, env.Admin, group, in)
		if err != nil {
			lastErr = err
			continue
		}
		end, err := take()
		if err != nil {
			res.Status, res.Err = Failed, err.Error()
			continue
		}
		res.Done = done
		switch {
		case done >= in.Records:
			res.Status = OK
		case end.at.Sub(begin.at) >= in.Limit:
			res.Status = Timeout
			res.Err = fmt.Sprintf("%d of %d records committed after %s", done, in.Records, in.Limit)
		default:
			continue
		}
		if res.PeakRSS, err = proc.PeakRSS(pid); err != nil {
			res.Status, res.Err = Failed, err.Error()
			continue
		}
		res.Startup, res.StartCPU = join.at.Sub(begin.at), join.cpu
		res.Window = end.at.Sub(join.at)
		res.Rate = float64(done) / max(res.Window.Seconds(), 1e-3)
		res.CPU, res.BrokerCPU = end.cpu-join.cpu, end.bcpu-join.bcpu
	}
	if !processEnded {
		t := time.Now()
		res.Killed = !stop(cmd, exited)
		res.Shutdown = time.Since(t)
	}
	if res.Status == Failed && lastErr != nil {
		res.Err += fmt.Sprintf(" (last admin error: %v)", lastErr)
	}
	// What the group committed once the process is gone, for the output check.
	cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res.Committed, err = committedOffsets(cctx, env.Admin, group, in)
	if err != nil && res.Status != Failed {
		res.Status, res.Err = Failed, fmt.Sprintf("committed offsets after stop: %v", err)
	}
	return res
}

// waitReady polls until every partition of a just-created topic answers
// ListOffsets, so that the polls of a run measure the contender, not the
// broker electing leaders.
func waitReady(ctx context.Context, adm *kadm.Client, topic string, partitions int32) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		ends, err := adm.ListEndOffsets(ctx, topic)
		ok := 0
		if err == nil {
			ends.Each(func(o kadm.ListedOffset) {
				if o.Err == nil {
					ok++
				}
			})
			if ok == int(partitions) {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("output topic %s: %d of %d partitions ready after 30s (last error: %v)", topic, ok, partitions, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// stop sends SIGTERM and waits up to 30s, then kills the process group;
// it reports whether the process exited by itself.
func stop(cmd *exec.Cmd, exited <-chan error) bool {
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
		return true
	case <-time.After(30 * time.Second):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
		return false
	}
}

// requestTimeout bounds each admin request of the polls, so one slow answer
// cannot stall the measurement.
const requestTimeout = 5 * time.Second

// joined reports whether group is Stable with at least one member.
func joined(ctx context.Context, adm *kadm.Client, group string) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	gs, err := adm.DescribeGroups(ctx, group)
	if err != nil {
		return false, fmt.Errorf("describe group %s: %w", group, err)
	}
	g := gs[group]
	return g.Err == nil && g.State == "Stable" && len(g.Members) > 0, nil
}

// committed returns how many input records lie below group's committed
// offsets.
func committed(ctx context.Context, adm *kadm.Client, group string, in *workload.Input) (int64, error) {
	offs, err := committedOffsets(ctx, adm, group, in)
	if err != nil {
		return 0, err
	}
	var n int64
	for p, end := range in.Ends {
		n += min(max(offs[p], 0), end)
	}
	return n, nil
}

func committedOffsets(ctx context.Context, adm *kadm.Client, group string, in *workload.Input) (map[int32]int64, error) {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	resp, err := adm.FetchOffsets(ctx, group)
	if err != nil {
		return nil, fmt.Errorf("fetch offsets of group %s: %w", group, err)
	}
	offs := make(map[int32]int64)
	var perr error
	resp.Each(func(o kadm.OffsetResponse) {
		if o.Topic != in.Topic {
			return
		}
		if o.Err != nil && perr == nil {
			perr = fmt.Errorf("offset of %s/%d in group %s: %w", o.Topic, o.Partition, group, o.Err)
		}
		offs[o.Partition] = o.At
	})
	return offs, perr
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// tail returns the last lines of a contender's log, for error messages.
func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > 20 {
		lines = lines[len(lines)-20:]
	}
	return "  " + path + ":\n    " + strings.Join(lines, "\n    ")
}
