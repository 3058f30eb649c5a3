//go:build integration

package pipeline_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/sluice-dev/sluice/integration/orderchain"
	"github.com/sluice-dev/sluice/pipeline/kafkatest"
)

// TestIntegrationExactlyOnceCrashRestartZombie runs exactly-once mode on a
// real Kafka broker, with the processor in child processes:
//   - SIGKILL mid-stream, restart with the same instance ID: the restarted
//     process commits within seconds (static membership; without it the
//     dead member's 30 s session would have to expire first);
//   - a second instance joins; the first is frozen (SIGSTOP) past its
//     session timeout, the second takes its partitions, then the first is
//     resumed: its late transaction is fenced and aborted;
//   - a read_committed reader then sees every output exactly once.
func TestIntegrationExactlyOnceCrashRestartZombie(t *testing.T) {
	k := kafkatest.NewKafka(t)
	k.CreateTopic(t, "in", 4, nil)
	k.CreateTopic(t, "out", 4, nil)
	brokers := k.Brokers()
	const n = 40000
	produceKeyed(t, brokers, "in", n, 1000)
	const group = "eos-real"
	var zombieLog lockedBuffer
	child := func(instance, session string) *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^TestChildProcessor$")
		cmd.Env = append(os.Environ(), "SLUICE_CHILD_BROKERS="+brokers[0], "SLUICE_CHILD_EXACTLY_ONCE=1",
			"SLUICE_CHILD_INSTANCE="+instance, "SLUICE_CHILD_SESSION="+session, "SLUICE_CHILD_GROUP="+group)
		cmd.Stderr = os.Stderr
		if instance == "z" {
			cmd.Env = append(cmd.Env, "SLUICE_CHILD_LOG=1")
			cmd.Stderr = &zombieLog
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Signal(syscall.SIGCONT); _ = cmd.Process.Kill(); _ = cmd.Wait() })
		return cmd
	}
	committed := func() int64 { return int64(n) - sum(lagOrAll(t, brokers, group, "in", n)) }

	first := child("a", "30s")
	waitUntil(t, 120*time.Second, "an eighth committed", func() bool { return committed() > n/8 })
	_ = first.Process.Signal(syscall.SIGKILL)
	_ = first.Wait()
	killedAt := committed()
	restartedAt := time.Now()
	restarted := child("a", "30s")
	waitUntil(t, 60*time.Second, "the restarted instance to commit", func() bool { return committed() > killedAt })
	restartCommit := time.Since(restartedAt)
	if restartCommit > 15*time.Second {
		t.Errorf("the restarted instance's first commit came %s after it started; with its instance ID it must not wait for the dead member's 30s session", restartCommit)
	}

	zombie := child("z", "6s")
	_ = restarted // keeps running beside the zombie
	adm := kadm.NewClient(newClient(t, brokers))
	waitUntil(t, 60*time.Second, "the second instance to own partitions", func() bool {
		groups, err := adm.DescribeGroups(context.Background(), group)
		if err != nil {
			return false
		}
		for _, m := range groups[group].Members {
			if m.InstanceID != nil && *m.InstanceID == "z" {
				if a, ok := m.Assigned.AsConsumer(); ok && len(a.Topics) > 0 && len(a.Topics[0].Partitions) > 0 {
					return true
				}
			}
		}
		return false
	})
	waitUntil(t, 60*time.Second, "the second instance to be mid-stream", func() bool { return committed() > killedAt+int64(n/8) })
	_ = zombie.Process.Signal(syscall.SIGSTOP)
	// Everything can be committed only once the other instance took the
	// frozen one's partitions over.
	waitUntil(t, 180*time.Second, "committed = end without the frozen instance", func() bool { return committed() == n })
	woke := zombieLog.Len()
	_ = zombie.Process.Signal(syscall.SIGCONT)
	// The zombie wakes with an open transaction and tries to end it: it
	// must be aborted (or the zombie fenced), never committed.
	waitUntil(t, 60*time.Second, "the zombie to try its late transaction", func() bool {
		after := zombieLog.String()[woke:]
		return strings.Contains(after, "transaction aborted") || strings.Contains(after, "fenced") || strings.Contains(after, "FENCED")
	})
	if committed() != n {
		t.Errorf("committed offsets moved after the zombie woke: %d of %d", committed(), n)
	}
	seen := committedValues(t, brokers, "out", n, 30*time.Second)
	dups := 0
	for _, c := range seen {
		dups += c - 1
	}
	orderchain.Summary(t, fmt.Sprintf("INTEGRATION exactly-once-crash-zombie: in=%d out_distinct=%d duplicates=%d restart_first_commit=%s", n, len(seen), dups, restartCommit.Round(10*time.Millisecond)))
	if len(seen) != n || dups != 0 {
		t.Fatalf("read_committed output: %d distinct of %d, %d duplicates; want all, none", len(seen), n, dups)
	}
}
