package runner

import (
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluice-dev/sluice/pipeline/kafkaconn"
)

// health is what /readyz reports, learned through franz-go hooks on the
// processor's client, so the runtime needs no part in it: a processor is
// ready once Kafka answered at start, and stops being ready while its
// group session keeps failing (the hook sees every failed join, sync or
// heartbeat) until a heartbeat is answered again.
//
// A failure that waiting will not fix, Kafka refusing the client
// (authentication, authorization, TLS), ends the processor when it has
// lasted limit: giveUp is called once with the classified error. Others
// (an unreachable broker, a coordinator moving) only make it unready:
// the client keeps retrying, and the processor resumes when Kafka is back.
//
// The hooks run on franz-go's goroutines and /readyz on the HTTP server's;
// mu guards every field below it.
type health struct {
	group  string
	limit  time.Duration
	giveUp func(error)
	log    *slog.Logger
	now    func() time.Time

	mu      sync.Mutex
	started bool      // Kafka answered at start; the processor runs
	reason  error     // why not ready; nil when ready (once started)
	since   time.Time // when the current failure streak began
	gaveUp  bool
}

func newHealth(group string, limit time.Duration, giveUp func(error), log *slog.Logger) *health {
	return &health{group: group, limit: limit, giveUp: giveUp, log: log, now: time.Now, reason: errStarting}
}

var errStarting = errors.New("connecting to Kafka")

// refusal reports whether err is Kafka refusing this client, which does not
// pass by waiting.
func refusal(err error) bool {
	return errors.Is(err, kafkaconn.ErrAuthentication) || errors.Is(err, kafkaconn.ErrAuthorization) || errors.Is(err, kafkaconn.ErrTLS)
}

// waiting records why the processor is not running yet (the start-up wait).
func (h *health) waiting(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.reason = err
}

// start marks the processor running and ready.
func (h *health) start() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.started, h.reason = true, nil
}

// stop marks it not ready for good (shutting down).
func (h *health) stop() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.started, h.reason = false, errors.New("shutting down")
}

// ready returns nil when the processor is ready, else why it is not.
func (h *health) ready() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.started && h.reason == nil {
		return errStarting
	}
	return h.reason
}

// OnGroupManageError implements kgo.HookGroupManageError: the group
// session failed and the client backs off before rejoining.
func (h *health) OnGroupManageError(err error) {
	err = kafkaconn.Classify(kafkaconn.Named(kafkaconn.ResourceGroup, h.group, err))
	now := h.now()
	h.mu.Lock()
	if !h.started || h.gaveUp {
		h.mu.Unlock()
		return
	}
	first := h.reason == nil
	changed := first || h.reason.Error() != err.Error()
	if first || refusal(err) != refusal(h.reason) {
		h.since = now
	}
	h.reason = err
	give := refusal(err) && now.Sub(h.since) >= h.limit
	h.gaveUp = give
	since := h.since
	h.mu.Unlock()

	switch {
	case give:
		h.giveUp(&refusedError{lasted: now.Sub(since).Round(time.Second), err: err})
	case changed && refusal(err):
		h.log.Error("Kafka refuses the processor's group session; not ready, and exiting if it lasts", "group", h.group, "exit_after", h.limit, "err", err)
	case changed:
		h.log.Warn("group session failed; not ready until it is back", "group", h.group, "err", err)
	}
}

// OnBrokerRead implements kgo.HookBrokerRead: an answered heartbeat means
// the group session is up again (a member heartbeats only after joining).
func (h *health) OnBrokerRead(_ kgo.BrokerMetadata, key int16, _ int, _, _ time.Duration, err error) {
	const heartbeat = 12 // kmsg.Heartbeat
	if key != heartbeat || err != nil {
		return
	}
	h.mu.Lock()
	resumed := h.started && h.reason != nil && !h.gaveUp
	if resumed {
		h.reason = nil
	}
	h.mu.Unlock()
	if resumed {
		h.log.Info("group session is back; ready", "group", h.group)
	}
}

var (
	_ kgo.HookGroupManageError = (*health)(nil)
	_ kgo.HookBrokerRead       = (*health)(nil)
)

// refusedError is the error a processor exits with when Kafka refused it
// for the whole of --kafka-wait.
type refusedError struct {
	lasted time.Duration
	err    error
}

func (e *refusedError) Error() string {
	return "Kafka refused the processor for " + e.lasted.String() + " (--kafka-wait): " + e.err.Error()
}
func (e *refusedError) Unwrap() error { return e.err }
