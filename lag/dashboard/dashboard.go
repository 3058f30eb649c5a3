// Package dashboard is the lag monitor's built-in web dashboard: per group
// and topic, lag in records and seconds over time, consume and produce
// rates, retry and DLQ counts, status with its reason and partitions per
// member. The page, its script and its style are embedded in the binary
// (nothing is loaded from elsewhere, so it works offline); the charts are
// SVG drawn by the page's own script, which polls the server for new data.
//
// Routes:
//
//	GET /                 the dashboard
//	GET /assets/...       its script and style
//	GET /api/state?since= the latest report and the history after the
//	                      given Unix millisecond (all kept history without)
//	GET /api/report       the latest report alone (what `lagmon lag --from` reads)
package dashboard

import (
	"embed"
	"encoding/json"
	"io/fs"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/sluice-dev/sluice/lag/monitor"
)

//go:embed assets
var assets embed.FS

// Point is one moment of a group's history, for the charts.
type Point struct {
	T int64 `json:"t"` // Unix milliseconds
	// Per topic, and "" for the whole group.
	Topics map[string]TopicPoint `json:"topics"`
}

// TopicPoint is a group's lag and rates on one topic at one moment.
type TopicPoint struct {
	Lag int64 `json:"lag"`
	// Seconds is null when the estimate is unknown.
	Seconds      *float64 `json:"seconds"`
	Consume      float64  `json:"consume"`
	Produce      float64  `json:"produce"`
	Retried      int64    `json:"retried"`
	DeadLettered int64    `json:"deadLettered"`
}

// Server serves the dashboard. Update is called by the monitor's goroutine
// and ServeHTTP by the HTTP server's; mu guards the history and report.
type Server struct {
	keep     int
	interval time.Duration
	slo      time.Duration
	mux      *http.ServeMux

	mu      sync.Mutex
	latest  monitor.Report
	history map[string][]Point // by group
}

// Option configures a Server.
type Option func(*Server)

// Keep sets how many points of history per group the charts show. Default
// 720 (an hour at the default 5-second sampling).
func Keep(n int) Option { return func(s *Server) { s.keep = n } }

// Refresh sets how often the page asks for new data. Default 2s.
func Refresh(d time.Duration) Option { return func(s *Server) { s.interval = d } }

// SLO draws the lag-in-seconds objective on the charts. Default none.
func SLO(d time.Duration) Option { return func(s *Server) { s.slo = d } }

// New returns a dashboard with no data.
func New(opts ...Option) *Server {
	s := &Server{keep: 720, interval: 2 * time.Second, history: map[string][]Point{}, mux: http.NewServeMux()}
	for _, o := range opts {
		o(s)
	}
	static, _ := fs.Sub(assets, "assets")
	s.mux.Handle("GET /assets/", http.StripPrefix("/assets/", http.FileServerFS(static)))
	s.mux.HandleFunc("GET /{$}", s.index)
	s.mux.HandleFunc("GET /api/state", s.state)
	s.mux.HandleFunc("GET /api/report", s.report)
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Update adds a report to the history. A group missing from the report
// loses its history; a report of a failed read (no groups, an error) is
// kept as the latest but adds no point.
func (s *Server) Update(r monitor.Report) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latest = r
	if r.Err != "" && len(r.Groups) == 0 {
		return
	}
	seen := map[string]bool{}
	for _, g := range r.Groups {
		seen[g.Name] = true
		p := Point{T: r.Time.UnixMilli(), Topics: map[string]TopicPoint{}}
		var all TopicPoint
		all.Seconds = seconds(g.MaxSeconds.Known, g.MaxSeconds.Seconds)
		for _, t := range g.Topics {
			tp := TopicPoint{Lag: t.Lag, Seconds: seconds(t.MaxSeconds.Known, t.MaxSeconds.Seconds), Consume: t.ConsumeRate,
				Produce: t.ProduceRate, Retried: t.Retried, DeadLettered: t.DeadLettered}
			p.Topics[t.Topic] = tp
			all.Lag += tp.Lag
			all.Consume += tp.Consume
			all.Produce += tp.Produce
			all.Retried += tp.Retried
			all.DeadLettered += tp.DeadLettered
		}
		p.Topics[""] = all
		h := append(s.history[g.Name], p)
		if len(h) > s.keep {
			h = append(h[:0:0], h[len(h)-s.keep:]...)
		}
		s.history[g.Name] = h
	}
	for name := range s.history {
		if !seen[name] {
			delete(s.history, name)
		}
	}
}

func seconds(known bool, v float64) *float64 {
	if !known {
		return nil
	}
	return &v
}

// State is the body of /api/state.
type State struct {
	Report  monitor.Report     `json:"report"`
	History map[string][]Point `json:"history"`
	// RefreshMillis and SLOSeconds configure the page.
	RefreshMillis int64   `json:"refreshMillis"`
	SLOSeconds    float64 `json:"sloSeconds"`
}

func (s *Server) state(w http.ResponseWriter, r *http.Request) {
	since, _ := strconv.ParseInt(r.URL.Query().Get("since"), 10, 64)
	s.mu.Lock()
	st := State{Report: s.latest, History: map[string][]Point{}, RefreshMillis: s.interval.Milliseconds(), SLOSeconds: s.slo.Seconds()}
	for g, h := range s.history {
		i := len(h)
		for i > 0 && h[i-1].T > since {
			i--
		}
		st.History[g] = append(make([]Point, 0, len(h)-i), h[i:]...)
	}
	s.mu.Unlock()
	writeJSON(w, st)
}

func (s *Server) report(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	r := s.latest
	s.mu.Unlock()
	writeJSON(w, r)
}

func (s *Server) index(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-cache")
	http.ServeFileFS(w, r, assets, "assets/index.html")
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(v)
}
