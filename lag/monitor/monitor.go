// Package monitor turns snapshots of consumer groups and topic end offsets
// into lag reports: lag per partition in records (never negative) and in
// seconds (package timelag), consume and produce rates, retry and DLQ
// counts, and a status per group (package status). It keeps the history
// those need and forgets groups, topics and partitions that went away, so
// that nothing left behind is reported.
package monitor

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/sluice-dev/sluice/lag/snapshot"
	"github.com/sluice-dev/sluice/lag/status"
	"github.com/sluice-dev/sluice/lag/timelag"
)

// Config are the monitor's settings; zero fields take their defaults.
type Config struct {
	// Rules decide each group's status. Defaults: see status.Rules.
	Rules status.Rules
	// LagWindow is how much end-offset history is kept per partition for
	// the lag in seconds: a consumer further behind than this gets
	// "unknown". Default 30m. Memory is two samples per quiet partition and
	// one per sample for a busy one.
	LagWindow time.Duration
	// RateWindow is the span over which rates are computed. Default 30s.
	RateWindow time.Duration
}

type tp struct {
	topic     string
	partition int32
}

// Monitor builds reports. Observe must be called from one goroutine only
// (it owns ends and points); Latest may be called from any goroutine.
type Monitor struct {
	cfg    Config
	ends   map[tp]*timelag.History
	points map[string]map[status.Partition][]status.Point
	reads  int64
	errs   int64

	mu     sync.Mutex // guards latest
	latest Report
}

// New returns a monitor with no history.
func New(cfg Config) *Monitor {
	if cfg.LagWindow == 0 {
		cfg.LagWindow = 30 * time.Minute
	}
	if cfg.RateWindow == 0 {
		cfg.RateWindow = 30 * time.Second
	}
	return &Monitor{cfg: cfg, ends: map[tp]*timelag.History{}, points: map[string]map[status.Partition][]status.Point{}}
}

// Latest returns the most recent report (the zero Report before the first).
func (m *Monitor) Latest() Report {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.latest
}

func (m *Monitor) publish(r Report) {
	m.mu.Lock()
	m.latest = r
	m.mu.Unlock()
}

// Reader takes snapshots; *snapshot.Reader is the real one.
type Reader interface {
	Read(ctx context.Context) (snapshot.Snapshot, error)
}

// Run reads a snapshot every interval until ctx is done, observes it, and
// passes each report to the sinks (in this goroutine: they must not block).
func (m *Monitor) Run(ctx context.Context, r Reader, every time.Duration, log *slog.Logger, sinks ...func(Report)) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		rep := m.ReadOnce(ctx, r)
		if rep.Err != "" && ctx.Err() == nil {
			log.Warn("lag snapshot", "err", rep.Err)
		}
		for _, s := range sinks {
			s(rep)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// ReadOnce takes one snapshot and observes it. A read that failed
// completely yields a report with only the error: no lag is better than
// stale lag.
func (m *Monitor) ReadOnce(ctx context.Context, r Reader) Report {
	start := time.Now()
	s, err := r.Read(ctx)
	m.reads++
	if err != nil {
		m.errs++
	}
	var rep Report
	if err != nil && len(s.Groups) == 0 && len(s.Ends) == 0 {
		rep = Report{Time: start}
	} else {
		rep = m.observe(s)
	}
	if err != nil {
		rep.Err = err.Error()
	}
	rep.Reads, rep.ReadErrors = m.reads, m.errs
	rep.ReadSeconds = time.Since(start).Seconds()
	m.publish(rep)
	return rep
}

// Observe adds a snapshot to the history and returns (and publishes) the
// report for it.
func (m *Monitor) Observe(s snapshot.Snapshot) Report {
	rep := m.observe(s)
	rep.Reads, rep.ReadErrors = m.reads, m.errs
	m.publish(rep)
	return rep
}

func (m *Monitor) observe(s snapshot.Snapshot) Report {
	now := s.Time
	rep := Report{Time: now}

	seen := map[tp]bool{}
	for topic, parts := range s.Ends {
		t := Topic{Name: topic}
		for p, end := range parts {
			k := tp{topic, p}
			seen[k] = true
			h := m.ends[k]
			if h == nil {
				h = timelag.NewHistory(m.cfg.LagWindow)
				m.ends[k] = h
			}
			h.Add(now, end)
			t.Ends = append(t.Ends, PartitionEnd{p, end})
			t.End += end
			t.ProduceRate += endRate(h.Samples(), now, m.cfg.RateWindow)
		}
		slices.SortFunc(t.Ends, func(a, b PartitionEnd) int { return cmp.Compare(a.Partition, b.Partition) })
		rep.Topics = append(rep.Topics, t)
	}
	for k := range m.ends {
		if !seen[k] {
			delete(m.ends, k)
		}
	}
	slices.SortFunc(rep.Topics, func(a, b Topic) int { return strings.Compare(a.Name, b.Name) })
	topics := map[string]Topic{}
	for _, t := range rep.Topics {
		topics[t.Name] = t
	}

	for _, g := range s.Groups {
		rep.Groups = append(rep.Groups, m.group(now, g, s.Ends, topics))
	}
	for name := range m.points {
		if _, ok := s.Groups[name]; !ok {
			delete(m.points, name)
		}
	}
	slices.SortFunc(rep.Groups, func(a, b Group) int { return strings.Compare(a.Name, b.Name) })
	return rep
}

func (m *Monitor) group(now time.Time, g snapshot.Group, ends map[string]map[int32]int64, topics map[string]Topic) Group {
	out := Group{Name: g.Name, State: g.State}
	owner := map[tp]snapshot.Member{}
	for _, mem := range g.Members {
		om := Member{ID: mem.ID, ClientID: mem.ClientID, Host: mem.Host}
		for topic, ps := range mem.Assigned {
			for _, p := range ps {
				owner[tp{topic, p}] = mem
				om.Assigned = append(om.Assigned, fmt.Sprintf("%s/%d", topic, p))
			}
		}
		sort.Strings(om.Assigned)
		om.Partitions = len(om.Assigned)
		out.Members = append(out.Members, om)
	}

	// The group's partitions: those it committed on and those assigned to
	// its members, on topics that still exist.
	parts := map[string]map[int32]bool{}
	add := func(topic string, p int32) {
		if _, ok := ends[topic][p]; !ok {
			return
		}
		if parts[topic] == nil {
			parts[topic] = map[int32]bool{}
		}
		parts[topic][p] = true
	}
	for topic, ps := range g.Committed {
		for p := range ps {
			add(topic, p)
		}
	}
	for k := range owner {
		add(k.topic, k.partition)
	}

	hist := m.points[g.Name]
	if hist == nil {
		hist = map[status.Partition][]status.Point{}
		m.points[g.Name] = hist
	}
	keep := m.cfg.Rules.Keep()
	current := map[status.Partition][]status.Point{}
	var groupSecs []timelag.Estimate
	for topic, ps := range parts {
		gt := GroupTopic{Topic: topic, ProduceRate: topics[topic].ProduceRate}
		var secs []timelag.Estimate
		for p := range ps {
			part := m.partition(now, topic, p, g.Committed[topic], ends[topic][p])
			if mem, ok := owner[tp{topic, p}]; ok {
				part.Owner, part.Host, part.MemberID = mem.ClientID, mem.Host, mem.ID
			}
			gt.Partitions = append(gt.Partitions, part)
			if !part.HasCommit() {
				continue
			}
			gt.Lag += part.Lag
			gt.Committed += part.Committed
			secs = append(secs, part.Seconds)
			sp := status.Partition{Topic: topic, Partition: p}
			pts := trim(append(hist[sp], status.Point{Time: now, Committed: part.Committed, Lag: part.Lag, Seconds: part.Seconds}), now, keep)
			current[sp] = pts
			gt.ConsumeRate += committedRate(pts, now, m.cfg.RateWindow)
		}
		slices.SortFunc(gt.Partitions, func(a, b Partition) int { return cmp.Compare(a.Partition, b.Partition) })
		gt.MaxSeconds = maxEstimate(secs)
		groupSecs = append(groupSecs, secs...)
		for _, t := range topics {
			switch {
			case strings.HasPrefix(t.Name, topic+".retry."):
				gt.Retried += t.End
				gt.RetryRate += t.ProduceRate
			case t.Name == topic+".dlq":
				gt.DeadLettered += t.End
				gt.DLQRate += t.ProduceRate
			}
		}
		out.Lag += gt.Lag
		out.ConsumeRate += gt.ConsumeRate
		out.Topics = append(out.Topics, gt)
	}
	m.points[g.Name] = current
	slices.SortFunc(out.Topics, func(a, b GroupTopic) int { return strings.Compare(a.Topic, b.Topic) })
	out.MaxSeconds = maxEstimate(groupSecs)
	out.Verdict = m.cfg.Rules.Evaluate(status.Input{Now: now, Members: len(g.Members), Partitions: current})
	return out
}

func (m *Monitor) partition(now time.Time, topic string, p int32, committed map[int32]int64, end int64) Partition {
	c, ok := committed[p]
	if !ok {
		return Partition{Partition: p, Committed: -1, End: end, Note: "no committed offset yet",
			Seconds: timelag.Estimate{Reason: "no committed offset yet"}}
	}
	part := Partition{Partition: p, Committed: c, End: end, Lag: end - c}
	if part.Lag < 0 {
		// Committed and end offsets come from two requests, possibly to two
		// brokers (a leader that moved, a follower's stale high watermark,
		// a truncated log): a committed offset past the end is caught up.
		part.Note = fmt.Sprintf("committed offset %d is past the end offset %d: counted as caught up", c, end)
		part.Lag = 0
	}
	if h := m.ends[tp{topic, p}]; h != nil {
		part.Seconds = h.Lag(min(c, end), now)
	}
	return part
}

// trim drops points older than keep.
func trim(pts []status.Point, now time.Time, keep time.Duration) []status.Point {
	i := 0
	for i < len(pts)-1 && now.Sub(pts[i].Time) > keep {
		i++
	}
	return pts[i:]
}

// maxEstimate is the largest estimate; unknown if any is unknown.
func maxEstimate(es []timelag.Estimate) timelag.Estimate {
	out := timelag.Estimate{Known: true}
	for _, e := range es {
		switch {
		case !e.Known:
			if out.Known || e.AtLeast > out.AtLeast {
				out = timelag.Estimate{AtLeast: max(e.AtLeast, out.AtLeast), Reason: e.Reason}
			}
		case out.Known && e.Seconds > out.Seconds:
			out.Seconds = e.Seconds
		}
	}
	return out
}

// endRate is records per second produced over about the last window.
func endRate(samples []timelag.Sample, now time.Time, window time.Duration) float64 {
	if len(samples) < 2 {
		return 0
	}
	last := samples[len(samples)-1]
	from := samples[0]
	for _, s := range samples {
		if now.Sub(s.Time) >= window {
			from = s
		}
	}
	return rate(last.End-from.End, last.Time.Sub(from.Time))
}

// committedRate is records per second committed past over about the last
// window (0 when the offset went backwards: a reset is not consumption).
func committedRate(pts []status.Point, now time.Time, window time.Duration) float64 {
	if len(pts) < 2 {
		return 0
	}
	last := pts[len(pts)-1]
	from := pts[0]
	for _, p := range pts {
		if now.Sub(p.Time) >= window {
			from = p
		}
	}
	return rate(last.Committed-from.Committed, last.Time.Sub(from.Time))
}

func rate(n int64, d time.Duration) float64 {
	if n <= 0 || d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}
