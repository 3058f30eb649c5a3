// Package kafkatest starts Kafka clusters for tests, in the spirit of
// net/http/httptest: one call gives a running cluster whose teardown is
// registered with t.Cleanup, and every failure fails the calling test with a
// message that says what to do.
//
// Two implementations satisfy [Cluster]:
//
//   - [NewFake] runs franz-go's in-process kfake broker. It starts in
//     milliseconds and needs nothing installed; use it for most tests.
//   - [NewKafka] runs real Apache Kafka (KRaft, one or three nodes) in
//     containers through the Docker Engine API (podman serves it here; see
//     .ci/containers.sh and deploy/kafka). Use it, behind the integration
//     build tag, where broker behaviour matters: replication, leader
//     failover, transactions, exact protocol semantics. It also offers fault
//     injection ([Kafka.StopNode], [Kafka.KillNode], [Kafka.StartNode]).
//
// A test written against [Cluster] runs on either:
//
//	func testRoundTrip(t *testing.T, c kafkatest.Cluster) {
//		c.CreateTopic(t, "in", 3, nil)
//		cl := c.Client(t, kgo.DefaultProduceTopic("in"))
//		...
//	}
package kafkatest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Cluster is a Kafka cluster that a test talks to over the Kafka protocol.
type Cluster interface {
	// Brokers returns the host:port seed addresses reachable from the test
	// process, one per node.
	Brokers() []string
	// CreateTopic creates a topic and waits until every partition has a
	// leader and a full in-sync replica set. The replication factor is the
	// cluster's (see [ReplicationFactor]); configs are topic configs such
	// as "cleanup.policy" and may be nil. It fails the test on error.
	CreateTopic(t testing.TB, name string, partitions int32, configs map[string]string)
	// Client returns a client seeded with Brokers and the given options,
	// closed when the test ends.
	Client(t testing.TB, opts ...kgo.Opt) *kgo.Client
}

// Option configures [NewFake] and [NewKafka].
type Option func(*config)

type config struct {
	nodes        int
	rf           int16
	image        string
	startTimeout time.Duration
	secured      bool
}

func newConfig(opts []Option) config {
	c := config{nodes: 1, startTimeout: 2 * time.Minute}
	for _, o := range opts {
		o(&c)
	}
	if c.rf == 0 {
		c.rf = int16(min(3, c.nodes))
	}
	return c
}

// Nodes sets the number of brokers. Default 1. [NewKafka] supports 1 or 3
// (every node is a combined broker and KRaft controller, and a quorum of 2
// nodes tolerates no failure); [NewFake] supports any positive number.
func Nodes(n int) Option { return func(c *config) { c.nodes = n } }

// ReplicationFactor sets the replication factor that CreateTopic uses.
// Default: the number of nodes, at most 3. When it is 3, CreateTopic also
// sets min.insync.replicas=2 unless the topic configs say otherwise, so that
// acks=all producers keep working while one node is down.
func ReplicationFactor(rf int16) Option { return func(c *config) { c.rf = rf } }

// Image sets the container image of [NewKafka]. Default: the environment
// variable SLUICE_KAFKA_IMAGE, else [DefaultImage]. The official
// apache/kafka:4.x images work too: both take the same KAFKA_* variables.
// [NewFake] ignores it.
func Image(ref string) Option { return func(c *config) { c.image = ref } }

// StartTimeout bounds how long [NewKafka] and [Kafka.StartNode] wait for
// brokers to serve metadata. Default 2 minutes (a node takes about 10
// seconds on 2 cores).
func StartTimeout(d time.Duration) Option { return func(c *config) { c.startTimeout = d } }

func newClient(t testing.TB, brokers []string, opts []kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(brokers...)}, opts...)...)
	if err != nil {
		t.Fatalf("kafkatest: new client: %v", err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// createTopic creates a topic through adm and polls metadata until it is
// fully replicated, or until timeout.
func createTopic(t testing.TB, adm *kadm.Client, rf int16, timeout time.Duration, name string, partitions int32, configs map[string]string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()

	cfgs := map[string]*string{}
	for k, v := range configs {
		cfgs[k] = &v
	}
	if _, ok := cfgs["min.insync.replicas"]; !ok && rf >= 3 {
		two := "2"
		cfgs["min.insync.replicas"] = &two
	}
	resp, err := adm.CreateTopic(ctx, partitions, rf, cfgs, name)
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		t.Fatalf("kafkatest: create topic %q (%d partitions, replication factor %d): %v", name, partitions, rf, err)
	}

	err = poll(ctx, func(ctx context.Context) error {
		md, err := adm.Metadata(ctx, name)
		if err != nil {
			return err
		}
		td, ok := md.Topics[name]
		if !ok || td.Err != nil {
			return fmt.Errorf("topic not in metadata yet (%v)", td.Err)
		}
		if len(td.Partitions) != int(partitions) {
			return fmt.Errorf("%d of %d partitions in metadata", len(td.Partitions), partitions)
		}
		for _, p := range td.Partitions {
			if p.Err != nil || p.Leader < 0 || len(p.ISR) < int(rf) {
				return fmt.Errorf("partition %d: leader %d, isr %v, err %v", p.Partition, p.Leader, p.ISR, p.Err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("kafkatest: topic %q created but not ready within %s: %v", name, timeout, err)
	}
}

// poll calls check every 200ms until it returns nil or ctx ends, and then
// returns the last error of check. An errExited ends it at once.
func poll(ctx context.Context, check func(context.Context) error) error {
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		attempt, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := check(attempt)
		cancel()
		if err == nil {
			return nil
		}
		if ex := (errExited{}); errors.As(err, &ex) {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last: %v)", ctx.Err(), err)
		case <-tick.C:
		}
	}
}
