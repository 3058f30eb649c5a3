package dev.sluice.bench.peers;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;

/**
 * The handler every contender runs, the same in Go (bench/peers/internal/work):
 * sleep for the workload's I/O time, then hash the value with SHA-256 k times
 * over (each round hashes the previous digest). The output is the input's
 * first 8 bytes (its sequence number) followed by the last digest; with
 * k = 0 the output is the input unchanged.
 */
public final class Work {
    private static final ThreadLocal<MessageDigest> SHA256 = ThreadLocal.withInitial(() -> {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 missing from this JVM", e);
        }
    });

    private Work() {}

    public static byte[] apply(byte[] value, int k, long sleepMicros) {
        if (sleepMicros > 0) {
            try {
                TimeUnit.MICROSECONDS.sleep(sleepMicros);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("handler interrupted", e);
            }
        }
        if (k == 0) {
            return value;
        }
        if (value.length < 8) {
            throw new IllegalArgumentException("value of " + value.length + " bytes: want at least 8 (the sequence number)");
        }
        MessageDigest md = SHA256.get();
        byte[] d = value;
        for (int i = 0; i < k; i++) {
            d = md.digest(d);
        }
        byte[] out = Arrays.copyOf(value, 8 + d.length);
        System.arraycopy(d, 0, out, 8, d.length);
        return out;
    }
}
