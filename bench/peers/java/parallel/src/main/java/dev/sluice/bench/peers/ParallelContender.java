package dev.sluice.bench.peers;

import java.time.Duration;
import java.util.List;
import java.util.Properties;

import io.confluent.parallelconsumer.ParallelConsumerOptions;
import io.confluent.parallelconsumer.ParallelConsumerOptions.CommitMode;
import io.confluent.parallelconsumer.ParallelConsumerOptions.ProcessingOrder;
import io.confluent.parallelconsumer.ParallelStreamProcessor;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * Confluent Parallel Consumer: pollAndProduce(handler) with the ordering and
 * concurrency given, committing through the consumer (at-least-once) or
 * through the producer's transactions (--commit-mode=transactional).
 * Runs until SIGTERM.
 */
public final class ParallelContender {
    public static void main(String[] argv) throws Exception {
        Args a = new Args(argv, "brokers", "input", "output", "group", "k", "sleep-us", "commit-ms", "ordering", "concurrency", "commit-mode");
        int k = a.getInt("k");
        long sleepMicros = a.getLong("sleep-us");
        String output = a.get("output");
        ProcessingOrder order = ProcessingOrder.valueOf(a.get("ordering").toUpperCase());
        CommitMode mode;
        switch (a.get("commit-mode")) {
            case "consumer" -> mode = CommitMode.PERIODIC_CONSUMER_ASYNCHRONOUS;
            case "transactional" -> mode = CommitMode.PERIODIC_TRANSACTIONAL_PRODUCER;
            default -> throw new IllegalArgumentException("--commit-mode=" + a.get("commit-mode") + ": want consumer or transactional");
        }

        Properties cp = new Properties();
        cp.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, a.get("brokers"));
        cp.put(ConsumerConfig.GROUP_ID_CONFIG, a.get("group"));
        cp.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false); // Parallel Consumer requires it
        cp.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        if (mode == CommitMode.PERIODIC_TRANSACTIONAL_PRODUCER) {
            cp.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        }
        KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(cp, new ByteArrayDeserializer(), new ByteArrayDeserializer());

        Properties pp = new Properties();
        pp.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, a.get("brokers"));
        if (mode == CommitMode.PERIODIC_TRANSACTIONAL_PRODUCER) {
            pp.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, a.get("group"));
        }
        KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(pp, new ByteArraySerializer(), new ByteArraySerializer());

        ParallelConsumerOptions<byte[], byte[]> opts = ParallelConsumerOptions.<byte[], byte[]>builder()
            .ordering(order)
            .maxConcurrency(a.getInt("concurrency"))
            .commitMode(mode)
            .commitInterval(Duration.ofMillis(a.getInt("commit-ms")))
            .consumer(consumer)
            .producer(producer)
            .build();
        ParallelStreamProcessor<byte[], byte[]> pc = ParallelStreamProcessor.createEosStreamProcessor(opts);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> pc.closeDontDrainFirst(Duration.ofSeconds(20))));
        pc.subscribe(List.of(a.get("input")));
        pc.pollAndProduce(ctx -> {
            ConsumerRecord<byte[], byte[]> r = ctx.getSingleConsumerRecord();
            return new ProducerRecord<>(output, r.key(), Work.apply(r.value(), k, sleepMicros));
        });
        Thread.currentThread().join(); // PC runs on its own threads until the shutdown hook closes it
    }
}
