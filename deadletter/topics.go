package deadletter

import (
	"strings"
	"time"
)

// Topic returns the default dead-letter topic of input: "<input>.dlq".
func Topic(input string) string { return input + ".dlq" }

// ProgressGroup returns the consumer group whose committed offsets record
// how far [Queue.Replay] has gone through dlqTopic:
// "sluice-dlq-replay.<dlqTopic>". The replay's transactional ID has the same
// name. Kafka's own tools can show it (kafka-consumer-groups.sh --describe)
// or reset it; [FromStart] deletes its offsets.
func ProgressGroup(dlqTopic string) string { return "sluice-dlq-replay." + dlqTopic }

// RetryTopic returns the name of input's retry tier for delay d:
// "<input>.retry.<d>", with d written as [time.Duration.String] writes it
// but without trailing zero units, so 5s, 30s, 5m and 1h give
// "orders.retry.5s", "orders.retry.30s", "orders.retry.5m" and
// "orders.retry.1h", and 90s gives "orders.retry.1m30s". Delays should be
// whole milliseconds at least: Kafka topic names cannot hold the "µ" of
// microseconds.
func RetryTopic(input string, d time.Duration) string {
	return input + ".retry." + formatDelay(d)
}

// ParseRetryTopic is the inverse of [RetryTopic]: it splits
// "orders.retry.5m" into "orders" and 5 minutes. ok is false for a name
// that is not a retry tier.
func ParseRetryTopic(topic string) (input string, d time.Duration, ok bool) {
	i := strings.LastIndex(topic, ".retry.")
	if i <= 0 {
		return "", 0, false
	}
	d, err := time.ParseDuration(topic[i+len(".retry."):])
	if err != nil || d <= 0 {
		return "", 0, false
	}
	return topic[:i], d, true
}

func formatDelay(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
