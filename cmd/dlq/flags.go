package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-dev/sluice/deadletter"
	"github.com/sluice-dev/sluice/internal/envflag"
	"github.com/sluice-dev/sluice/internal/logflag"
	"github.com/sluice-dev/sluice/pipeline/kafkaconn"
)

// envPrefix prefixes the environment variable of every flag, as for the
// processors, so one SLUICE_BROKERS serves every binary.
const envPrefix = "SLUICE"

// usageError is a command line that cannot run (exit status 2).
type usageError struct{ error }

// errHelp is returned after --help printed the help.
var errHelp = errors.New("help shown")

// common holds the flags every command has.
type common struct {
	conn     kafkaconn.Config
	topic    string
	logLevel string
}

func (c *common) register(fs *flag.FlagSet) {
	c.conn.Brokers = []string{"127.0.0.1:9092"}
	c.conn.ClientID = "sluice-dlq"
	c.conn.RegisterFlags(fs)
	fs.StringVar(&c.topic, "topic", "", "dead-letter topic to work on, e.g. orders.dlq (required)")
	fs.StringVar(&c.logLevel, "log-level", "info", "level of log messages on stderr: debug, info, warn or error (results go to stdout either way)")
}

// open opens the --topic on the cluster the connection flags reach.
func (c *common) open(ctx context.Context) (*deadletter.Queue, error) {
	opts, err := c.conn.Options()
	if err != nil {
		return nil, usageError{err}
	}
	return deadletter.Open(ctx, c.topic, opts...)
}

// filterFlags are the flags that select records.
type filterFlags struct {
	errorContains string
	key           *string
	since, until  string
	partitions    string
	offsets       string
	limit         int
}

func (f *filterFlags) register(fs *flag.FlagSet, limitUsage string) {
	fs.StringVar(&f.errorContains, "error-contains", "", "only records whose error message or class contains this text (any case)")
	fs.Func("key", "only records with exactly this key, given as `text`", func(s string) error { f.key = &s; return nil })
	fs.StringVar(&f.since, "since", "", "only records dead-lettered at or after TIME: RFC 3339, a date, or an age like 2h or \"90m ago\"")
	fs.StringVar(&f.until, "until", "", "only records dead-lettered before TIME (same forms as --since)")
	fs.StringVar(&f.partitions, "partition", "", "only these partitions of the dead-letter topic, comma-separated")
	fs.StringVar(&f.offsets, "offset", "", "only these offsets: N, N-M (inclusive) or N- (N and after), in each selected partition")
	fs.IntVar(&f.limit, "limit", 0, limitUsage)
}

func (f *filterFlags) filter(now time.Time) (deadletter.Filter, error) {
	var out deadletter.Filter
	var err error
	out.ErrorContains = f.errorContains
	if f.key != nil {
		out.Key = []byte(*f.key)
	}
	if f.since != "" {
		if out.Since, err = deadletter.ParseTime(f.since, now); err != nil {
			return out, usageError{fmt.Errorf("--since: %w", err)}
		}
	}
	if f.until != "" {
		if out.Until, err = deadletter.ParseTime(f.until, now); err != nil {
			return out, usageError{fmt.Errorf("--until: %w", err)}
		}
	}
	if !out.Since.IsZero() && !out.Until.IsZero() && !out.Since.Before(out.Until) {
		return out, usageError{fmt.Errorf("--since %s is not before --until %s: nothing could match", out.Since.Format(time.RFC3339), out.Until.Format(time.RFC3339))}
	}
	for p := range strings.SplitSeq(f.partitions, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		n, err := strconv.ParseInt(p, 10, 32)
		if err != nil || n < 0 {
			return out, usageError{fmt.Errorf("--partition %q: want partition numbers, comma-separated", f.partitions)}
		}
		out.Partitions = append(out.Partitions, int32(n))
	}
	if f.offsets != "" {
		if out.Offsets, err = deadletter.ParseOffsetRange(f.offsets); err != nil {
			return out, usageError{fmt.Errorf("--offset: %w", err)}
		}
	}
	if f.limit < 0 {
		return out, usageError{fmt.Errorf("--limit %d: want a positive count, or 0 for no limit", f.limit)}
	}
	out.Limit = f.limit
	return out, nil
}

// parse parses args into fs (and SLUICE_* variables), checks --topic and
// that no argument is left.
func parse(fs *flag.FlagSet, c *common, args []string, con console, synopsis string) error {
	// Errors are reported once, by run; --help goes to stdout.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	if err := envflag.Parse(fs, envPrefix, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(con.out)
			envflag.Usage(fs, envPrefix, synopsis)()
			return errHelp
		}
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected argument %q (options start with --)", fs.Arg(0))}
	}
	if c.topic == "" {
		return usageError{errors.New("--topic is required: the dead-letter topic, e.g. orders.dlq")}
	}
	log, err := logflag.New(c.logLevel, con.err)
	if err != nil {
		return usageError{err}
	}
	slog.SetDefault(log)
	return nil
}
