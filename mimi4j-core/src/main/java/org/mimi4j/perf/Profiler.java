package org.mimi4j.perf;

import java.util.ArrayList;
import java.util.List;
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
    /*
     * GEMM calls by shape, of which the kinds above are sums: an open-addressed table (no allocation per call) keyed
     * by M and K of the product, M of the second product of a chain (0 otherwise; its K is the first's M) and the
     * columns, 16 bits each (larger values count as 65535).
     */
    private static final int SHAPE_SLOTS = 512;
    private static final AtomicLongArray SHAPE_KEY = new AtomicLongArray(SHAPE_SLOTS), SHAPE_NANOS = new AtomicLongArray(SHAPE_SLOTS),
            SHAPE_FLOPS = new AtomicLongArray(SHAPE_SLOTS), SHAPE_CALLS = new AtomicLongArray(SHAPE_SLOTS);

    /**
     * The GEMM calls of one shape since the last {@link #reset}: an M x K product over N columns (m2 = 0), or a chain of
     * M x K then m2 x M ({@code Gemm.chain}: a residual block's two convs), with their total time, FLOPs and calls.
     */
    public record Shape(int m, int k, int m2, int columns, long nanos, long flops, long calls) {
        /** "M x K" or "M x K, then m2 x M". */
        public String product() {
            return m + " x " + k + (m2 == 0 ? "" : ", then " + m2 + " x " + m);
        }

        /** Bytes of float32 weights one call reads. */
        public long weightBytes() {
            return 4L * ((long) m * k + (long) m2 * m);
        }

        public Gemms kind() {
            return columns <= 2 ? Gemms.FEW_COLUMNS : Gemms.MANY_COLUMNS;
        }
    }

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
        for (int i = 0; i < SHAPE_SLOTS; i++) {
            SHAPE_KEY.set(i, 0);
            SHAPE_NANOS.set(i, 0);
            SHAPE_FLOPS.set(i, 0);
            SHAPE_CALLS.set(i, 0);
        }
    }

    private static final ThreadLocal<int[]> SHARE = ThreadLocal.withInitial(() -> new int[]{1});

    /**
     * Counts this thread's time from now on as 1/k of it (1: all of it): for tasks that run concurrently, one per
     * thread, each with single-threaded calls, so that the stages and GEMM shapes add up to wall time, as calls that
     * split their work over the threads do.
     */
    public static void share(int k) {
        SHARE.get()[0] = Math.max(1, k);
    }

    private static long elapsed(long t0) {
        long nanos = System.nanoTime() - t0;
        int k = SHARE.get()[0];
        return k == 1 ? nanos : nanos / k;
    }

    /** A start time for {@link #end}, or 0 when profiling is off. */
    public static long begin() {
        return enabled ? System.nanoTime() : 0L;
    }

    /** Adds the time since {@code t0} (from {@link #begin}) and {@code flops} to a stage. */
    public static void end(Stage s, long t0, long flops) {
        if (t0 == 0L) return;
        NANOS.addAndGet(s.ordinal(), elapsed(t0));
        FLOPS.addAndGet(s.ordinal(), flops);
    }

    /**
     * Adds a GEMM call since {@code t0}: an m x k product (then m2 x m for a chain, else m2 = 0) over {@code columns}
     * right-hand columns, and its FLOPs.
     */
    public static void gemm(long t0, int m, int k, int m2, int columns, long flops) {
        if (t0 == 0L) return;
        long nanos = elapsed(t0);
        long key = bits16(m) | bits16(k) << 16 | bits16(m2) << 32 | bits16(columns) << 48;
        for (int probe = 0, i = (int) ((key * 0x9E3779B97F4A7C15L) >>> 32) & (SHAPE_SLOTS - 1); probe < SHAPE_SLOTS; probe++, i = (i + 1) & (SHAPE_SLOTS - 1)) {
            long at = SHAPE_KEY.get(i);
            if (at == 0 && SHAPE_KEY.compareAndSet(i, 0, key)) at = key;
            if (at == 0) at = SHAPE_KEY.get(i); // another thread took the slot meanwhile
            if (at != key) continue;
            SHAPE_NANOS.addAndGet(i, nanos);
            SHAPE_FLOPS.addAndGet(i, flops);
            SHAPE_CALLS.incrementAndGet(i);
            return;
        }
    }

    private static long bits16(int v) {
        return Math.min(v, 0xFFFF);
    }

    /** The shapes of the GEMM calls counted since the last {@link #reset}, the longest first. */
    public static List<Shape> shapes() {
        List<Shape> l = new ArrayList<>();
        for (int i = 0; i < SHAPE_SLOTS; i++) {
            long key = SHAPE_KEY.get(i);
            if (key == 0) continue;
            l.add(new Shape((int) (key & 0xFFFF), (int) (key >>> 16 & 0xFFFF), (int) (key >>> 32 & 0xFFFF), (int) (key >>> 48),
                    SHAPE_NANOS.get(i), SHAPE_FLOPS.get(i), SHAPE_CALLS.get(i)));
        }
        l.sort((a, b) -> Long.compare(b.nanos(), a.nanos()));
        return l;
    }

    public static long nanos(Gemms g) {
        return shapes().stream().filter(s -> s.kind() == g).mapToLong(Shape::nanos).sum();
    }

    public static long flops(Gemms g) {
        return shapes().stream().filter(s -> s.kind() == g).mapToLong(Shape::flops).sum();
    }

    /** Bytes of weights the calls of a kind read (each call its whole weights once). */
    public static long bytes(Gemms g) {
        return shapes().stream().filter(s -> s.kind() == g).mapToLong(s -> s.weightBytes() * s.calls()).sum();
    }

    public static long nanos(Stage s) {
        return NANOS.get(s.ordinal());
    }

    public static long flops(Stage s) {
        return FLOPS.get(s.ordinal());
    }
}
