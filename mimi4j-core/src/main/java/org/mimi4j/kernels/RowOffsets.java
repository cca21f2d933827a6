package org.mimi4j.kernels;

import java.util.function.IntFunction;

/**
 * {@link Gemm} row offsets of one operand layout for the last row length it was called with, kept so that calls of
 * the same length (every streaming step) allocate none. The arrays are immutable once made; concurrent streams of
 * different lengths only make them again.
 */
public final class RowOffsets {
    private record Entry(int ld, int[] off) {
    }

    private final IntFunction<int[]> make;
    private volatile Entry last;

    /** {@code make.apply(ld)}: the offsets for rows ld long. */
    public RowOffsets(IntFunction<int[]> make) {
        this.make = make;
    }

    /** The offsets for rows ld long: the last ones if ld matches, else made and kept. Shared: do not modify. */
    public int[] get(int ld) {
        Entry e = last;
        if (e == null || e.ld != ld) last = e = new Entry(ld, make.apply(ld));
        return e.off;
    }
}
