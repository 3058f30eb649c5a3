//go:build integration

package pipeline_test

import (
	"testing"

	"github.com/sluice-dev/sluice/pipeline/kafkatest"
)

// BenchmarkRuntimeOverheadKafka is BenchmarkRuntimeOverhead against a real
// Kafka broker in a container (deploy/kafka), where a broker writes to disk
// and answers over TCP as it does in production:
//
//	go test -tags integration -run '^$' -bench RuntimeOverheadKafka ./pipeline/
func BenchmarkRuntimeOverheadKafka(b *testing.B) {
	const n = 200_000
	k := kafkatest.NewKafka(b)
	k.CreateTopic(b, "in", 6, nil)
	k.CreateTopic(b, "out", 6, nil)
	brokers := k.Brokers()
	produceFast(b, brokers, "in", n, 10_000)
	compareWithHandLoop(b, brokers, n)
}
