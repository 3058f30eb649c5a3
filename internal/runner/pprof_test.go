package runner

import (
	"bytes"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"runtime"
	"strings"
	"testing"
)

func TestPprofAddrIsOffByDefault(t *testing.T) {
	var c Common
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	c.register(fs, spec())
	if err := fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	addr, stop, err := c.profiling.serve(slog.New(slog.DiscardHandler))
	if err != nil || addr != "" {
		t.Fatalf("serve without --pprof-addr = %q, %v; want nothing served", addr, err)
	}
	stop()
	if f := runtime.SetMutexProfileFraction(-1); f != 0 {
		t.Errorf("mutex profile fraction %d without --pprof-addr, want 0", f)
	}
}

func TestPprofAddrServesProfilesAndSamplesContention(t *testing.T) {
	var c Common
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	c.register(fs, spec())
	if err := fs.Parse([]string{"--pprof-addr", "127.0.0.1:0"}); err != nil {
		t.Fatal(err)
	}
	addr, stop, err := c.profiling.serve(slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if f := runtime.SetMutexProfileFraction(-1); f != mutexProfileFraction {
		t.Errorf("mutex profile fraction %d while serving, want %d", f, mutexProfileFraction)
	}
	for _, path := range []string{"/debug/pprof/", "/debug/pprof/mutex?debug=1", "/debug/pprof/block?debug=1", "/debug/pprof/goroutine?debug=1"} {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || len(body) == 0 {
			t.Errorf("GET %s: %s, %d bytes", path, resp.Status, len(body))
		}
	}
	stop()
	if f := runtime.SetMutexProfileFraction(-1); f != 0 {
		t.Errorf("mutex profile fraction %d after stop, want 0", f)
	}
	if _, err := http.Get("http://" + addr + "/debug/pprof/"); err == nil {
		t.Errorf("profiles still served after stop")
	}
}

func TestPprofAddrInUseNamesTheFlag(t *testing.T) {
	p := profiling{addr: "127.0.0.1:0"}
	addr, stop, err := p.serve(slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	_, _, err = (&profiling{addr: addr}).serve(slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), "--pprof-addr "+addr) {
		t.Fatalf("second listener on %s: err %v, want one naming --pprof-addr", addr, err)
	}
}

func TestHelpDocumentsPprofAddr(t *testing.T) {
	var out bytes.Buffer
	if code := Main(spec(), []string{"--help"}, &out); code != 0 {
		t.Fatalf("--help exited %d", code)
	}
	if !strings.Contains(out.String(), "--pprof-addr") || !strings.Contains(out.String(), "$SLUICE_PPROF_ADDR") {
		t.Errorf("--help does not document --pprof-addr:\n%s", out.String())
	}
}
