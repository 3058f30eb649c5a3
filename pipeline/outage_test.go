package pipeline_test

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluice-dev/sluice/pipeline"
)

// TestProduceOutageIsNotPoison: while the broker refuses the processor's
// produce requests, nothing is dead-lettered, fetching stops at the
// in-flight cap instead of buffering, and once produce works again every
// record comes out.
func TestProduceOutageIsNotPoison(t *testing.T) {
	c := fakeCluster(t, 2, "in", "out")
	brokers := c.ListenAddrs()
	const n, capRecords = 2000, 200
	produceKeyed(t, brokers, "in", n, 50)

	var down atomic.Bool
	down.Store(true)
	c.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		if down.Load() {
			return nil, errors.New("broker unavailable"), true
		}
		return nil, nil, false
	})

	reg := prometheus.NewRegistry()
	p, err := pipeline.New("outage", passthrough("out"), pipeline.Topics("in"), pipeline.MaxInFlight(capRecords, 1<<30),
		pipeline.RetryDelays(time.Second), pipeline.Metrics(reg),
		pipeline.ClientOptions(kgo.SeedBrokers(brokers...)), pipeline.Logger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	stop := run(t, p)
	consumed := func() float64 {
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		var sum float64
		for _, mf := range mfs {
			if mf.GetName() == "sluice_processor_records_consumed_total" {
				for _, m := range mf.GetMetric() {
					sum += m.GetCounter().GetValue()
				}
			}
		}
		return sum
	}
	waitUntil(t, 20*time.Second, "the processor to fill its in-flight cap", func() bool { return consumed() >= capRecords })
	time.Sleep(time.Second) // the outage goes on; fetching must stay stopped
	if got := consumed(); got > capRecords {
		t.Fatalf("consumed %v records during the outage, more than the in-flight cap %d", got, capRecords)
	}
	down.Store(false)
	seen := drainValues(t, brokers, "out", n, 60*time.Second)
	if len(seen) != n {
		t.Fatalf("%d of %d records came out after the outage", len(seen), n)
	}
	if err := stop(); err != nil {
		t.Fatalf("processor stopped with %v", err)
	}
	if dlq := consumeAll(t, brokers, "in.dlq", 1, time.Second); len(dlq) != 0 {
		t.Fatalf("%d records dead-lettered because the broker was down", len(dlq))
	}
}
