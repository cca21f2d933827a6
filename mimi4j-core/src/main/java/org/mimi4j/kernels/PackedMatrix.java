package org.mimi4j.kernels;

/**
 * A constant left operand of {@link Gemm}: a row-major [M][K] matrix (a weight) packed once into panels of
 * {@link Gemm#MR} rows, k-major inside a panel ([M/MR][K][MR], last panel zero-padded), so the micro-kernel reads
 * the MR values it broadcasts for one k from consecutive floats. A matrix can also be a block of columns of another
 * ({@link #columns}): the same panels, read from a column on.
 */
public final class PackedMatrix {
    final int m, k;
    final float[] data; // the panels at data[off ..], the rest of data other matrices' (a WeightArena's chunk)
    final int off;
    private final int panel;       // floats from one panel to the next: k * MR, or more for a block of columns
    private final RowOffsets rows; // B row offsets j*ld for the last ld

    private PackedMatrix(int m, int k, float[] data, int off, int panel) {
        this.m = m;
        this.k = k;
        this.data = data;
        this.off = off;
        this.panel = panel;
        this.rows = new RowOffsets(ld -> Gemm.rowsOf(k, ld));
    }

    /** Packs a[off + i*k + j] for i < m, j < k. */
    public static PackedMatrix pack(float[] a, int off, int m, int k) {
        return pack(m, k, RowSource.of(a, off, k));
    }

    public static PackedMatrix pack(float[] a, int m, int k) {
        return pack(a, 0, m, k);
    }

    /** Packs the m rows of k floats that {@code rows} reads (each row read once), into an array of its own. */
    public static PackedMatrix pack(int m, int k, RowSource rows) {
        return pack(m, k, rows, null);
    }

    /** As {@link #pack(int, int, RowSource)}, into a slice of {@code arena} (null: an array of its own). */
    public static PackedMatrix pack(int m, int k, RowSource rows, WeightArena arena) {
        int panels = (m + Gemm.MR - 1) / Gemm.MR, size = panels * k * Gemm.MR;
        WeightArena.Slice slice = arena == null ? new WeightArena.Slice(new float[size], 0) : arena.allocate(size);
        float[] d = slice.array();
        int at = slice.offset();
        // load time: panels in parallel; a panel's MR rows read into a block, then written k-major
        int parts = (int) Math.min(panels, Math.max(1, (long) m * k / 65536));
        Parallel.forEach(parts, part -> {
            float[] block = new float[Gemm.MR * k];
            for (int p = panels * part / parts, pe = panels * (part + 1) / parts; p < pe; p++) {
                int base = at + p * k * Gemm.MR;
                int n = Math.min(Gemm.MR, m - p * Gemm.MR);
                rows.read(p * Gemm.MR, n, k, block);
                int r = 0;
                for (; r + 4 <= n; r += 4) { // four rows at a time: 16 contiguous bytes written per k
                    int b0 = r * k, b1 = b0 + k, b2 = b1 + k, b3 = b2 + k;
                    for (int j = 0, o = base + r; j < k; j++, o += Gemm.MR) {
                        d[o] = block[b0 + j];
                        d[o + 1] = block[b1 + j];
                        d[o + 2] = block[b2 + j];
                        d[o + 3] = block[b3 + j];
                    }
                }
                for (; r < n; r++) {
                    for (int j = 0; j < k; j++) d[base + j * Gemm.MR + r] = block[r * k + j];
                }
            }
        });
        return new PackedMatrix(m, k, d, at, k * Gemm.MR);
    }

    /** Columns j0..j0+kk-1 of this matrix, as a matrix of kk columns reading these panels (no copy). */
    public PackedMatrix columns(int j0, int kk) {
        if (j0 < 0 || kk < 1 || j0 + kk > k) throw new IllegalArgumentException("columns " + j0 + ".." + (j0 + kk) + " of " + k);
        return new PackedMatrix(m, kk, data, off + j0 * Gemm.MR, panel);
    }

    /**
     * (x + y) / 2 ({@code sum}) or (x - y) / 2 of two matrices of one shape, computed on their packed panels (the
     * same layout, zero padding included) into {@code arena} (null: an array of its own): the same floats as packing
     * the rows of the halves, without reading the rows again.
     */
    static PackedMatrix halves(PackedMatrix x, PackedMatrix y, boolean sum, WeightArena arena) {
        if (x.m != y.m || x.k != y.k) throw new IllegalArgumentException(x.m + " x " + x.k + " and " + y.m + " x " + y.k);
        int panels = (x.m + Gemm.MR - 1) / Gemm.MR, len = x.k * Gemm.MR;
        WeightArena.Slice slice = arena == null ? new WeightArena.Slice(new float[panels * len], 0) : arena.allocate(panels * len);
        float[] d = slice.array(), a = x.data, b = y.data;
        int at = slice.offset();
        Parallel.forEach(panels, p -> {
            int xo = x.off + p * x.panel, yo = y.off + p * y.panel, o = at + p * len;
            for (int i = 0; i < len; i++) d[o + i] = sum ? (a[xo + i] + b[yo + i]) * 0.5f : (a[xo + i] - b[yo + i]) * 0.5f;
        });
        return new PackedMatrix(x.m, x.k, d, at, len);
    }

    public int rows() {
        return m;
    }

    public int cols() {
        return k;
    }

    /**
     * Offsets j*ld of a right operand's K rows laid out as [K][ld] ({@link Gemm#rowsOf}), kept for the last ld so that
     * a streaming step's calls allocate none. Shared: do not modify.
     */
    public int[] rowsOf(int ld) {
        return rows.get(ld);
    }

    /** Element (i, j) of the original matrix. */
    public float get(int i, int j) {
        return data[rowStart(i) + j * Gemm.MR];
    }

    /** y[yOff + j*yStride] += scale * A[i][j] for j0 <= j < j1: a row of A into a column of a [K][*] y. */
    public void addRow(int i, int j0, int j1, float scale, float[] y, int yOff, int yStride) {
        int a = rowStart(i);
        for (int j = j0; j < j1; j++) y[yOff + j * yStride] += scale * data[a + j * Gemm.MR];
    }

    /** The sum over j of (x[xOff + j*xStride] - A[i][j])^2, in double precision, j ascending. */
    public double squaredDistance(int i, float[] x, int xOff, int xStride) {
        int a = rowStart(i);
        double s = 0;
        for (int j = 0; j < k; j++) {
            double diff = (double) x[xOff + j * xStride] - data[a + j * Gemm.MR];
            s += diff * diff;
        }
        return s;
    }

    /** The sum over j of A[i][j]^2, in double precision, j ascending. */
    public double squaredNorm(int i) {
        int a = rowStart(i);
        double s = 0;
        for (int j = 0; j < k; j++) {
            double v = data[a + j * Gemm.MR];
            s += v * v;
        }
        return s;
    }

    /** Where A[i][0] is in data; A[i][j] is j * MR floats further (the kernels' panels start here too). */
    int rowStart(int i) {
        return off + (i / Gemm.MR) * panel + i % Gemm.MR;
    }

    public long bytes() {
        return 4L * ((m + Gemm.MR - 1) / Gemm.MR) * k * Gemm.MR;
    }
}
