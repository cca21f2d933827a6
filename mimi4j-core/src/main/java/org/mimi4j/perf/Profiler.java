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

    /**
     * GEMM calls (a layer's product with its fused epilogue), by how many columns each weight serves: at most 2 (one
     * stream's step: the weights stream from memory once per call, so the call is bound by memory bandwidth) or more.
     */
    public enum Gemms {
        FEW_COLUMNS,
        MANY_COLUMNS
    }

    private static volatile boolean enabled;
    private static final AtomicLongArray NANOS = new AtomicLongArray(Stage.values().length);
    private static final AtomicLongArray FLOPS = new AtomicLongArray(Stage.values().length);
    private static final AtomicLongArray GEMM_NANOS = new AtomicLongArray(Gemms.values().length);
    private static final AtomicLongArray GEMM_FLOPS = new AtomicLongArray(Gemms.values().length);
    private static final AtomicLongArray GEMM_BYTES = new AtomicLongArray(Gemms.values().length);

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
        for (int i = 0; i < GEMM_NANOS.length(); i++) {
            GEMM_NANOS.set(i, 0);
            GEMM_FLOPS.set(i, 0);
            GEMM_BYTES.set(i, 0);
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

    /** Adds a GEMM call since {@code t0}: {@code columns} right-hand columns, its FLOPs and the bytes of its weights. */
    public static void gemm(long t0, int columns, long flops, long weightBytes) {
        if (t0 == 0L) return;
        int k = (columns <= 2 ? Gemms.FEW_COLUMNS : Gemms.MANY_COLUMNS).ordinal();
        GEMM_NANOS.addAndGet(k, System.nanoTime() - t0);
        GEMM_FLOPS.addAndGet(k, flops);
        GEMM_BYTES.addAndGet(k, weightBytes);
    }

    public static long nanos(Gemms g) {
        return GEMM_NANOS.get(g.ordinal());
    }

    public static long flops(Gemms g) {
        return GEMM_FLOPS.get(g.ordinal());
    }

    public static long bytes(Gemms g) {
        return GEMM_BYTES.get(g.ordinal());
    }

    public static long nanos(Stage s) {
        return NANOS.get(s.ordinal());
    }

    public static long flops(Stage s) {
        return FLOPS.get(s.ordinal());
    }
}
