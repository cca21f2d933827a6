package org.mimi4j.kernels;

/**
 * A constant left operand of {@link Gemm}: a row-major [M][K] matrix (a weight) packed once into panels of
 * {@link Gemm#MR} rows, k-major inside a panel ([M/MR][K][MR], last panel zero-padded), so the micro-kernel reads
 * the MR values it broadcasts for one k from consecutive floats.
 */
public final class PackedMatrix {
    final int m, k;
    final float[] data;

    private PackedMatrix(int m, int k, float[] data) {
        this.m = m;
        this.k = k;
        this.data = data;
    }

    /** Packs a[off + i*k + j] for i < m, j < k. */
    public static PackedMatrix pack(float[] a, int off, int m, int k) {
        int panels = (m + Gemm.MR - 1) / Gemm.MR;
        float[] d = new float[panels * k * Gemm.MR];
        for (int p = 0; p < panels; p++) {
            int base = p * k * Gemm.MR;
            for (int r = 0; r < Gemm.MR; r++) {
                int row = p * Gemm.MR + r;
                if (row >= m) break;
                int src = off + row * k;
                for (int j = 0; j < k; j++) d[base + j * Gemm.MR + r] = a[src + j];
            }
        }
        return new PackedMatrix(m, k, d);
    }

    public static PackedMatrix pack(float[] a, int m, int k) {
        return pack(a, 0, m, k);
    }

    public int rows() {
        return m;
    }

    public int cols() {
        return k;
    }

    /** Element (i, j) of the original matrix. */
    public float get(int i, int j) {
        return data[(i / Gemm.MR) * k * Gemm.MR + j * Gemm.MR + i % Gemm.MR];
    }

    public long bytes() {
        return 4L * data.length;
    }
}
