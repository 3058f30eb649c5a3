package pipeline_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluice-dev/sluice/pipeline"
)

// TestASecondLiveInstanceWithTheSameIDFencesTheFirst: two live instances
// claiming one instance ID is a deployment mistake; the first one is told
// so, in words that say what to change, instead of both fighting for the
// partitions.
func TestASecondLiveInstanceWithTheSameIDFencesTheFirst(t *testing.T) {
	brokers := fakeKafka(t, 2, "in", "out")
	produceKeyed(t, brokers, "in", 10, 10)
	mk := func() *pipeline.Processor {
		p, err := pipeline.New("static", passthrough("out"), pipeline.Topics("in"), pipeline.InstanceID("pod-0"),
			pipeline.ClientOptions(kgo.SeedBrokers(brokers...)), pipeline.Logger(quiet))
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	first := make(chan error, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { first <- mk().Run(ctx) }()
	drainValues(t, brokers, "out", 10, 10*time.Second)
	go func() { _ = mk().Run(ctx) }()
	select {
	case err := <-first:
		if !errors.Is(err, pipeline.ErrInstanceFenced) {
			t.Fatalf("first instance stopped with %v, want ErrInstanceFenced", err)
		}
		t.Logf("first instance: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("the first instance kept running beside a second one with its instance ID")
	}
}
