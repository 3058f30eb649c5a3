package ports_test

import (
	"errors"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/sluice-dev/sluice/internal/ports"
)

func TestREADMEShowsThisTable(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), ports.Markdown()) {
		t.Errorf("README.md does not contain the default ports table; paste this:\n%s", ports.Markdown())
	}
}

func TestBusyPortNamesTheFlagAndVariable(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	addr := taken.Addr().String()
	_, err = ports.Listen("metrics-addr", "SLUICE_METRICS_ADDR", addr)
	if !errors.Is(err, ports.ErrInUse) || !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("Listen on a busy port: %v, want ErrInUse wrapping EADDRINUSE", err)
	}
	for _, want := range []string{"--metrics-addr " + addr + " (SLUICE_METRICS_ADDR): address already in use",
		"set another with --metrics-addr or SLUICE_METRICS_ADDR"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if strings.Count(err.Error(), "already in use") != 1 {
		t.Errorf("error %q says \"already in use\" more than once", err)
	}
}

func TestBadAddressNamesTheFlag(t *testing.T) {
	_, err := ports.Listen("listen", "SLUICE_LISTEN", "no-port")
	if err == nil || !strings.HasPrefix(err.Error(), "--listen no-port (SLUICE_LISTEN): ") {
		t.Fatalf("Listen on a bad address: %v, want an error starting with the flag, value and variable", err)
	}
}

func TestDefaultsAreUniquePerPort(t *testing.T) {
	owner := map[string]string{}
	for _, p := range ports.All() {
		if p.Binary == "demo" {
			continue // the demo is status and lagmon in one process, on their ports
		}
		if o, ok := owner[p.Addr]; ok {
			t.Errorf("%s --%s and %s share %s", p.Binary, p.Flag, o, p.Addr)
		}
		owner[p.Addr] = p.Binary + " --" + p.Flag
	}
}
