package dev.sluice.bench.peers;

/**
 * The input record format, the same as bench/peers/internal/workload's:
 * a 100-byte value whose first 8 bytes are the record's sequence number
 * (big-endian) and the rest a filler derived from it.
 */
public final class Records {
    public static final int VALUE_SIZE = 100;

    private Records() {}

    public static byte[] value(long seq) {
        byte[] v = new byte[VALUE_SIZE];
        for (int i = 0; i < 8; i++) {
            v[i] = (byte) (seq >>> (56 - 8 * i));
        }
        for (int i = 8; i < VALUE_SIZE; i++) {
            v[i] = (byte) (seq * 31 + i);
        }
        return v;
    }
}
