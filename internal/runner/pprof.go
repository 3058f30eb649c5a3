package runner

import (
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"runtime"
	"time"
)

// Sampling rates while --pprof-addr is set. Both profiles are empty unless
// a rate is set, and both cost CPU on every sampled event, so they are on
// only with the endpoint.
const (
	// mutexProfileFraction samples one mutex contention event in this many.
	mutexProfileFraction = 10
	// blockProfileRate records every blocking event (channel, select,
	// sync.Cond, mutex wait) of at least this many nanoseconds and samples
	// shorter ones in proportion to their length.
	blockProfileRate = 10_000
)

// profiling is --pprof-addr: Go's net/http/pprof handlers on a listener of
// their own, so that a processor can be profiled under load without
// exposing its internals on the metrics address. Off by default.
type profiling struct{ addr string }

func (p *profiling) register(fs *flag.FlagSet) {
	fs.StringVar(&p.addr, "pprof-addr", "", "address for Go's profiling endpoints under /debug/pprof/ (CPU, heap, goroutine, mutex, block, trace), "+
		"e.g. 127.0.0.1:6060; while set, 1 in 10 mutex contentions and every blocking wait of 10µs or more are also sampled, which costs some CPU. "+
		"It exposes the process's internals: keep it on localhost. Empty: off")
}

// serve starts the profiling endpoint if --pprof-addr is set and returns
// its address (empty when off) and the function that stops it.
func (p *profiling) serve(log *slog.Logger) (addr string, stop func(), err error) {
	if p.addr == "" {
		return "", func() {}, nil
	}
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		return "", nil, fmt.Errorf("--pprof-addr %s: %w", p.addr, err)
	}
	runtime.SetMutexProfileFraction(mutexProfileFraction)
	runtime.SetBlockProfileRate(blockProfileRate)
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index) // also serves heap, goroutine, mutex, block, allocs, threadcreate
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	// No WriteTimeout: a CPU profile or trace streams for as long as its
	// ?seconds= asks.
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln) // returns http.ErrServerClosed after Close
	}()
	addr = ln.Addr().String()
	log.Info("serving profiles", "addr", "http://"+addr+"/debug/pprof/")
	return addr, func() {
		_ = srv.Close()
		<-done
		runtime.SetMutexProfileFraction(0)
		runtime.SetBlockProfileRate(0)
	}, nil
}
