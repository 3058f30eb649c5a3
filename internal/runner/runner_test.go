package runner

import (
	"bytes"
	"context"
	"net"
	"strings"
	"testing"

	"github.com/sluice-dev/sluice/internal/ports"

	"github.com/sluice-dev/sluice/pipeline"
	"github.com/sluice-dev/sluice/schemas"
)

func spec() Spec {
	return Spec{
		Name:     "echo",
		Synopsis: "usage: echo [options]",
		Inputs:   []string{"in"},
		Handler:  func(*schemas.Serde) (pipeline.Handler, error) { return nil, nil },
	}
}

func TestHelpExplainsEveryOption(t *testing.T) {
	var out bytes.Buffer
	if code := Main(spec(), []string{"--help"}, &out); code != 0 {
		t.Fatalf("--help exited %d", code)
	}
	for _, want := range []string{"usage: echo", "--brokers", "$SLUICE_BROKERS", "--retry-delays", "--ordering", "--sasl-mechanism", "--metrics-addr"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("--help lacks %q", want)
		}
	}
}

func TestBadUsageExitsTwoWithAHint(t *testing.T) {
	cases := [][]string{{"--no-such-flag"}, {"stray"}, {"--workers", "many"}}
	for _, args := range cases {
		var out bytes.Buffer
		if code := Main(spec(), args, &out); code != 2 {
			t.Errorf("%v exited %d, want 2", args, code)
		}
		if !strings.Contains(out.String(), "echo") {
			t.Errorf("%v: message %q does not name the binary", args, out.String())
		}
	}
}

func TestBadValuesFailBeforeConnecting(t *testing.T) {
	cases := map[string][]string{
		"--ordering":     {"--ordering", "random"},
		"--retry-delays": {"--retry-delays", "5s,soon"},
		"--on-error":     {"--on-error", "ignore"},
		"--format":       {"--format", "json"},
	}
	for flag, args := range cases {
		var out bytes.Buffer
		// A closed local port: a flag error must come before any dial.
		code := Main(spec(), append(args, "--brokers", "127.0.0.1:9", "--metrics-addr", ""), &out)
		if code != 1 || !strings.Contains(out.String(), flag) {
			t.Errorf("%v: exit %d, output %q; want exit 1 naming %s", args, code, out.String(), flag)
		}
	}
}

func TestBusyMetricsAddrNamesTheFlagAndVariable(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	addr := taken.Addr().String()
	s := spec()
	s.Handler = func(*schemas.Serde) (pipeline.Handler, error) {
		return func(context.Context, *pipeline.Record) ([]pipeline.Output, error) { return nil, nil }, nil
	}
	var out bytes.Buffer
	code := Main(s, []string{"--brokers", "127.0.0.1:9", "--metrics-addr", addr}, &out)
	if code != 1 {
		t.Fatalf("exit %d, want 1; output %s", code, out.String())
	}
	for _, want := range []string{"--metrics-addr " + addr + " (SLUICE_METRICS_ADDR): address already in use",
		"set another with --metrics-addr or SLUICE_METRICS_ADDR"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestHelpShowsTheBinarysOwnDefaults(t *testing.T) {
	for _, p := range ports.All() {
		if p.Flag != "metrics-addr" || p.Binary == "status" {
			continue // status is not a runner binary; cmd/status tests its own help
		}
		s := spec()
		s.Name = p.Binary
		var out bytes.Buffer
		Main(s, []string{"--help"}, &out)
		for _, want := range []string{"(default " + p.Addr + ")", "(default sluice-" + p.Binary + ")", "--brokers host:port,..."} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("%s --help lacks %q", p.Binary, want)
			}
		}
	}
}
