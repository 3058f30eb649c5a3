// Command watermill is the benchmark's Watermill contender: a message.Router
// handler between watermill-kafka's Subscriber (a Sarama consumer group)
// and Publisher (a Sarama sync producer), producing one output per input
// with the input's key, until SIGTERM. The subscriber hands a partition's
// next message to the router only once the previous one is acked, so
// messages of one partition are handled one at a time, in order, and
// partitions in parallel.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/IBM/sarama"
	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill-kafka/v3/pkg/kafka"
	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/sluice-dev/sluice/bench/peers/internal/spec"
	"github.com/sluice-dev/sluice/bench/peers/internal/work"
)

// keyMeta carries the input's Kafka key to the output through the
// message's metadata (Watermill messages have no key of their own).
const keyMeta = "key"

func main() {
	var c spec.Common
	fs := flag.NewFlagSet("watermill", flag.ExitOnError)
	c.Register(fs)
	_ = fs.Parse(os.Args[1:])
	if err := c.Check(); err != nil {
		fmt.Fprintln(os.Stderr, "watermill:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := run(ctx, c); err != nil {
		fmt.Fprintln(os.Stderr, "watermill:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, c spec.Common) error {
	logger := watermill.NewStdLoggerWithOut(os.Stderr, false, false)
	// Kafka 4 dropped the old protocol versions Watermill's default
	// (Kafka 1.0) would speak.
	version := sarama.V4_0_0_0
	codec := kafka.NewWithPartitioningMarshaler(func(_ string, msg *message.Message) (string, error) {
		return msg.Metadata.Get(keyMeta), nil
	})

	subCfg := kafka.DefaultSaramaSubscriberConfig()
	subCfg.Version = version
	subCfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	subCfg.Consumer.Offsets.AutoCommit.Interval = c.CommitInterval
	sub, err := kafka.NewSubscriber(kafka.SubscriberConfig{
		Brokers:               c.BrokerList(),
		Unmarshaler:           codec,
		OverwriteSaramaConfig: subCfg,
		ConsumerGroup:         c.Group,
	}, logger)
	if err != nil {
		return fmt.Errorf("subscriber: %w", err)
	}

	pubCfg := kafka.DefaultSaramaSyncPublisherConfig()
	pubCfg.Version = version
	pubCfg.Producer.RequiredAcks = sarama.WaitForAll // as every other contender
	pub, err := kafka.NewPublisher(kafka.PublisherConfig{
		Brokers:               c.BrokerList(),
		Marshaler:             codec,
		OverwriteSaramaConfig: pubCfg,
	}, logger)
	if err != nil {
		return fmt.Errorf("publisher: %w", err)
	}

	router, err := message.NewRouter(message.RouterConfig{}, logger)
	if err != nil {
		return fmt.Errorf("router: %w", err)
	}
	router.AddHandler("peers", c.Input, sub, c.Output, pub, func(msg *message.Message) ([]*message.Message, error) {
		key, ok := kafka.MessageKeyFromCtx(msg.Context())
		if !ok {
			return nil, fmt.Errorf("message %s has no Kafka key in its context", msg.UUID)
		}
		out := message.NewMessage(watermill.NewUUID(), work.Apply(msg.Payload, c.K, c.Sleep))
		out.Metadata.Set(keyMeta, string(key))
		return []*message.Message{out}, nil
	})
	return router.Run(ctx)
}
