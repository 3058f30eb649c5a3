//go:build integration

package main

import (
	"testing"

	"github.com/sluice-dev/sluice/pipeline/kafkatest"
)

// BenchmarkGeneratorVsKcatKafka is BenchmarkGeneratorVsKcat against a real
// Kafka broker in a container (deploy/kafka), where the broker validates
// and writes every batch to disk as in production:
//
//	go test -tags integration -run '^$' -bench GeneratorVsKcatKafka -benchtime 3x ./cmd/loader/
func BenchmarkGeneratorVsKcatKafka(b *testing.B) {
	kcat := lookKcat(b)
	k := kafkatest.NewKafka(b)
	compareWithKcat(b, kcat, k.Brokers(), func(topic string) { k.CreateTopic(b, topic, 6, nil) })
}
