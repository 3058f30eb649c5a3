//go:build integration

package pipeline_test

import (
	"fmt"
	"testing"
	"time"

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
	var hand, sl time.Duration
	for i := 0; i < b.N; i++ {
		hand += handLoop(b, brokers, fmt.Sprintf("hand-%d", i), n)
		sl += sluiceLoop(b, brokers, fmt.Sprintf("sluice-%d", i), n, passthrough("out"))
	}
	b.ReportMetric(float64(n)*float64(b.N)/hand.Seconds(), "baseline-rec/s")
	b.ReportMetric(float64(n)*float64(b.N)/sl.Seconds(), "sluice-rec/s")
	b.ReportMetric(hand.Seconds()/sl.Seconds(), "ratio")
}
