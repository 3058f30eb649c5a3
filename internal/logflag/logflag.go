// Package logflag is the --log-level flag every Sluice binary has: one
// parser, one error message, one logger format (log/slog's text handler).
package logflag

import (
	"fmt"
	"io"
	"log/slog"
)

// Usage is the flag's help text.
const Usage = "debug, info, warn or error"

// Parse parses a --log-level value; the error names the flag.
func Parse(level string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return 0, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	return l, nil
}

// New returns a text logger on w at a --log-level value.
func New(level string, w io.Writer) (*slog.Logger, error) {
	l, err := Parse(level)
	if err != nil {
		return nil, err
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l})), nil
}
