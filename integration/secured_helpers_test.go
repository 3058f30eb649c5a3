//go:build integration

package integration_test

import (
	"bytes"
	"context"
	"errors"
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
)

// The binaries the secured scenario runs, built from the working tree.
var securedBinaries = []string{"validate", "score", "decide", "status", "loader", "dlq", "lagmon"}

// buildBinaries builds every binary the scenario runs into a temporary
// directory and returns it. They run as processes of the test, on the
// host: the secured listeners are published on 127.0.0.1, the
// certificates and password files are files of the test, and exit
// statuses and /readyz are read directly.
func buildBinaries(t *testing.T) string {
	t.Helper()
	root, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}").Output()
	if err != nil {
		t.Fatalf("find the module root: %v", err)
	}
	dir := t.TempDir()
	args := []string{"build", "-o", dir + "/"}
	for _, b := range securedBinaries {
		args = append(args, "./cmd/"+b)
	}
	cmd := exec.Command("go", args...)
	cmd.Dir = strings.TrimSpace(string(root))
	start := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	t.Logf("built %s in %s", strings.Join(securedBinaries, ", "), time.Since(start).Round(time.Millisecond))
	return dir
}

// outputs keeps every output the scenario's processes wrote and every
// HTTP body it read, for the test that no secret shows in any of them.
type outputs struct {
	mu   sync.Mutex
	bufs map[string]*lockedBuffer
}

func (o *outputs) add(name string) *lockedBuffer {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.bufs == nil {
		o.bufs = map[string]*lockedBuffer{}
	}
	for i := 2; o.bufs[name] != nil; i++ {
		name = fmt.Sprintf("%s#%d", strings.SplitN(name, "#", 2)[0], i)
	}
	b := &lockedBuffer{}
	o.bufs[name] = b
	return b
}

func (o *outputs) each(f func(name, text string)) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for name, b := range o.bufs {
		f(name, b.String())
	}
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// environ is the test's environment without SLUICE_* variables, so that
// only what a case sets configures the binaries.
func environ(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SLUICE_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// result is how a one-shot command ended.
type result struct {
	code   int
	output string // stdout and stderr
}

// runOnce runs bin with args and env (added to environ()), stdin empty,
// for at most timeout, and returns its exit status and output.
func runOnce(t *testing.T, outs *outputs, bin string, env []string, timeout time.Duration, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = environ(env...)
	buf := outs.add(filepath.Base(bin) + " " + strings.Join(args, " "))
	cmd.Stdout, cmd.Stderr = buf, buf
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case ctx.Err() != nil:
		t.Fatalf("%s %v still running after %s:\n%s", bin, args, timeout, buf.String())
	case errors.As(err, &exit):
		return result{exit.ExitCode(), buf.String()}
	case err != nil:
		t.Fatalf("run %s: %v", bin, err)
	}
	return result{0, buf.String()}
}

// proc is a long-running binary (a processor or status).
type proc struct {
	name    string
	cmd     *exec.Cmd
	out     *lockedBuffer
	done    chan struct{}
	code    int
	metrics string // host:port of /metrics and /readyz ("" for none)
}

// start starts bin with args and env; the test's cleanup stops it with
// SIGTERM and waits.
func start(t *testing.T, outs *outputs, name, bin string, env []string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = environ(env...)
	p := &proc{name: name, cmd: cmd, out: outs.add(name), done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		defer close(p.done)
		err := cmd.Wait()
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			p.code = exit.ExitCode()
		}
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(60 * time.Second):
			_ = cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("last output of %s:\n%s", name, tail(p.out.String(), 40))
		}
	})
	return p
}

// exited returns the exit status once the process has ended, or false.
func (p *proc) exited() (int, bool) {
	select {
	case <-p.done:
		return p.code, true
	default:
		return 0, false
	}
}

// wait waits up to d for the process to exit and returns its status.
func (p *proc) wait(t *testing.T, d time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
		return p.code
	case <-time.After(d):
		t.Fatalf("%s still running after %s:\n%s", p.name, d, tail(p.out.String(), 30))
		return 0
	}
}

// get fetches http://addr/path and keeps the body among the outputs.
func get(outs *outputs, addr, path string) (int, string) {
	res, err := http.Get("http://" + addr + path)
	if err != nil {
		return 0, err.Error()
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	_, _ = outs.add("GET " + addr + path).Write(b)
	return res.StatusCode, string(b)
}

// waitHTTP polls GET addr/path until ok holds for its status and body,
// failing t after timeout or when p exits first.
func waitHTTP(t *testing.T, outs *outputs, p *proc, path string, timeout time.Duration, ok func(code int, body string) bool) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		code, body := get(outs, p.metrics, path)
		if ok(code, body) {
			return body
		}
		if c, done := p.exited(); done {
			t.Fatalf("%s exited (%d) before %s answered as wanted (last: %d %q):\n%s", p.name, c, path, code, body, tail(p.out.String(), 30))
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %s not as wanted within %s (last: %d %q):\n%s", p.name, path, timeout, code, body, tail(p.out.String(), 30))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// requireWords fails t unless text contains every word.
func requireWords(t *testing.T, what, text string, words ...string) {
	t.Helper()
	for _, w := range words {
		if !strings.Contains(text, w) {
			t.Errorf("%s: output lacks %q:\n%s", what, w, tail(text, 20))
		}
	}
}
