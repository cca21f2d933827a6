package org.mimi4j.perf;

import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Light stage timing counters for benchmarks: off by default (one static boolean test per hook), on for the whole
 * process while {@link #enable} holds. Each hook adds the wall time and the floating-point operations of one stage
 * call; the model calls hooks from one thread per call (the compute inside may be parallel), so with one caller the
 * sums are the wall time of each stage.
 */
public final class Profiler {
    /** What the counters are kept for. */
    public enum Stage {
        /** SEANet convolutions incl. residual blocks, their ELUs, and the learnt stride-2 downsample. */
        CONV,
        /** Transposed convolutions incl. the ELU before each, and the depthwise upsample. */
        CONV_TRANSPOSE,
        /** Transformer layers: norms, projections, attention, GELU feed-forward. */
        TRANSFORMER,
        /** Quantizer: projections, nearest-codebook search, codebook sums. */
        QUANTIZER
    }

    private static volatile boolean enabled;
    private static final AtomicLongArray NANOS = new AtomicLongArray(Stage.values().length);
    private static final AtomicLongArray FLOPS = new AtomicLongArray(Stage.values().length);

    private Profiler() {
    }

    public static void enable(boolean on) {
        enabled = on;
    }

    public static void reset() {
        for (int i = 0; i < NANOS.length(); i++) {
            NANOS.set(i, 0);
            FLOPS.set(i, 0);
        }
    }

    /** A start time for {@link #end}, or 0 when profiling is off. */
    public static long begin() {
        return enabled ? System.nanoTime() : 0L;
    }

    /** Adds the time since {@code t0} (from {@link #begin}) and {@code flops} to a stage. */
    public static void end(Stage s, long t0, long flops) {
        if (t0 == 0L) return;
        NANOS.addAndGet(s.ordinal(), System.nanoTime() - t0);
        FLOPS.addAndGet(s.ordinal(), flops);
    }

    public static long nanos(Stage s) {
        return NANOS.get(s.ordinal());
    }

    public static long flops(Stage s) {
        return FLOPS.get(s.ordinal());
    }
}
