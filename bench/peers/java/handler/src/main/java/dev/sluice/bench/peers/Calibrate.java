package dev.sluice.bench.peers;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;

/**
 * Finds the k for which one Work.apply call costs a target CPU time on this
 * machine, after warming up the JIT, and prints one line of JSON:
 * {"k":K,"us_per_call":measured CPU microseconds per call at K}.
 * Usage: Calibrate TARGET_MICROS [MEASURE_MILLIS]. CPU time of this thread,
 * not wall time, so other load on a shared machine does not move it much.
 */
public final class Calibrate {
    private static volatile byte sink;

    public static void main(String[] args) {
        if (args.length < 1) {
            System.err.println("usage: Calibrate TARGET_MICROS [MEASURE_MILLIS]");
            System.exit(2);
        }
        double target = Double.parseDouble(args[0]);
        long measureMillis = args.length > 1 ? Long.parseLong(args[1]) : 1000;
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        byte[] value = Records.value(42);

        // Warm up until the hashing loop is compiled.
        perCallNanos(mx, value, 1000, 2 * measureMillis);
        double perRound = perCallNanos(mx, value, 1000, measureMillis) / 1000.0;
        int k = (int) Math.max(1, Math.round(target * 1000 / perRound));
        // A second round corrects for the first digest hashing the whole value.
        double us = perCallNanos(mx, value, k, measureMillis) / 1000.0;
        k = (int) Math.max(1, Math.round(k * target / us));
        us = perCallNanos(mx, value, k, measureMillis) / 1000.0;
        System.out.printf("{\"k\":%d,\"us_per_call\":%.2f}%n", k, us);
    }

    /** Runs apply(value, k) for about millis of thread CPU time; returns CPU ns per call. */
    private static double perCallNanos(ThreadMXBean mx, byte[] value, int k, long millis) {
        long start = mx.getCurrentThreadCpuTime();
        long calls = 0;
        long budget = millis * 1_000_000;
        while (mx.getCurrentThreadCpuTime() - start < budget) {
            for (int i = 0; i < 10; i++) {
                sink ^= Work.apply(value, k, 0)[9];
            }
            calls += 10;
        }
        return (double) (mx.getCurrentThreadCpuTime() - start) / calls;
    }
}
