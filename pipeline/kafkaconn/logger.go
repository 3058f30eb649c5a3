package kafkaconn

import (
	"context"
	"log/slog"

	"github.com/twmb/franz-go/pkg/kgo"
)

// ClientLogger returns a franz-go logger that writes everything the client
// logs (connection attempts, SASL steps, metadata refreshes, group joins,
// assignments, commits, retries) to l at debug level, with the client's own
// level in the attribute "kgo_level". Sluice's binaries log what matters to
// an operator themselves, classified (see [Classify]); the client's own
// lines are the detail behind them, shown with --log-level debug.
//
// When l does not log at debug, the client is told to log nothing, so the
// adapter costs nothing; a nil l logs nothing. franz-go logs no credentials: SASL steps are
// logged by name, never with their bytes.
func ClientLogger(l *slog.Logger) kgo.Logger { return clientLogger{l} }

// WithClientLogger is the client option installing [ClientLogger](l).
func WithClientLogger(l *slog.Logger) kgo.Opt { return kgo.WithLogger(ClientLogger(l)) }

type clientLogger struct{ l *slog.Logger }

func (c clientLogger) Level() kgo.LogLevel {
	if c.l != nil && c.l.Enabled(context.Background(), slog.LevelDebug) {
		return kgo.LogLevelDebug
	}
	return kgo.LogLevelNone
}

func (c clientLogger) Log(level kgo.LogLevel, msg string, keyvals ...any) {
	c.l.Debug("kafka client: "+msg, append([]any{"kgo_level", level.String()}, keyvals...)...)
}
