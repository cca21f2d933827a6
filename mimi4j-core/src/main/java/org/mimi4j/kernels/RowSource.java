package org.mimi4j.kernels;

/**
 * Rows of a row-major [M][K] float32 matrix, read by index (one, or a packed panel's at a time): how
 * {@link PackedMatrix#pack(int, int, RowSource)} takes weights straight from a checkpoint's mapping (or a reordering
 * of them) without a float32 copy of the whole tensor first. Called from the compute threads, so implementations must
 * be safe to call concurrently.
 */
@FunctionalInterface
public interface RowSource {
    /** Row i (K floats) into dst[off .. off + K). */
    void read(int i, float[] dst, int off);

    /** Rows i0 .. i0 + n (k floats each) into dst[0 .. n * k): a packed panel's, for sources that read rows cheaper together. */
    default void read(int i0, int n, int k, float[] dst) {
        for (int r = 0; r < n; r++) read(i0 + r, dst, r * k);
    }

    /** The rows of a[off + i*k ..] for a row length k. */
    static RowSource of(float[] a, int off, int k) {
        return (i, dst, o) -> System.arraycopy(a, off + i * k, dst, o, k);
    }
}
