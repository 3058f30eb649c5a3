// Package ports is the one table of the addresses Sluice's binaries listen
// on by default, and the listen call that turns a busy port into an error
// naming the flag and environment variable to change.
//
// Every binary has its own ports, so validate, score, decide, status and
// lagmon all run with their defaults on one host, as the README's
// "Running the processors" block does. The binaries take their defaults
// from here and a test checks that the README's table is this one.
package ports

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"
)

// Port is the default address of one binary's flag.
type Port struct {
	Binary string // cmd/<Binary>
	Flag   string // the flag's name, without dashes
	Addr   string // host:port
	Serves string // what answers there, for the README
}

// table lists every default address, in the README's order. The demo's
// status view and dashboard share status's and lagmon's ports on purpose
// (they are those services) and fall back to a free port when busy.
var table = []Port{
	{"validate", "metrics-addr", "127.0.0.1:9464", "`/metrics`, `/healthz`, `/readyz`"},
	{"score", "metrics-addr", "127.0.0.1:9465", "`/metrics`, `/healthz`, `/readyz`"},
	{"decide", "metrics-addr", "127.0.0.1:9466", "`/metrics`, `/healthz`, `/readyz`"},
	{"status", "metrics-addr", "127.0.0.1:9467", "`/metrics`, `/healthz`, `/readyz`"},
	{"status", "listen", "127.0.0.1:8080", "`GET /orders/{id}`, `/healthz`, `/readyz`"},
	{"lagmon", "listen", "127.0.0.1:9308", "dashboard, `/metrics` (kafka_exporter's port), `/healthz`"},
	{"demo", "status-addr", "127.0.0.1:8080", "the status view (a free port if busy)"},
	{"demo", "dashboard-addr", "127.0.0.1:9308", "lagmon's dashboard (a free port if busy)"},
}

// All returns the table, in the README's order.
func All() []Port { return append([]Port(nil), table...) }

// Default returns the default address of binary's flag, and false when the
// table has none.
func Default(binary, flag string) (string, bool) {
	for _, p := range table {
		if p.Binary == binary && p.Flag == flag {
			return p.Addr, true
		}
	}
	return "", false
}

// Markdown renders the table as the README shows it.
func Markdown() string {
	var b strings.Builder
	b.WriteString("| binary | flag | default | serves |\n| --- | --- | --- | --- |\n")
	for _, p := range table {
		fmt.Fprintf(&b, "| `%s` | `--%s` | `%s` | %s |\n", p.Binary, p.Flag, p.Addr, p.Serves)
	}
	return b.String()
}

// ErrInUse means another process already listens on the address.
var ErrInUse = errors.New("address already in use")

// Listen listens on TCP addr, which came from --flag or the environment
// variable env. Its errors start with both, so a user knows what to
// change; a busy port wraps ErrInUse (and the system's error) and says how
// to pick another.
func Listen(flag, env, addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	switch {
	case err == nil:
		return ln, nil
	case errors.Is(err, syscall.EADDRINUSE):
		return nil, &inUseError{
			msg: fmt.Sprintf("--%s %s (%s): %v by another process (a second instance on this host?); set another with --%s or %s (port 0: any free port, logged at start)",
				flag, addr, env, ErrInUse, flag, env),
			err: err,
		}
	}
	return nil, fmt.Errorf("--%s %s (%s): %w", flag, addr, env, err)
}

// inUseError is a busy port: its message says what to do instead of
// repeating the system's "bind: address already in use".
type inUseError struct {
	msg string
	err error
}

func (e *inUseError) Error() string   { return e.msg }
func (e *inUseError) Unwrap() []error { return []error{ErrInUse, e.err} }
