package deadletter

// ProgressGroup returns the consumer group whose committed offsets record
// how far [Queue.Replay] has gone through dlqTopic:
// "sluice-dlq-replay.<dlqTopic>". The replay's transactional ID has the same
// name. Kafka's own tools can show it (kafka-consumer-groups.sh --describe)
// or reset it; [FromStart] deletes its offsets.
func ProgressGroup(dlqTopic string) string { return "sluice-dlq-replay." + dlqTopic }
