package org.mimi4j.kernels;

/**
 * Per-thread scratch arrays that live within one call (packed operands, attention scores, a layer norm's statistics,
 * the GELU's blocks, the quantizer's distances): reused from call to call instead of allocated, so a streaming step
 * does not feed the garbage collector. Grow-only; the contents are left over from earlier calls, so a caller writes what it reads.
 * A thread uses a slot for one array at a time: a slot is never held across a call that could use it again.
 */
public final class Scratch {
    /**
     * The float slots of the kernels. GEMM_SHARED_B is the calling thread's B packed once for a GEMM call, which the
     * compute threads read during that call. GEMM_CHAIN_MID is a task's intermediate piece in {@link Gemm#chain}.
     * NORM_SCALE is a layer norm's per-step mean and scale. GELU is a block of the GELU's exp arguments.
     */
    static final int GEMM_NARROW_B = 0, GEMM_NARROW_ACC = 1, ATTENTION_SCORES = 2, GEMM_SHARED_B = 3, GEMM_CHAIN_MID = 4,
            NORM_SCALE = 5, GELU = 11;
    /** The residual vector quantizer's float slots (org.mimi4j.nn): its residual, distances, a partial decode. */
    public static final int QUANTIZER_RESIDUAL = 6, QUANTIZER_DOTS = 7, QUANTIZER_PARTIAL = 8;
    /**
     * The convs' float slots (org.mimi4j.nn), for one input copy task: a channel's elu(x) before its polyphase copy,
     * and a channel's rows next to their left context before a TwoTap splits them into its operands.
     */
    public static final int CONV_ELU_ROW = 9, CONV_ROWS = 10;
    /** The int slots: the narrow GEMM's column map. */
    static final int GEMM_NARROW_SEGMENT = 0, GEMM_NARROW_COLUMN = 1;
    /** The double slot: a layer norm's per-step sums. */
    static final int NORM_SUMS = 0;
    /**
     * Arrays up to this many elements (1 MB of floats) are kept by {@link #small}; larger ones (an offline call's
     * quantizer distances: 8 KB per step) are allocated for the call, not held by every thread that ever made one.
     */
    static final int SMALL = 1 << 18;

    private static final ThreadLocal<Slots> SLOTS = ThreadLocal.withInitial(Slots::new);

    private static final class Slots {
        final float[][] floats = new float[12][];
        final int[][] ints = new int[2][];
        final double[][] doubles = new double[1][];
    }

    private Scratch() {
    }

    static float[] floats(int slot, int n) {
        float[][] s = SLOTS.get().floats;
        float[] a = s[slot];
        if (a == null || a.length < n) s[slot] = a = new float[n];
        return a;
    }

    /** At least n floats: the thread's array of the slot while n is at most {@link #SMALL}, else a new one. */
    public static float[] small(int slot, int n) {
        return n <= SMALL ? floats(slot, n) : new float[n];
    }

    static double[] doubles(int slot, int n) {
        double[][] s = SLOTS.get().doubles;
        double[] a = s[slot];
        if (a == null || a.length < n) s[slot] = a = new double[n];
        return a;
    }

    static int[] ints(int slot, int n) {
        int[][] s = SLOTS.get().ints;
        int[] a = s[slot];
        if (a == null || a.length < n) s[slot] = a = new int[n];
        return a;
    }
}
