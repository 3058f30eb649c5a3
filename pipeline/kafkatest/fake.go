package kafkatest

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Fake is an in-process kfake cluster listening on 127.0.0.1.
type Fake struct {
	kf  *kfake.Cluster
	adm *kadm.Client
	cfg config
}

var _ Cluster = (*Fake)(nil)

// NewFake starts an in-process fake cluster (franz-go's kfake) with
// [Nodes] brokers, closed when the test ends. Topics are not auto-created,
// as on the real cluster of [NewKafka].
func NewFake(t testing.TB, opts ...Option) *Fake {
	t.Helper()
	cfg := newConfig(opts)
	if cfg.nodes < 1 {
		t.Fatalf("kafkatest: NewFake: Nodes(%d): need at least 1", cfg.nodes)
	}
	kf, err := kfake.NewCluster(
		kfake.NumBrokers(cfg.nodes),
		kfake.DefaultNumPartitions(3),
	)
	if err != nil {
		t.Fatalf("kafkatest: start kfake cluster: %v", err)
	}
	t.Cleanup(kf.Close)
	f := &Fake{kf: kf, cfg: cfg}
	f.adm = kadm.NewClient(newClient(t, f.Brokers(), nil))
	return f
}

// Brokers returns the fake brokers' 127.0.0.1 addresses.
func (f *Fake) Brokers() []string { return f.kf.ListenAddrs() }

// CreateTopic implements [Cluster].
func (f *Fake) CreateTopic(t testing.TB, name string, partitions int32, configs map[string]string) {
	t.Helper()
	createTopic(t, f.adm, f.cfg.rf, 10*time.Second, name, partitions, configs)
}

// Client implements [Cluster].
func (f *Fake) Client(t testing.TB, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	return newClient(t, f.Brokers(), opts)
}

// KFake returns the underlying kfake cluster, for its fault injection
// (Control, MoveTopicPartition, RemoveNode, ...).
func (f *Fake) KFake() *kfake.Cluster { return f.kf }
