package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"

	"github.com/sluice-dev/sluice/pipeline/failure"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/sluice-dev/sluice/processors/order"
)

// topicDLQ is validate's dead-letter topic, where the runtime sends the
// poison records of orders. validate would create it at start; the demo
// creates it first so that the tally follows it from the beginning.
var topicDLQ = failure.DeadLetterTopic(order.TopicPlaced)

// pipelineTopics are the topics the demo creates, in pipeline order.
var pipelineTopics = []string{
	order.TopicPlaced, order.TopicValidated, order.TopicScored, order.TopicDecided, order.TopicStatus, topicDLQ,
}

// broker is the embedded kfake cluster.
type broker struct {
	cluster *kfake.Cluster
	addr    string // host:port the clients connect to
	resumed bool   // the data directory held a previous run
	note    string // why the port is not the one asked for, if it is not
}

// startBroker starts a one-broker kfake cluster persisting to dataDir on
// 127.0.0.1:port, or on a free port if that one is taken.
func startBroker(dataDir string, port int) (*broker, error) {
	b := &broker{}
	if _, err := os.Stat(filepath.Join(dataDir, "meta.json")); err == nil {
		b.resumed = true
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		if ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			return nil, fmt.Errorf("listen for the embedded broker: %w", err)
		}
		b.note = fmt.Sprintf("port %d is busy", port)
	}
	// kfake listens through ListenFn; handing it our listener makes the
	// busy-port check and the bind one step, with no window in between.
	c, err := kfake.NewCluster(
		kfake.NumBrokers(1),
		kfake.DataDir(dataDir),
		kfake.ListenFn(func(string, string) (net.Listener, error) { return ln, nil }),
	)
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("start the embedded broker with data in %s: %w", dataDir, err)
	}
	b.cluster = c
	b.addr = c.ListenAddrs()[0]
	return b, nil
}

// createTopics creates the pipeline's topics that do not exist yet, each
// with the given number of partitions; order-status is compacted, keeping
// the latest status of each order.
func createTopics(ctx context.Context, adm *kadm.Client, partitions int) error {
	for _, topic := range pipelineTopics {
		var configs map[string]*string
		if topic == order.TopicStatus {
			configs = map[string]*string{"cleanup.policy": kadm.StringPtr("compact")}
		}
		_, err := adm.CreateTopic(ctx, int32(partitions), -1, configs, topic)
		if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
			return fmt.Errorf("create topic %s: %w", topic, err)
		}
	}
	return nil
}

// removeDataDir deletes a demo data directory for --fresh. It refuses a
// non-empty directory that kfake did not write (no meta.json), so a
// mistyped --data-dir cannot delete someone's files.
func removeDataDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("--fresh: %w", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "meta.json")); len(entries) > 0 && err != nil {
		return fmt.Errorf("--fresh: refusing to delete %s: it does not look like a demo data directory (no meta.json)", dir)
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("--fresh: %w", err)
	}
	return nil
}
