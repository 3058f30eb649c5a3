package deadletter

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sluice-dev/sluice/pipeline/failure"
)

// errNoOrigin marks a record without an origin topic header: it cannot be
// replayed, so replays count and skip it.
var errNoOrigin = errors.New("no origin topic header (" + failure.HeaderOriginTopic + " or " + failure.ConnectHeaderTopic + ")")

// router picks the topic a replayed record goes to. It lists the cluster's
// topics once, so it sees topics as they were when the replay started.
type router struct {
	toRetry bool
	delay   time.Duration // with toRetry: this tier; 0: the shortest that exists
	topics  map[string]bool
	tiers   map[string]string // origin topic -> its first retry tier
}

func newRouter(ctx context.Context, q *Queue, cfg replayConfig) (*router, error) {
	tds, err := q.adm.ListTopics(ctx)
	if err != nil {
		return nil, fmt.Errorf("list topics: %w", err)
	}
	rt := &router{toRetry: cfg.toRetry, delay: cfg.delay, topics: map[string]bool{}, tiers: map[string]string{}}
	shortest := map[string]time.Duration{}
	for _, name := range tds.Names() {
		rt.topics[name] = true
		if in, d, ok := failure.ParseRetryTopic(name); ok && (shortest[in] == 0 || d < shortest[in]) {
			shortest[in] = d
			rt.tiers[in] = name
		}
	}
	return rt, nil
}

// target returns the topic rec is replayed to, or an error naming what is
// missing. It wraps errNoOrigin for records without an origin.
func (rt *router) target(rec *Record) (string, error) {
	origin := rec.Origin.Topic
	if origin == "" {
		return "", fmt.Errorf("record %s: %w", rec.ID(), errNoOrigin)
	}
	if !rt.toRetry {
		if !rt.topics[origin] {
			return "", fmt.Errorf("record %s: its origin topic %s does not exist", rec.ID(), origin)
		}
		return origin, nil
	}
	if rt.delay > 0 {
		t := failure.RetryTopic(origin, rt.delay)
		if !rt.topics[t] {
			return "", fmt.Errorf("record %s: retry tier %s of origin %s does not exist", rec.ID(), t, origin)
		}
		return t, nil
	}
	t, ok := rt.tiers[origin]
	if !ok {
		return "", fmt.Errorf("record %s: origin %s has no retry tier (no topic %s exists); replay to the origin instead", rec.ID(), origin, origin+".retry.<delay>")
	}
	return t, nil
}
