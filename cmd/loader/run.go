package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluice-dev/sluice/internal/runner"
	"github.com/sluice-dev/sluice/loader"
	"github.com/sluice-dev/sluice/pipeline/kafkaconn"
	"github.com/sluice-dev/sluice/processors/ordergen"
	"github.com/sluice-dev/sluice/schemas"
)

// Exit statuses.
const (
	exitOK          = 0
	exitFailed      = 1 // rows rejected or invalid, records failed, or an error
	exitUsage       = 2
	exitInterrupted = 130
)

// run is the whole command, with its streams passed in for tests.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	c, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "loader: %v\nRun loader --help for the options.\n", err)
		return exitUsage
	}
	live := false
	if f, ok := stderr.(*os.File); ok {
		live = loader.IsTerminal(f)
	}
	out := &console{w: stderr, live: live}
	log := slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{Level: c.logLevel}))
	l := &load{c: c, stdout: stdout, out: out, log: log,
		progress: loader.Progress{W: out, Live: live, Log: log, Interval: c.progress}}
	code, err := l.run(ctx, stdin)
	if err != nil {
		fmt.Fprintf(out, "loader: %v\n", err)
	}
	return code
}

// load is one run of the command.
type load struct {
	c        config
	stdout   io.Writer
	out      *console
	log      *slog.Logger
	progress loader.Progress
}

func (l *load) run(ctx context.Context, stdin io.Reader) (int, error) {
	set, err := schemas.Load()
	if err != nil {
		return exitFailed, err
	}
	schema, err := set.Latest(l.c.schema)
	if err != nil {
		return exitUsage, fmt.Errorf("--schema: %w", err)
	}
	if l.c.generating() {
		return l.generate(ctx)
	}
	m, err := loader.NewMapping(schema, l.c.keyField)
	if err != nil {
		return exitUsage, fmt.Errorf("--key-field: %w", err)
	}
	inputs, cleanup, err := l.inputs(stdin)
	defer cleanup()
	if err != nil {
		return exitUsage, err
	}
	if l.c.validate {
		checked, err := l.validate(ctx, m, inputs)
		if err != nil {
			return exitCode(ctx, exitFailed), err
		}
		fmt.Fprintf(l.stdout, "%s rows checked against %s: %s valid, %s invalid\n",
			group(checked.Rows), schema, group(checked.Rows-checked.Invalid), group(checked.Invalid))
		if checked.Invalid > 0 {
			return exitFailed, nil
		}
		return exitOK, nil
	}

	cl, err := l.client(ctx)
	if err != nil {
		return exitFailed, err
	}
	defer cl.Close()
	serde, err := runner.Serde(l.c.format, l.c.registryURL)
	if err != nil {
		return exitUsage, err
	}

	var onInvalid func(*loader.RowError) error
	var rejects *loader.RejectFile
	if l.c.skipInvalid {
		rejects = loader.NewRejectFile(l.c.rejectFile)
		onInvalid = func(e *loader.RowError) error {
			fmt.Fprintln(l.out, e)
			return rejects.Write(e)
		}
	} else {
		checked, err := l.validate(ctx, m, inputs)
		if err != nil {
			return exitCode(ctx, exitFailed), err
		}
		if checked.Invalid > 0 {
			fmt.Fprintf(l.stdout, "%s of %s rows are invalid: nothing was sent (fix them, or use --skip-invalid to send the valid rows)\n",
				group(checked.Invalid), group(checked.Rows))
			return exitFailed, nil
		}
		onInvalid = func(e *loader.RowError) error {
			return fmt.Errorf("input changed since it was validated: %w", e)
		}
	}
	src := loader.NewFiles(m, serde, inputs, l.c.fromLine, onInvalid)
	defer src.Close()
	var rejected func() int64
	if rejects != nil {
		rejected = rejects.Count
	}
	sum := l.send(ctx, cl, src, rejected)
	if rejects != nil {
		if err := rejects.Close(); err != nil && sum.Err == nil {
			sum.Err = err
		}
	}
	code := l.report(sum)
	if rejects != nil && rejects.Count() > 0 {
		fmt.Fprintf(l.stdout, "rejected %s invalid rows, written with their reasons to %s\n", group(rejects.Count()), rejects.Path())
		code = max(code, exitFailed)
	}
	if sum.Resume != nil {
		fmt.Fprintf(l.stdout, "every row before %s is in Kafka; to resume, run with --from-line %d %s\n",
			sum.Resume, sum.Resume.Line, strings.Join(l.c.files[sum.Resume.Input:], " "))
	}
	return code, nil
}

// inputs turns the file arguments into loader inputs, copying stdin ("-")
// to a temporary file so that it can be validated before it is sent.
func (l *load) inputs(stdin io.Reader) ([]loader.Input, func(), error) {
	var temps []string
	cleanup := func() {
		for _, t := range temps {
			os.Remove(t)
		}
	}
	var inputs []loader.Input
	for _, path := range l.c.files {
		in := loader.Input{Path: path, Format: loader.FormatOf(path)}
		if l.c.inputFormat != "" {
			f, err := loader.ParseFormat(l.c.inputFormat)
			if err != nil {
				return nil, cleanup, fmt.Errorf("--input-format: %w", err)
			}
			in.Format = f
		}
		if path == "-" {
			tmp, err := spool(stdin)
			if err != nil {
				return nil, cleanup, err
			}
			temps = append(temps, tmp)
			in.Path, in.Name = tmp, "stdin"
		} else if _, err := os.Stat(path); err != nil {
			return nil, cleanup, err
		}
		inputs = append(inputs, in)
	}
	return inputs, cleanup, nil
}

func spool(r io.Reader) (string, error) {
	f, err := os.CreateTemp("", "sluice-loader-stdin-*")
	if err != nil {
		return "", fmt.Errorf("buffer stdin: %w", err)
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		os.Remove(f.Name())
		return "", fmt.Errorf("buffer stdin in %s: %w", f.Name(), err)
	}
	return f.Name(), f.Close()
}

// validate is the first pass: every row is checked, every invalid one
// reported, nothing sent.
func (l *load) validate(ctx context.Context, m *loader.Mapping, inputs []loader.Input) (loader.Checked, error) {
	var total int64
	for _, in := range inputs {
		if st, err := os.Stat(in.Path); err == nil {
			total += st.Size()
		}
	}
	var read, rows, invalid atomic.Int64
	stop := l.startProgress("validating", func() loader.Status {
		return loader.Status{Records: rows.Load(), Acked: -1, Errors: invalid.Load(), Bytes: read.Load(), Done: read.Load(), Total: total}
	})
	checked, err := loader.Validate(ctx, m, inputs, l.c.fromLine, func(e *loader.RowError) {
		invalid.Add(1)
		fmt.Fprintln(l.out, e)
	}, &read)
	rows.Store(checked.Rows)
	stop()
	return checked, err
}

func (l *load) generate(ctx context.Context) (int, error) {
	cl, err := l.client(ctx)
	if err != nil {
		return exitFailed, err
	}
	defer cl.Close()
	serde, err := runner.Serde(l.c.format, l.c.registryURL)
	if err != nil {
		return exitUsage, err
	}
	cfg := ordergen.Config{Seed: l.c.seed, Keys: l.c.keys, PoisonRate: l.c.poisonRate}
	src := loader.NewGenerator(cfg, serde, l.c.count, l.c.duration, nil)
	defer src.Close()
	sum := l.send(ctx, cl, src, nil)
	if sum.Poison > 0 {
		fmt.Fprintf(l.stdout, "%s of the records sent are poison (--poison-rate %v)\n", group(sum.Poison), l.c.poisonRate)
	}
	code := l.report(sum)
	if sum.Interrupted {
		fmt.Fprintf(l.stdout, "the first %s orders of seed %d were acknowledged\n", group(sum.Acked), l.c.seed)
	}
	return code, nil
}

// send runs the Sender with progress reports.
func (l *load) send(ctx context.Context, cl *kgo.Client, src loader.Source, rejected func() int64) loader.Summary {
	s := loader.NewSender(cl, l.c.topic, loader.Rate(l.c.rate))
	stop := l.startProgress("sending", func() loader.Status {
		snap := s.Snapshot()
		done, total := src.Progress()
		st := loader.Status{Records: snap.Sent, Acked: snap.Acked, Errors: snap.Failed, Bytes: snap.Bytes, Done: done, Total: total}
		if rejected != nil {
			st.Errors += rejected()
		}
		return st
	})
	sum := s.Send(ctx, src)
	stop()
	return sum
}

// report prints the summary and returns the exit status it calls for.
func (l *load) report(sum loader.Summary) int {
	fmt.Fprintf(l.stdout, "%s: %s\n", l.c.topic, sum)
	switch {
	case sum.Err != nil:
		fmt.Fprintf(l.out, "loader: %v\n", kafkaconn.WithOperation(kafkaconn.ResourceTopic, kmsg.ACLOperationWrite, kafkaconn.Classify(kafkaconn.Named(kafkaconn.ResourceTopic, l.c.topic, sum.Err))))
		return exitFailed
	case sum.Interrupted:
		fmt.Fprintln(l.stdout, "interrupted: the records in flight were flushed")
		return exitInterrupted
	case sum.Failed > 0:
		return exitFailed
	}
	return exitOK
}

func (l *load) startProgress(label string, status func() loader.Status) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { l.progress.Report(ctx, label, status) })
	return func() { cancel(); wg.Wait() }
}

// client connects and checks that the topic exists, so that a typo fails
// before a long validation rather than after.
func (l *load) client(ctx context.Context) (*kgo.Client, error) {
	conn, err := l.c.conn.Options()
	if err != nil {
		return nil, err
	}
	prod, err := loader.ProducerOptions(l.c.compression, l.c.deliveryTimeout)
	if err != nil {
		return nil, fmt.Errorf("--compression: %w", err)
	}
	cl, err := kgo.NewClient(append(append(conn, prod...), kafkaconn.WithClientLogger(l.log))...)
	if err != nil {
		return nil, err
	}
	mctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := kafkaconn.CheckTopics(mctx, kadm.NewClient(cl), l.c.topic); err != nil {
		cl.Close()
		if errors.Is(err, kafkaconn.ErrTopicMissing) {
			return nil, fmt.Errorf("--topic: %w (the loader does not create topics)", err)
		}
		// The loader writes: WRITE is the ACL to ask for.
		return nil, fmt.Errorf("--topic %s: %w", l.c.topic, kafkaconn.WithOperation(kafkaconn.ResourceTopic, kmsg.ACLOperationWrite, l.c.conn.Diagnose(ctx, err)))
	}
	return cl, nil
}

func exitCode(ctx context.Context, otherwise int) int {
	if ctx.Err() != nil {
		return exitInterrupted
	}
	return otherwise
}

// console is stderr shared by messages and the live progress line: each
// message first clears the line, so the two never run into each other.
type console struct {
	mu   sync.Mutex
	w    io.Writer
	live bool
}

func (c *console) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.live && len(p) > 0 && p[0] != '\r' {
		if _, err := io.WriteString(c.w, "\r\033[K"); err != nil {
			return 0, err
		}
	}
	return c.w.Write(p)
}

func group(n int64) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
