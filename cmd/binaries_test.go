package cmd_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/internal/ports"
	"github.com/sluice-dev/sluice/pipeline/kafkatest"
	"github.com/sluice-dev/sluice/processors/order"
)

// TestEveryBinaryRunsOnOneHostWithItsDefaults builds validate, score,
// decide, status and lagmon, starts each with nothing but --brokers (an
// embedded broker) on this one host, as the README's "Running the
// processors" block does, and scrapes every /metrics on its default port.
// A second validate with the same defaults must fail with an error naming
// --metrics-addr and SLUICE_METRICS_ADDR.
func TestEveryBinaryRunsOnOneHostWithItsDefaults(t *testing.T) {
	type binary struct {
		name, flag string
		args       []string
		wants      string // a metric only this kind of binary serves
	}
	servers := []binary{
		{"validate", "metrics-addr", nil, "sluice_processor_inflight_records"},
		{"score", "metrics-addr", nil, "sluice_processor_inflight_records"},
		{"decide", "metrics-addr", nil, "sluice_processor_inflight_records"},
		{"status", "metrics-addr", nil, "sluice_status_view_orders"},
		{"lagmon", "listen", []string{"serve"}, "sluice_lagmon_up"},
	}
	addrs := map[string]bool{}
	for _, b := range servers {
		addr, ok := ports.Default(b.name, b.flag)
		if !ok {
			t.Fatalf("internal/ports has no default --%s for %s", b.flag, b.name)
		}
		if addrs[addr] {
			t.Fatalf("%s's default --%s %s is another binary's too", b.name, b.flag, addr)
		}
		addrs[addr] = true
	}
	listen, _ := ports.Default("status", "listen")
	if addrs[listen] {
		t.Fatalf("status --listen %s collides with a metrics port", listen)
	}
	for addr := range addrs {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatalf("default port %s is taken before the test starts (another process on this host uses it; stop it and rerun): %v", addr, err)
		}
		ln.Close()
	}
	if ln, err := net.Listen("tcp", listen); err != nil {
		t.Fatalf("status's default --listen %s is taken before the test starts (another process on this host uses it; stop it and rerun): %v", listen, err)
	} else {
		ln.Close()
	}

	kafka := kafkatest.NewFake(t)
	for _, topic := range []string{order.TopicPlaced, order.TopicValidated, order.TopicScored, order.TopicDecided, order.TopicStatus} {
		kafka.CreateTopic(t, topic, 2, nil)
	}
	brokers := strings.Join(kafka.Brokers(), ",")

	for _, b := range servers {
		start(t, filepath.Join(bin, b.name), append(b.args, "--brokers", brokers)...)
	}
	for _, b := range servers {
		addr, _ := ports.Default(b.name, b.flag)
		body := await(t, "http://"+addr+"/metrics", b.name)
		if !strings.Contains(body, b.wants) {
			t.Errorf("%s's /metrics on %s lacks %s", b.name, addr, b.wants)
		}
	}

	// The second instance on the same host, with the same defaults.
	out, err := run(filepath.Join(bin, "validate"), "--brokers", brokers)
	if err == nil {
		t.Fatalf("a second validate on validate's default port started:\n%s", out)
	}
	addr, _ := ports.Default("validate", "metrics-addr")
	for _, want := range []string{"--metrics-addr " + addr + " (SLUICE_METRICS_ADDR): address already in use",
		"set another with --metrics-addr or SLUICE_METRICS_ADDR"} {
		if !strings.Contains(out, want) {
			t.Errorf("second validate's error lacks %q:\n%s", want, out)
		}
	}
}

// bin is the directory TestMain built every binary of cmd/ into.
var bin string

// binaries are the commands under cmd/ that TestMain builds.
var binaries = []string{"validate", "score", "decide", "status", "lagmon", "dlq", "loader", "demo"}

// TestMain builds the binaries once for every test here: these tests run
// them as a user does, as separate processes.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sluice-cmd-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	args := []string{"build", "-o", dir + string(filepath.Separator)}
	for _, n := range binaries {
		args = append(args, "github.com/sluice-dev/sluice/cmd/"+n)
	}
	if out, err := exec.Command("go", args...).CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go %s: %v\n%s", strings.Join(args, " "), err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	bin = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// cleanEnv is the environment without SLUICE_* variables, so the binaries
// run with their defaults whatever the caller exported.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SLUICE_") {
			env = append(env, kv)
		}
	}
	return env
}

// syncBuffer collects a process's output while it runs.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// start runs path with args until the test ends, then stops it with
// SIGTERM and checks it exits 0.
func start(t *testing.T, path string, args ...string) {
	t.Helper()
	var out syncBuffer
	cmd := exec.Command(path, args...)
	cmd.Env = cleanEnv()
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", path, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("%s %s: %v after SIGTERM, want exit 0\n%s", filepath.Base(path), strings.Join(args, " "), err, out.String())
			}
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			t.Errorf("%s did not exit within 30s of SIGTERM\n%s", filepath.Base(path), out.String())
		}
	})
}

// run runs path with args to its end and returns its output.
func run(path string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = cleanEnv()
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// await polls url until it answers 200 (up to 30s) and returns the body.
func await(t *testing.T, url, who string) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		resp, err := http.Get(url)
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return string(body)
			}
			err = fmt.Errorf("%s", resp.Status)
		}
		last = err.Error()
		time.Sleep(100 * time.Millisecond) // polling a condition with a deadline
	}
	t.Fatalf("%s: %s did not answer 200 within 30s (last: %s)", who, url, last)
	return ""
}

// TestEveryBinarysHelpShowsTheSharedFlagsAlike checks what the README's
// configuration table promises of every binary: --brokers with a type name
// and its default, --client-id defaulting to sluice-<binary>, --log-level,
// and --metrics-addr on its own port where the binary serves metrics; and
// that --help is the full help (every option), exit status 0.
func TestEveryBinarysHelpShowsTheSharedFlagsAlike(t *testing.T) {
	cases := []struct {
		binary string
		args   []string
	}{
		{"validate", nil}, {"score", nil}, {"decide", nil}, {"status", nil},
		{"lagmon", nil}, {"lagmon", []string{"serve"}}, {"lagmon", []string{"lag"}},
		{"dlq", []string{"list"}}, {"dlq", []string{"replay"}}, {"loader", nil},
	}
	for _, c := range cases {
		name := strings.Join(append([]string{c.binary}, c.args...), " ")
		t.Run(name, func(t *testing.T) {
			out, err := run(filepath.Join(bin, c.binary), append(c.args, "--help")...)
			if err != nil {
				t.Fatalf("%s --help: %v\n%s", name, err, out)
			}
			wants := []string{
				"Options (each also settable by the environment variable shown):",
				"--brokers host:port,...   [$SLUICE_BROKERS]", "(default 127.0.0.1:9092)",
				"--client-id string   [$SLUICE_CLIENT_ID]", "(default sluice-" + c.binary + ")",
				"--log-level string   [$SLUICE_LOG_LEVEL]",
			}
			if addr, ok := ports.Default(c.binary, "metrics-addr"); ok {
				wants = append(wants, "--metrics-addr string   [$SLUICE_METRICS_ADDR]", "(default "+addr+")")
			}
			for _, want := range wants {
				if !strings.Contains(out, want) {
					t.Errorf("%s --help lacks %q:\n%s", name, want, out)
				}
			}
			if strings.Contains(out, " value   [$") {
				t.Errorf("%s --help shows a flag of type \"value\":\n%s", name, out)
			}
		})
	}
}
