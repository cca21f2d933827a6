package org.mimi4j.kernels;

/**
 * Per-thread scratch arrays that live within one kernel call (packed operands, attention scores): reused
 * from call to call instead of allocated, so a streaming step does not feed the garbage collector. Grow-only;
 * the contents are left over from earlier calls, so a caller writes what it reads.
 */
final class Scratch {
    /**
     * What each slot holds; a thread uses a slot for one array at a time. GEMM_SHARED_B is the calling thread's B
     * packed once for a GEMM call, which the compute threads read during that call. GEMM_CHAIN_MID is a task's
     * intermediate piece in {@link Gemm#chain}.
     */
    static final int GEMM_NARROW_B = 0, GEMM_NARROW_ACC = 1, ATTENTION_SCORES = 2, GEMM_SHARED_B = 3, GEMM_CHAIN_MID = 4;
    private static final ThreadLocal<float[][]> SLOTS = ThreadLocal.withInitial(() -> new float[5][]);

    private Scratch() {
    }

    static float[] floats(int slot, int n) {
        float[][] s = SLOTS.get();
        float[] a = s[slot];
        if (a == null || a.length < n) s[slot] = a = new float[n];
        return a;
    }
}
