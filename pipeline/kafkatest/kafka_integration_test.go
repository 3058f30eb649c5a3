//go:build integration

package kafkatest_test

import (
	"net"
	"os"
	"strings"
	"testing"

	"github.com/ory/dockertest/v3"
	docker "github.com/ory/dockertest/v3/docker"

	"github.com/sluice-dev/sluice/pipeline/kafkatest"
)

func TestIntegrationKafkaSingleNodeRoundTripsRecords(t *testing.T) {
	k := kafkatest.NewKafka(t)
	if got := len(k.Brokers()); got != 1 {
		t.Fatalf("Brokers() = %v, want one address", k.Brokers())
	}
	k.CreateTopic(t, "events", 3, nil)
	produce(t, k, "events", 0, 1000)
	consumeAll(t, k, "events", 1000)

	t.Run("InternalBrokersReachableFromNetwork", func(t *testing.T) {
		host, port, _ := net.SplitHostPort(k.InternalBrokers()[0])
		img := os.Getenv("SLUICE_KAFKA_IMAGE")
		if img == "" {
			img = kafkatest.DefaultImage
		}
		repo, tag, _ := strings.Cut(img[strings.LastIndex(img, "/")+1:], ":")
		repo = img[:strings.LastIndex(img, "/")+1] + repo
		res, err := k.Pool().RunWithOptions(&dockertest.RunOptions{
			Repository: repo, Tag: tag,
			NetworkID:  k.Network(),
			Labels:     map[string]string{kafkatest.Label: "probe"},
			Entrypoint: []string{"bash", "-c", "exec 3<>/dev/tcp/" + host + "/" + port},
		}, func(hc *docker.HostConfig) { hc.PublishAllPorts = false })
		if err != nil {
			t.Fatalf("run probe container on network %s: %v", k.Network(), err)
		}
		t.Cleanup(func() { _ = k.Pool().Purge(res) })
		code, err := k.Pool().Client.WaitContainer(res.Container.ID)
		if err != nil || code != 0 {
			t.Fatalf("probe container could not connect to %s: exit %d, %v", k.InternalBrokers()[0], code, err)
		}
	})
}

func TestIntegrationKafkaThreeNodesSurviveKilledNode(t *testing.T) {
	k := kafkatest.NewKafka(t, kafkatest.Nodes(3))
	k.CreateTopic(t, "events", 6, nil)
	produce(t, k, "events", 0, 300)
	t.Log("produced 300")

	k.KillNode(t, 1)
	produce(t, k, "events", 300, 300) // acks=all with min.insync.replicas=2 of 3
	consumeAll(t, k, "events", 600)
	t.Log("produced and consumed with node 1 down")

	k.StartNode(t, 1)
	produce(t, k, "events", 600, 300)
	consumeAll(t, k, "events", 900)
	t.Log("produced and consumed with node 1 back")

	k.StopNode(t, 0)
	produce(t, k, "events", 900, 100)
	consumeAll(t, k, "events", 1000)
	k.StartNode(t, 0)
}
