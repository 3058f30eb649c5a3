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
	"github.com/sluice-dev/sluice/processors/chain"
	"github.com/sluice-dev/sluice/processors/order"
	"github.com/sluice-dev/sluice/processors/status"
	"github.com/sluice-dev/sluice/schemas"
)

// stages are the processors of the chain, in pipeline order, each in the
// consumer group named like the standalone binary, whose default group it is.
var stages = chain.All()

// stageConfig is what the demo runs the stages with: the binaries' defaults
// but for the model's size (--model-trees).
func stageConfig(c config) chain.Config {
	sc := chain.DefaultConfig()
	sc.ModelTrees = c.modelTrees
	return sc
}

// commitInterval is shorter than the library's 1s default: a demo run lasts
// seconds, and the run ends only once everything is committed.
const commitInterval = 200 * time.Millisecond

// running is the three processors running in this process, each in its own
// consumer group as if it were its own binary. Each Run has a goroutine,
// which stop waits for; a failure is reported on failed.
type running struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
	failed chan error // buffered for every processor, so no Run blocks on it
}

// startChain builds validate, score and decide with the library and runs
// them against the broker at addr.
func startChain(c config, addr string, serde *schemas.Serde, log *slog.Logger) (*running, error) {
	sc := stageConfig(c)
	procs := make([]*pipeline.Processor, len(stages))
	for i, s := range stages {
		h, err := s.Handler(serde, sc)
		if err != nil {
			return nil, err
		}
		maxInFlight := s.MaxInFlight
		if maxInFlight == 0 {
			maxInFlight = pipeline.DefaultMaxInFlightRecords
		}
		p, err := pipeline.New(s.Name, h,
			pipeline.Topics(sc.Topics.Of(s.Input)),
			pipeline.Workers(c.workers),
			pipeline.MaxInFlight(maxInFlight, pipeline.DefaultMaxInFlightBytes),
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
	ch := &running{cancel: cancel, failed: make(chan error, len(procs))}
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
func (ch *running) stop() error {
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
