package dev.sluice.bench.peers;

import java.util.HashMap;
import java.util.Map;

/**
 * The command line every contender takes (bench/peers/internal/spec writes it):
 * --name=value pairs. Unknown names are refused so that a typo in the harness
 * cannot silently run a contender with a default.
 */
public final class Args {
    private final Map<String, String> values = new HashMap<>();

    public Args(String[] args, String... known) {
        java.util.Set<String> ok = java.util.Set.of(known);
        for (String a : args) {
            int eq = a.indexOf('=');
            if (!a.startsWith("--") || eq < 0) {
                throw new IllegalArgumentException("argument " + a + ": want --name=value");
            }
            String name = a.substring(2, eq);
            if (!ok.contains(name)) {
                throw new IllegalArgumentException("unknown argument --" + name + " (known: " + String.join(", ", known) + ")");
            }
            values.put(name, a.substring(eq + 1));
        }
    }

    public String get(String name) {
        String v = values.get(name);
        if (v == null || v.isEmpty()) {
            throw new IllegalArgumentException("missing --" + name);
        }
        return v;
    }

    public int getInt(String name) {
        try {
            return Integer.parseInt(get(name));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--" + name + "=" + values.get(name) + ": not an integer", e);
        }
    }

    public long getLong(String name) {
        try {
            return Long.parseLong(get(name));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--" + name + "=" + values.get(name) + ": not an integer", e);
        }
    }
}
