package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluice-dev/sluice/pipeline"
	"github.com/sluice-dev/sluice/processors/decide"
	"github.com/sluice-dev/sluice/processors/order"
	"github.com/sluice-dev/sluice/processors/score"
	"github.com/sluice-dev/sluice/processors/status"
	"github.com/sluice-dev/sluice/processors/validate"
	"github.com/sluice-dev/sluice/schemas"
)

// stages are the processors of the chain, in pipeline order: the consumer
// group (named like the standalone binary, whose default group it is), the
// input topic and the handler.
var stages = []struct {
	group, input string
	handler      func(c config, serde *schemas.Serde) pipeline.Handler
}{
	{"validate", order.TopicPlaced, func(_ config, serde *schemas.Serde) pipeline.Handler {
		return validate.Handler(serde, validate.Topics{}, time.Now)
	}},
	{"score", order.TopicValidated, func(c config, serde *schemas.Serde) pipeline.Handler {
		model := score.NewModel(score.DefaultSeed, c.modelTrees, score.DefaultDepth)
		return score.Handler(serde, model, score.Topics{}, time.Now)
	}},
	{"decide", order.TopicScored, func(_ config, serde *schemas.Serde) pipeline.Handler {
		return decide.Handler(serde, decide.Policy{}, decide.Topics{}, time.Now)
	}},
}

// commitInterval is shorter than the library's 1s default: a demo run lasts
// seconds, and the run ends only once everything is committed.
const commitInterval = 200 * time.Millisecond

// chain is the three processors running in this process, each in its own
// consumer group as if it were its own binary. Each Run has a goroutine,
// which stop waits for; a failure is reported on failed.
type chain struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
	failed chan error // buffered for every processor, so no Run blocks on it
}

// startChain builds validate, score and decide with the library and runs
// them against the broker at addr.
func startChain(c config, addr string, serde *schemas.Serde, log *slog.Logger) (*chain, error) {
	procs := make([]*pipeline.Processor, len(stages))
	for i, s := range stages {
		p, err := pipeline.New(s.group, s.handler(c, serde),
			pipeline.Topics(s.input),
			pipeline.Workers(c.workers),
			pipeline.CommitInterval(commitInterval),
			pipeline.ClientOptions(kgo.SeedBrokers(addr)),
			pipeline.Logger(log),
		)
		if err != nil {
			return nil, err
		}
		procs[i] = p
	}
	ctx, cancel := context.WithCancel(context.Background())
	ch := &chain{cancel: cancel, failed: make(chan error, len(procs))}
	for _, p := range procs {
		ch.wg.Add(1)
		go func() {
			defer ch.wg.Done()
			if err := p.Run(ctx); err != nil {
				ch.failed <- err
			}
		}()
	}
	return ch, nil
}

// stop stops the processors gracefully (each finishes what it fetched,
// commits and leaves its group) and waits for them. It returns the
// processors' failures, if any. A processor stopped while still starting
// up returns the cancellation as an error; that is the stop asked for, not
// a failure.
func (ch *chain) stop() error {
	ch.cancel()
	ch.wg.Wait()
	close(ch.failed)
	var errs []error
	for err := range ch.failed {
		if !errors.Is(err, context.Canceled) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// statusView is the order-status view and its HTTP server.
type statusView struct {
	view   *status.View
	srv    *http.Server
	url    string // http://host:port
	note   string // why the address is not the one asked for, if it is not
	cancel context.CancelFunc
	done   chan error // Follow's result
	client *kgo.Client
}

// startStatusView follows order-status into a view and serves it on addr,
// or on a free port if addr is taken.
func startStatusView(addr, broker string, serde *schemas.Serde) (*statusView, error) {
	sv := &statusView{view: status.NewView(serde), done: make(chan error, 1)}
	ln, note, err := listen("--status-addr", addr)
	if err != nil {
		return nil, err
	}
	sv.note = note
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(broker)}, status.ClientOpts(order.TopicStatus)...)...)
	if err != nil {
		ln.Close()
		return nil, err
	}
	sv.client = cl
	sv.url = "http://" + ln.Addr().String()
	sv.srv = &http.Server{Handler: status.NewHandler(sv.view), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = sv.srv.Serve(ln) }()
	ctx, cancel := context.WithCancel(context.Background())
	sv.cancel = cancel
	go func() { sv.done <- status.Follow(ctx, cl, order.TopicStatus, sv.view, nil) }()
	return sv, nil
}

// stop shuts the HTTP server down and stops following the topic.
func (sv *statusView) stop() error {
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = sv.srv.Shutdown(shutdownCtx)
	sv.cancel()
	err := <-sv.done
	sv.client.Close()
	return err
}

// listen listens on addr, the value of the flag named flagName, or on a
// free port of the same host if addr is taken; note then says so.
func listen(flagName, addr string) (ln net.Listener, note string, err error) {
	ln, err = net.Listen("tcp", addr)
	if err == nil {
		return ln, "", nil
	}
	host, _, serr := net.SplitHostPort(addr)
	if serr != nil {
		return nil, "", fmt.Errorf("%s %s: %w", flagName, addr, serr)
	}
	if ln, err = net.Listen("tcp", net.JoinHostPort(host, "0")); err != nil {
		return nil, "", fmt.Errorf("%s %s: %w", flagName, addr, err)
	}
	return ln, fmt.Sprintf("%s is busy", addr), nil
}
