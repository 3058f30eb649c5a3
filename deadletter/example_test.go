package deadletter_test

import (
	"context"
	"fmt"

	"github.com/sluice-dev/sluice/pipeline/failure"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluice-dev/sluice/deadletter"
)

// Replay a dead-letter topic to the records' origin, then again: the
// second run finds nothing new.
func ExampleQueue_Replay() {
	ctx := context.Background()
	kf, _ := kfake.NewCluster(kfake.NumBrokers(1))
	defer kf.Close()
	conn := []kgo.Opt{kgo.SeedBrokers(kf.ListenAddrs()...)}
	cl, _ := kgo.NewClient(conn...)
	defer cl.Close()
	_, _ = kadm.NewClient(cl).CreateTopics(ctx, 1, 1, nil, "orders", "orders.dlq")
	_ = cl.ProduceSync(ctx, &kgo.Record{Topic: "orders.dlq", Key: []byte("o-1"), Value: []byte("v"), Headers: []kgo.RecordHeader{
		{Key: failure.HeaderError, Value: []byte("payment timeout")},
		{Key: failure.HeaderOriginTopic, Value: []byte("orders")},
	}}).FirstErr()

	q, err := deadletter.Open(ctx, "orders.dlq", conn...)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer q.Close()
	for range 2 {
		st, err := q.Replay(ctx, deadletter.WithFilter(deadletter.Filter{ErrorContains: "timeout"}))
		fmt.Println(st.Replayed, st.Topics, err)
	}
	// Output:
	// 1 map[orders:1] <nil>
	// 0 map[] <nil>
}
