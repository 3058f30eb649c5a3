//go:build integration

package pipeline_test

import (
	"testing"

	"github.com/sluice-dev/sluice/integration/orderchain"
	"github.com/sluice-dev/sluice/pipeline/kafkatest"
)

// TestIntegrationPoisonRetryDLQReplay runs the poison path on a real Kafka
// broker: retry tiers, dead-letter topic, replay after the fix (a
// transactional write the processor reads with read_committed), nothing
// lost, and a second replay sends nothing.
func TestIntegrationPoisonRetryDLQReplay(t *testing.T) {
	k := kafkatest.NewKafka(t)
	k.CreateTopic(t, "payments", 3, nil)
	k.CreateTopic(t, "payments.out", 3, nil)
	orderchain.Summary(t, "INTEGRATION poison-retry-dlq-replay: "+redriveRoundTrip(t, k.Brokers(), "payments", "payments.out"))
}
