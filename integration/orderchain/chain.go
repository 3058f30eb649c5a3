// Package orderchain runs Sluice's reference order pipeline (validate →
// score → decide) as containers against a real Kafka from
// pipeline/kafkatest, feeds it orders and checks what came out with
// pipeline/verify. The integration suites in integration/ are built on it:
// each scenario makes a [Chain] with its own topics and groups, starts
// processors ([Chain.Start]), injects a fault through the [Proc] or the
// cluster, waits until the pipeline has settled ([Chain.WaitSettled]) and
// checks ([Chain.Verify]).
//
// Processors run from one image ([Image]) that [EnsureImage] builds from
// the working tree, each in its own container on the cluster's network,
// configured through SLUICE_* environment variables (every flag has one).
package orderchain

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ory/dockertest/v3"
	docker "github.com/ory/dockertest/v3/docker"
	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/sluice-dev/sluice/internal/envflag"
	"github.com/sluice-dev/sluice/internal/runner"
	"github.com/sluice-dev/sluice/pipeline/kafkatest"
	"github.com/sluice-dev/sluice/processors/chain"
)

// Stage is one processor of the chain, by the name processors/chain
// declares it with, which is also its binary's.
type Stage string

// The chain's stages, as processors/chain declares them.
var (
	Validate = Stage(chain.Validate().Name)
	Score    = Stage(chain.Score().Name)
	Decide   = Stage(chain.Decide().Name)
)

// Stages lists the stages in pipeline order.
var Stages = []Stage{Validate, Score, Decide}

// decl returns the declaration of s.
func (s Stage) decl() chain.Stage {
	d, ok := chain.Lookup(string(s))
	if !ok {
		panic(fmt.Sprintf("orderchain: processors/chain declares no stage %q", s))
	}
	return d
}

// Topics are a chain's topic names; [New] prefixes the defaults of package
// order with the chain's name (chain.Prefixed), so chains sharing a cluster
// never meet.
type Topics = chain.Topics

// Option configures [New].
type Option func(*Chain)

// Partitions sets the partition count of every topic. Default 6: enough for
// three instances of a stage to get two each.
func Partitions(n int32) Option { return func(c *Chain) { c.partitions = n } }

// ModelTrees sets score's --model-trees. Default 300 (a twentieth of the
// binary's default), so scoring costs little CPU on a shared machine.
func ModelTrees(n int) Option { return func(c *Chain) { c.trees = n } }

// Env adds SLUICE_* variables (NAME=value) to every processor container,
// e.g. "SLUICE_COMMIT_INTERVAL=500ms".
func Env(vars ...string) Option { return func(c *Chain) { c.env = append(c.env, vars...) } }

// ExactlyOnce runs every stage with --guarantee exactly-once and makes the
// collector read like the stages do, read_committed, so what it counts is
// what a downstream consumer sees.
func ExactlyOnce() Option {
	return func(c *Chain) {
		c.env = append(c.env, "SLUICE_GUARANTEE=exactly-once")
		c.readCommitted = true
	}
}

// Chain is one instance of the order pipeline on a cluster: its topics,
// groups and processor containers. Methods are for the test goroutine.
type Chain struct {
	Name   string
	Topics Topics
	k      *kafkatest.Kafka
	adm    *kadm.Client

	partitions    int32
	trees         int
	env           []string
	readCommitted bool

	mu    sync.Mutex
	procs []*Proc
}

// New creates the chain's topics on k (the status topic compacted, like in
// production) and builds the processor image if needed. name must be unique
// among the chains on k; it prefixes topics, groups and container names.
func New(t testing.TB, k *kafkatest.Kafka, name string, opts ...Option) *Chain {
	t.Helper()
	EnsureImage(t)
	c := &Chain{
		Name:       name,
		Topics:     chain.Prefixed(name),
		k:          k,
		adm:        kadm.NewClient(k.Client(t)),
		partitions: 6,
		trees:      300,
	}
	for _, o := range opts {
		o(c)
	}
	for _, topic := range []string{c.Topics.Placed, c.Topics.Validated, c.Topics.Scored, c.Topics.Decided} {
		k.CreateTopic(t, topic, c.partitions, nil)
	}
	k.CreateTopic(t, c.Topics.Status, c.partitions, map[string]string{"cleanup.policy": "compact"})
	t.Cleanup(func() { c.cleanup(t) })
	return c
}

// Group returns the consumer group of stage.
func (c *Chain) Group(s Stage) string { return c.Name + "-" + string(s) }

// Input returns the input topic of stage.
func (c *Chain) Input(s Stage) string { return c.Topics.Of(s.decl().Input) }

// Partitions returns the partition count of the chain's topics.
func (c *Chain) Partitions() int32 { return c.partitions }

// Admin returns an admin client of the chain's cluster.
func (c *Chain) Admin() *kadm.Client { return c.adm }

// stageEnv configures a stage's container: the runner's flags, and the
// stage's output topics by the flags its declaration registers.
func (c *Chain) stageEnv(s Stage) []string {
	env := []string{
		"SLUICE_BROKERS=" + strings.Join(c.k.InternalBrokers(), ","),
		"SLUICE_GROUP=" + c.Group(s),
		"SLUICE_INPUT=" + c.Input(s),
		"SLUICE_CLIENT_ID=" + c.Name + "-" + string(s),
	}
	for _, out := range s.decl().Outputs {
		env = append(env, envflag.Name(runner.EnvPrefix, out.Flag())+"="+c.Topics.Of(out))
	}
	if s == Score {
		env = append(env, "SLUICE_MODEL_TREES="+strconv.Itoa(c.trees))
	}
	return append(env, c.env...)
}

// Start starts one more instance of stage in a container and returns it.
// Instances of a stage share its consumer group.
func (c *Chain) Start(t testing.TB, s Stage) *Proc {
	t.Helper()
	c.mu.Lock()
	n := 1
	for _, p := range c.procs {
		if p.Stage == s {
			n++
		}
	}
	c.mu.Unlock()
	name := fmt.Sprintf("sluice-%s-%s-%d-%d", c.Name, s, n, time.Now().UnixNano()%1e6)
	repo, tag, _ := strings.Cut(Image, ":")
	pool := c.k.Pool()
	// On a one-node cluster no broker restarts, so the processors can find
	// it by /etc/hosts instead of the network's DNS server, which timed out
	// for tens of seconds under load in CI and kept a processor from
	// connecting at all. Clusters whose nodes restart keep DNS: a restarted
	// node may come back at another address.
	var hosts []string
	if len(c.k.Brokers()) == 1 {
		hosts = c.k.InternalHosts(t)
	}
	res, err := pool.RunWithOptions(&dockertest.RunOptions{
		ExtraHosts: hosts,
		Name:       name,
		Hostname:   name,
		Repository: repo,
		Tag:        tag,
		Entrypoint: []string{"/" + string(s)},
		Env:        c.stageEnv(s),
		Labels:     kafkatest.Labels(t),
		NetworkID:  c.k.Network(),
	}, func(hc *docker.HostConfig) {
		hc.PublishAllPorts = false
		hc.RestartPolicy = docker.RestartPolicy{Name: "no"}
	})
	if err != nil {
		t.Fatalf("orderchain: start %s container %s: %v", s, name, err)
	}
	p := &Proc{Stage: s, Name: name, pool: pool, res: res}
	c.mu.Lock()
	c.procs = append(c.procs, p)
	c.mu.Unlock()
	return p
}

// StartAll starts one instance of every stage.
func (c *Chain) StartAll(t testing.TB) map[Stage]*Proc {
	t.Helper()
	m := make(map[Stage]*Proc, len(Stages))
	for _, s := range Stages {
		m[s] = c.Start(t, s)
	}
	return m
}

// RequireRunning fails t for every processor that is not running although
// the test did not stop or kill it: a processor exits on its own on an
// error it cannot route (or on any failed record with --on-error stop), and
// that is what this catches.
func (c *Chain) RequireRunning(t testing.TB) {
	t.Helper()
	c.mu.Lock()
	procs := append([]*Proc(nil), c.procs...)
	c.mu.Unlock()
	for _, p := range procs {
		if p.down {
			continue
		}
		st, err := p.state()
		if err != nil {
			t.Errorf("orderchain: inspect %s: %v", p.Name, err)
			continue
		}
		if !st.Running {
			t.Errorf("orderchain: %s exited (code %d) on its own; last lines:\n%s", p.Name, st.ExitCode, p.Logs(40))
		}
	}
}

func (c *Chain) cleanup(t testing.TB) {
	c.mu.Lock()
	procs := c.procs
	c.procs = nil
	c.mu.Unlock()
	for _, p := range procs {
		if t.Failed() {
			t.Logf("orderchain: last lines of %s:\n%s", p.Name, p.Logs(30))
		}
		if err := p.pool.Purge(p.res); err != nil {
			t.Logf("orderchain: remove %s: %v", p.Name, err)
		}
	}
}

// Proc is one processor container.
type Proc struct {
	Stage Stage
	Name  string
	pool  *dockertest.Pool
	res   *dockertest.Resource
	down  bool // stopped or killed by the test
}

// Kill sends SIGKILL, like a crash or an OOM kill, and waits until the
// container has exited. Nothing is committed or flushed.
func (p *Proc) Kill(t testing.TB) {
	t.Helper()
	p.signal(t, docker.SIGKILL)
}

// Stop sends SIGTERM and waits for the graceful shutdown (drain, commit,
// leave the group) to end; it fails t unless the process exits with 0.
func (p *Proc) Stop(t testing.TB) {
	t.Helper()
	p.signal(t, docker.SIGTERM)
	if st, _ := p.state(); st.ExitCode != 0 {
		t.Errorf("orderchain: %s exited with %d after SIGTERM, want 0; last lines:\n%s", p.Name, st.ExitCode, p.Logs(30))
	}
}

// Restart starts the container again after Kill or Stop: the same process
// configuration, a new process.
func (p *Proc) Restart(t testing.TB) {
	t.Helper()
	if err := p.pool.Client.StartContainer(p.res.Container.ID, nil); err != nil {
		t.Fatalf("orderchain: restart %s: %v", p.Name, err)
	}
	p.down = false
}

// Pause freezes every process of the container (cgroup freezer): it keeps
// its connections and state but neither heartbeats nor commits, like a
// long GC pause or a stalled VM.
func (p *Proc) Pause(t testing.TB) {
	t.Helper()
	if err := p.pool.Client.PauseContainer(p.res.Container.ID); err != nil {
		t.Fatalf("orderchain: pause %s: %v", p.Name, err)
	}
}

// Unpause thaws a paused container.
func (p *Proc) Unpause(t testing.TB) {
	t.Helper()
	if err := p.pool.Client.UnpauseContainer(p.res.Container.ID); err != nil {
		t.Fatalf("orderchain: unpause %s: %v", p.Name, err)
	}
}

func (p *Proc) signal(t testing.TB, sig docker.Signal) {
	t.Helper()
	p.down = true
	if err := p.pool.Client.KillContainer(docker.KillContainerOptions{ID: p.res.Container.ID, Signal: sig}); err != nil {
		t.Fatalf("orderchain: signal %d to %s: %v", sig, p.Name, err)
	}
	err := Poll(context.Background(), 60*time.Second, func(context.Context) error {
		st, err := p.state()
		if err != nil {
			return err
		}
		if st.Running {
			return fmt.Errorf("%s still running", p.Name)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("orderchain: %s did not exit after signal %d: %v", p.Name, sig, err)
	}
}

func (p *Proc) state() (docker.State, error) {
	c, err := p.pool.Client.InspectContainer(p.res.Container.ID)
	if err != nil {
		return docker.State{}, err
	}
	return c.State, nil
}

// Logs returns the last n lines the processor wrote (it logs to stderr).
func (p *Proc) Logs(n int) string {
	var buf bytes.Buffer
	err := p.pool.Client.Logs(docker.LogsOptions{
		Container: p.res.Container.ID, OutputStream: &buf, ErrorStream: &buf,
		Stdout: true, Stderr: true, Tail: strconv.Itoa(n),
	})
	if err != nil {
		return fmt.Sprintf("(logs of %s: %v)", p.Name, err)
	}
	return buf.String()
}

// Poll calls check every 200 ms until it returns nil, and returns the last
// error of check when timeout passes or ctx ends first.
func Poll(ctx context.Context, timeout time.Duration, check func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		attempt, cancelAttempt := context.WithTimeout(ctx, 10*time.Second)
		err := check(attempt)
		cancelAttempt()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last: %v)", ctx.Err(), err)
		case <-tick.C:
		}
	}
}

// WaitFor polls cond every 200 ms and fails t, naming what, if it does not
// hold within timeout.
func WaitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	err := Poll(context.Background(), timeout, func(context.Context) error {
		if cond() {
			return nil
		}
		return fmt.Errorf("not yet: %s", what)
	})
	if err != nil {
		t.Fatalf("orderchain: %s: %v", what, err)
	}
}
