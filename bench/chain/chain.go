package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/sluice-dev/sluice/processors/order"
)

// The chain's stages, in pipeline order, named like their binaries.
var stages = []string{"validate", "score", "decide"}

const (
	modeKey       = "key"       // every stage's default --ordering
	modePartition = "partition" // --ordering partition on --partition-stages
)

// splitMode splits a mode of --modes into its ordering and the --variant
// whose binaries it runs ("" for the tree the benchmark runs from).
func splitMode(mode string) (ordering, variant string) {
	ordering, variant, _ = strings.Cut(mode, "@")
	return ordering, variant
}

// chain is one step's instance of the order pipeline: its topics (prefixed
// with the step's name, so steps never share a topic or a group) and its
// three stage processes.
type chain struct {
	prefix string
	procs  map[string]*proc
	ports  map[string]int // stage -> its --metrics-addr port
	pprof  string         // score's --pprof-addr, when profiling
}

func (c *chain) topic(name string) string  { return c.prefix + "." + name }
func (c *chain) group(stage string) string { return c.prefix + "-" + stage }

func (c *chain) input(stage string) string {
	switch stage {
	case "validate":
		return c.topic(order.TopicPlaced)
	case "score":
		return c.topic(order.TopicValidated)
	default:
		return c.topic(order.TopicScored)
	}
}

// outputTopics are written by the stages: the broker stamps their records
// with its append time.
func (c *chain) outputTopics() []string {
	return []string{c.topic(order.TopicValidated), c.topic(order.TopicScored), c.topic(order.TopicDecided), c.topic(order.TopicStatus)}
}

// createTopics creates the step's topics. Only the input keeps CreateTime:
// its timestamp is the order's send time.
func (c *chain) createTopics(ctx context.Context, adm *kadm.Client, partitions int) error {
	logAppend := func(extra ...string) map[string]*string {
		m := map[string]*string{"message.timestamp.type": kadm.StringPtr("LogAppendTime")}
		for i := 0; i+1 < len(extra); i += 2 {
			m[extra[i]] = kadm.StringPtr(extra[i+1])
		}
		return m
	}
	topics := map[string]map[string]*string{c.topic(order.TopicPlaced): nil}
	for _, t := range c.outputTopics() {
		topics[t] = logAppend()
	}
	topics[c.topic(order.TopicStatus)] = logAppend("cleanup.policy", "compact")
	for t, cfg := range topics {
		resp, err := adm.CreateTopic(ctx, int32(partitions), 1, cfg, t)
		if err == nil {
			err = resp.Err
		}
		if err != nil {
			return fmt.Errorf("create topic %s: %w", t, err)
		}
	}
	// A created topic shows in metadata a moment later; a stage that looks
	// before then refuses to start ("input topic does not exist").
	names := slices.Collect(maps.Keys(topics))
	deadline := time.Now().Add(30 * time.Second)
	for {
		md, err := adm.ListTopics(ctx, names...)
		missing := 0
		for _, t := range names {
			d, ok := md[t]
			if !ok || d.Err != nil || len(d.Partitions) != partitions {
				missing++
				continue
			}
			for _, p := range d.Partitions {
				if p.Leader < 0 {
					missing++
				}
			}
		}
		if err == nil && missing == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("topics %v not all in metadata with leaders 30s after creating them (err %v)", names, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// deleteTopics deletes every topic of the step, the retry and dead-letter
// topics the stages created included.
func (c *chain) deleteTopics(ctx context.Context, adm *kadm.Client) error {
	all, err := adm.ListTopics(ctx)
	if err != nil {
		return fmt.Errorf("list topics: %w", err)
	}
	var mine []string
	for _, t := range all.Names() {
		if strings.HasPrefix(t, c.prefix+".") {
			mine = append(mine, t)
		}
	}
	if len(mine) == 0 {
		return nil
	}
	resp, err := adm.DeleteTopics(ctx, mine...)
	if err == nil {
		err = resp.Error()
	}
	if err != nil {
		return fmt.Errorf("delete topics of %s: %w", c.prefix, err)
	}
	return nil
}

// stageArgs are the flags a stage is started with: only where to connect,
// its topics, group and metrics port; everything else is the default,
// except --ordering partition in partition mode.
func (c *chain) stageArgs(stage, brokers string, ordering bool) []string {
	args := []string{
		"--brokers", brokers,
		"--group", c.group(stage),
		"--input", c.input(stage),
		"--metrics-addr", net.JoinHostPort("127.0.0.1", strconv.Itoa(c.ports[stage])),
		"--status-topic", c.topic(order.TopicStatus),
	}
	switch stage {
	case "validate":
		args = append(args, "--validated-topic", c.topic(order.TopicValidated), "--decided-topic", c.topic(order.TopicDecided))
	case "score":
		args = append(args, "--scored-topic", c.topic(order.TopicScored))
		if c.pprof != "" {
			args = append(args, "--pprof-addr", c.pprof)
		}
	case "decide":
		args = append(args, "--decided-topic", c.topic(order.TopicDecided))
	}
	if ordering {
		args = append(args, "--ordering", "partition")
	}
	return args
}

// start starts the three stages. scoreEnv is added to score's environment
// (GODEBUG when profiling).
func (c *chain) start(bin, dir, brokers, mode string, partitionStages, scoreEnv []string) error {
	ports, err := freePorts(len(stages))
	if err != nil {
		return err
	}
	c.procs, c.ports = map[string]*proc{}, map[string]int{}
	for i, s := range stages {
		c.ports[s] = ports[i]
	}
	for _, s := range stages {
		var env []string
		if s == "score" {
			env = scoreEnv
		}
		ordering, _ := splitMode(mode)
		partition := ordering == modePartition && slices.Contains(partitionStages, s)
		p, err := startProc(filepath.Join(bin, s), c.stageArgs(s, brokers, partition), env, filepath.Join(dir, c.prefix+"-"+s+".log"))
		if err != nil {
			c.stop()
			return err
		}
		p.name = s
		c.procs[s] = p
	}
	return nil
}

// waitStable waits until every stage's group is Stable with one member,
// i.e. each stage owns its input partitions.
func (c *chain) waitStable(ctx context.Context, adm *kadm.Client, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	groups := make([]string, len(stages))
	for i, s := range stages {
		groups[i] = c.group(s)
	}
	for {
		if err := c.checkRunning(); err != nil {
			return err
		}
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		described, err := adm.DescribeGroups(rctx, groups...)
		cancel()
		var notYet []string
		for _, g := range groups {
			d, ok := described[g]
			if !ok || d.Err != nil || d.State != "Stable" || len(d.Members) != 1 {
				notYet = append(notYet, fmt.Sprintf("%s (%s)", g, d.State))
			}
		}
		if err == nil && len(notYet) == 0 {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("stage groups not stable after %s: %s (err %v)", timeout, strings.Join(notYet, ", "), err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// checkRunning fails if a stage exited: a stage stops on a fatal error,
// which would make every figure of the step meaningless.
func (c *chain) checkRunning() error {
	for _, s := range stages {
		if p := c.procs[s]; p != nil && p.exited() {
			return fmt.Errorf("stage %s of %s exited: %v (see its log)", s, c.prefix, p.err)
		}
	}
	return nil
}

// stop stops the stages gracefully (SIGTERM: drain, commit, leave).
func (c *chain) stop() error {
	var errs []error
	for _, s := range stages {
		if p := c.procs[s]; p != nil {
			if err := p.stop(syscall.SIGTERM, 20*time.Second); err != nil {
				errs = append(errs, fmt.Errorf("stage %s: %w", s, err))
			}
		}
	}
	return errors.Join(errs...)
}
