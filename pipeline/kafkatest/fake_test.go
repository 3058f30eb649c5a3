package kafkatest_test

import (
	"os"
	"regexp"
	"testing"

	"github.com/sluice-dev/sluice/pipeline/kafkatest"
)

func TestFakeRoundTripsRecords(t *testing.T) {
	for _, nodes := range []int{1, 3} {
		t.Run(map[int]string{1: "one broker", 3: "three brokers"}[nodes], func(t *testing.T) {
			c := kafkatest.NewFake(t, kafkatest.Nodes(nodes))
			if got := len(c.Brokers()); got != nodes {
				t.Fatalf("Brokers() = %d addresses, want %d", got, nodes)
			}
			c.CreateTopic(t, "events", 3, map[string]string{"cleanup.policy": "delete"})
			produce(t, c, "events", 0, 500)
			consumeAll(t, c, "events", 500)
		})
	}
}

func TestDefaultImageMatchesPinnedKafkaVersion(t *testing.T) {
	pom, err := os.ReadFile("../../deploy/kafka/pom.xml")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`<kafka\.version>([^<]+)</kafka\.version>`).FindSubmatch(pom)
	if m == nil {
		t.Fatal("no <kafka.version> in deploy/kafka/pom.xml")
	}
	if want := "localhost/sluice-kafka:" + string(m[1]); kafkatest.DefaultImage != want {
		t.Errorf("DefaultImage = %q, but deploy/kafka/pom.xml pins Kafka %s: want %q", kafkatest.DefaultImage, m[1], want)
	}
}
