package kafkatest

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// fakeProcessEnv tells a re-executed test binary to serve as the broker of
// NewFakeProcess instead of running tests.
const fakeProcessEnv = "SLUICE_KAFKATEST_FAKE_PROCESS"

// FakeProcess is a kfake broker in a child process.
type FakeProcess struct {
	brokers []string
	adm     *kadm.Client
	cfg     config
}

var _ Cluster = (*FakeProcess)(nil)

// NewFakeProcess starts kfake in a child process, the test binary itself
// re-executed, and stops it when the test ends. Benchmarks use it so the
// broker's CPU and memory are not the measured process's. The package's
// TestMain must call [Main], which runs the child.
func NewFakeProcess(t testing.TB, opts ...Option) *FakeProcess {
	t.Helper()
	cfg := newConfig(opts)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%d", fakeProcessEnv, max(cfg.nodes, 1)))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe() // closed when we exit: the child then exits too
	if err != nil {
		t.Fatalf("kafkatest: NewFakeProcess: %v", err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("kafkatest: NewFakeProcess: %v", err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("kafkatest: NewFakeProcess: %v", err)
	}
	t.Cleanup(func() { _ = stdin.Close(); _ = cmd.Process.Kill(); _ = cmd.Wait() })
	sc := bufio.NewScanner(out)
	var brokers []string
	for sc.Scan() {
		if addrs, ok := strings.CutPrefix(sc.Text(), "KAFKATEST-BROKERS "); ok {
			brokers = strings.Split(addrs, ",")
			break
		}
	}
	if brokers == nil {
		t.Fatalf("kafkatest: NewFakeProcess: the child printed no broker address (does TestMain call kafkatest.Main?)")
	}
	go func() { _, _ = io.Copy(io.Discard, out) }()
	f := &FakeProcess{brokers: brokers, cfg: cfg}
	f.adm = kadm.NewClient(newClient(t, brokers, nil))
	return f
}

// Brokers implements [Cluster].
func (f *FakeProcess) Brokers() []string { return f.brokers }

// CreateTopic implements [Cluster].
func (f *FakeProcess) CreateTopic(t testing.TB, name string, partitions int32, configs map[string]string) {
	t.Helper()
	createTopic(t, f.adm, f.cfg.rf, 10*time.Second, name, partitions, configs)
}

// Client implements [Cluster].
func (f *FakeProcess) Client(t testing.TB, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	return newClient(t, f.brokers, opts)
}

// serveFakeProcess is the child of NewFakeProcess: it runs the broker until
// its stdin closes (the parent ended) and exits.
func serveFakeProcess(nodes string) {
	var n int
	fmt.Sscan(nodes, &n)
	c, err := kfake.NewCluster(kfake.NumBrokers(max(n, 1)), kfake.DefaultNumPartitions(3))
	if err != nil {
		fmt.Fprintln(os.Stderr, "kafkatest: fake process:", err)
		os.Exit(1)
	}
	fmt.Printf("KAFKATEST-BROKERS %s\n", strings.Join(c.ListenAddrs(), ","))
	_, _ = io.Copy(io.Discard, os.Stdin)
	c.Close()
	os.Exit(0)
}
