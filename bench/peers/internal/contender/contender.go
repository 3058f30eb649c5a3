// Package contender lists the runtimes the benchmark compares and how to
// start each one as its own process. Every contender consumes the input
// topic in a fresh consumer group, runs work.Apply on each record, produces
// one output per input (same key, value carrying the input's sequence
// number) and commits offsets, until it gets SIGTERM.
package contender

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"github.com/sluice-dev/sluice/bench/peers/internal/spec"
	"github.com/sluice-dev/sluice/bench/peers/internal/workload"
)

// Language says which calibration of the handler a contender uses.
type Language string

const (
	Go   Language = "go"
	Java Language = "java"
)

// Contender is one runtime in one configuration.
type Contender struct {
	Name      string
	Runtime   string // what it is, for the table
	Lang      Language
	Guarantee string // "at-least-once" or "exactly-once"
	// KeyOrder is whether the configuration promises per-key order; the
	// output check counts reordered keys either way, and only fails a run
	// for them when this is set.
	KeyOrder bool
	// Settings describes the configuration, for the README.
	Settings string
	// Unavailable, when set, is why the contender cannot run in this
	// build; the table shows it in place of figures.
	Unavailable string
	args        func(p Paths, w workload.Workload) []string
}

// Paths is where the built contenders are.
type Paths struct {
	Bin      string   // Go contender binaries (bench/peers/bin)
	Java     string   // bench/peers/java, built with mvn package
	JavaOpts []string // JVM flags for every Java contender
}

// IOWorkers is the Sluice worker count for workloads whose handler mostly
// waits (W4): pipeline.Workers documents raising it for such handlers.
const IOWorkers = 256

func sluiceWorkers(w workload.Workload) int {
	if w.Sleep > 0 {
		return IOWorkers
	}
	return runtime.GOMAXPROCS(0)
}

// All returns every contender, in the order runs interleave them.
func All() []Contender {
	cpu := runtime.GOMAXPROCS(0)
	sluice := func(name, ordering string, keyOrder bool) Contender {
		return Contender{
			Name: name, Runtime: "Sluice pipeline, " + ordering + " order", Lang: Go, Guarantee: "at-least-once", KeyOrder: keyOrder,
			Settings: fmt.Sprintf("pipeline.OrderBy(%s), Workers %d (%d on I/O-bound W4), other options default", ordering, cpu, IOWorkers),
			args: func(p Paths, w workload.Workload) []string {
				return []string{filepath.Join(p.Bin, "sluice"), "--ordering=" + ordering, "--workers=" + strconv.Itoa(sluiceWorkers(w))}
			},
		}
	}
	pc := func(concurrency int, mode string) Contender {
		name, guarantee := fmt.Sprintf("pc-key-%d", concurrency), "at-least-once"
		if mode == "transactional" {
			name, guarantee = name+"-tx", "exactly-once"
		}
		return Contender{
			Name: name, Runtime: "Confluent Parallel Consumer, KEY order", Lang: Java, Guarantee: guarantee, KeyOrder: true,
			Settings: fmt.Sprintf("pollAndProduce, ordering KEY, maxConcurrency %d, commit mode %s", concurrency, map[string]string{
				"consumer": "PERIODIC_CONSUMER_ASYNCHRONOUS", "transactional": "PERIODIC_TRANSACTIONAL_PRODUCER"}[mode]),
			args: func(p Paths, w workload.Workload) []string {
				return append(javaCmd(p, "parallel", "ParallelContender"),
					"--ordering=key", "--concurrency="+strconv.Itoa(concurrency), "--commit-mode="+mode)
			},
		}
	}
	streams := func(guarantee string) Contender {
		name, g := "streams-alos", "at-least-once"
		if guarantee == "exactly_once_v2" {
			name, g = "streams-eos", "exactly-once"
		}
		return Contender{
			Name: name, Runtime: "Kafka Streams, mapValues", Lang: Java, Guarantee: g, KeyOrder: true,
			Settings: fmt.Sprintf("processing.guarantee %s, num.stream.threads %d", guarantee, cpu),
			args: func(p Paths, w workload.Workload) []string {
				return append(javaCmd(p, "streams", "StreamsContender"), "--guarantee="+guarantee, "--threads="+strconv.Itoa(cpu))
			},
		}
	}
	eos := sluice("sluice-key-eos", "key", true)
	eos.Runtime, eos.Guarantee = "Sluice pipeline, key order, exactly-once", "exactly-once"
	eos.Settings = "the same as sluice-key plus pipeline.ExactlyOnce()"
	// A contender that cannot run in some build sets Unavailable (the
	// table then shows it as skipped with that reason).
	eos.args = func(p Paths, w workload.Workload) []string {
		return append(sluice("", "key", true).args(p, w), "--guarantee=exactly-once")
	}
	return []Contender{
		sluice("sluice-key", "key", true),
		sluice("sluice-partition", "partition", true),
		sluice("sluice-unordered", "unordered", false),
		eos,
		{
			Name: "franz-go-loop", Runtime: "hand-written franz-go loop", Lang: Go, Guarantee: "at-least-once", KeyOrder: true,
			Settings: "one goroutine per partition: handle a polled batch, produce, wait for the acks, mark for commit",
			args:     func(p Paths, w workload.Workload) []string { return []string{filepath.Join(p.Bin, "franzgo")} },
		},
		pc(4, "consumer"),
		pc(16, "consumer"),
		pc(16, "transactional"),
		streams("at_least_once"),
		streams("exactly_once_v2"),
		{
			Name: "watermill", Runtime: "Watermill router, Kafka pub/sub", Lang: Go, Guarantee: "at-least-once", KeyOrder: true,
			Settings: "router handler; Kafka subscriber (consumer group) and publisher (sync producer, acks=all) from watermill-kafka",
			args:     func(p Paths, w workload.Workload) []string { return []string{filepath.Join(p.Bin, "watermill")} },
		},
	}
}

func javaCmd(p Paths, module, class string) []string {
	target := filepath.Join(p.Java, module, "target")
	cp := filepath.Join(target, module+"-1.jar") + ":" + filepath.Join(target, "lib", "*")
	return append(append([]string{"java"}, p.JavaOpts...), "-cp", cp, "dev.sluice.bench.peers."+class)
}

// Command returns the command that runs c on workload w.
func (c Contender) Command(p Paths, w workload.Workload, common spec.Common) *exec.Cmd {
	argv := append(c.args(p, w), common.Args()...)
	return exec.Command(argv[0], argv[1:]...)
}

// Select returns the contenders named in list (comma-separated); "" or
// "all" means all of them.
func Select(cs []Contender, list string) ([]Contender, error) {
	if list == "" || list == "all" {
		return cs, nil
	}
	var out []Contender
	for _, name := range strings.Split(list, ",") {
		found := false
		for _, c := range cs {
			if c.Name == strings.TrimSpace(name) {
				out, found = append(out, c), true
			}
		}
		if !found {
			names := make([]string, len(cs))
			for i, c := range cs {
				names[i] = c.Name
			}
			return nil, fmt.Errorf("unknown contender %q in --contenders: want some of %s", name, strings.Join(names, ","))
		}
	}
	return out, nil
}
