package org.mimi4j.kernels;

import java.util.function.IntFunction;

/**
 * A layer's {@link Gemm} row offsets for the last row length it was called with, kept so that calls of the same
 * length (every streaming step) allocate none. The arrays are immutable once made; concurrent streams of different
 * lengths only make them again.
 */
public final class RowOffsets {
    private record Entry(int ld, int[] off) {
    }

    private volatile Entry last;

    /** The offsets for rows ld long: the last ones if ld matches, else {@code make.apply(ld)}, kept. */
    public int[] get(int ld, IntFunction<int[]> make) {
        Entry e = last;
        if (e == null || e.ld != ld) last = e = new Entry(ld, make.apply(ld));
        return e.off;
    }
}
