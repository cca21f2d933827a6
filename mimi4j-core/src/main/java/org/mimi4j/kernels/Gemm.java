package org.mimi4j.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

import java.util.ArrayList;
import java.util.List;

/**
 * C = bias + A·B (or C += A·B), float32, with A a constant {@link PackedMatrix} [M][K] and one or more right operands
 * ("segments", e.g. the items of a batch) that share A, so A is read once for all of them.
 *
 * <p>B is given by row offsets: row j of segment s is {@code s.b[s.bOff + rowOff[j] ...]}, N contiguous floats.
 * A convolution passes the shifted input rows (rowOff = ci*ld + k*dilation), so no im2col buffer is built;
 * a linear layer passes rowOff = j*ld. C rows are {@code s.c[s.cOff + i*s.ldc ...]}.
 *
 * <p>Two micro-kernels read the same packed panels of {@link #MR} rows: for wide segments, 8x32 tiles with vectors
 * along N (B rows streamed from cache, A broadcast); for narrow segments (a few time steps, as in streaming), one
 * vector along M per column, the whole K reduced in registers, columns of all narrow segments grouped together.
 */
public final class Gemm {
    public static final int MR = 16;
    static final VectorSpecies<Float> S = FloatVector.SPECIES_512;
    static final int L = S.length();
    private static final int KC = 256;   // K block: an A half-panel (8 x KC) stays in L1
    private static final int NC = 512;   // N block: B block (KC x NC) stays in L2
    private static final int NARROW = 32; // segments narrower than this use the narrow kernel
    private static final int NG = 8;      // columns per narrow group

    private Gemm() {
    }

    /** A right operand and where its result goes. */
    public record Segment(float[] b, int bOff, float[] c, int cOff, int ldc, int n) {
    }

    /** Row offsets j*ld for j < k: B given as a row-major [K][ld] matrix. */
    public static int[] rowsOf(int k, int ld) {
        int[] r = new int[k];
        for (int j = 0; j < k; j++) r[j] = j * ld;
        return r;
    }

    public static void gemm(PackedMatrix a, float[] bias, int[] rowOff, Segment seg, boolean accumulate) {
        gemm(a, bias, rowOff, new Segment[]{seg}, accumulate);
    }

    public static void gemm(PackedMatrix a, float[] bias, int[] rowOff, Segment[] segs, boolean accumulate) {
        if (rowOff.length != a.k) throw new IllegalArgumentException("rowOff has " + rowOff.length + " rows, A has " + a.k + " columns");
        List<Segment> narrow = new ArrayList<>();
        List<int[]> pieces = new ArrayList<>(); // {segment index, n0, n1}
        for (int s = 0; s < segs.length; s++) {
            Segment g = segs[s];
            if (g.n <= 0) continue;
            if (g.n < NARROW) {
                narrow.add(g);
                continue;
            }
            for (int n0 = 0; n0 < g.n; n0 += NC) pieces.add(new int[]{s, n0, Math.min(g.n, n0 + NC)});
        }
        int panels = (a.m + MR - 1) / MR;
        int threads = Parallel.threads();
        if (!pieces.isEmpty()) {
            // tasks: N blocks, and when there are few of them, also halves of the panels
            int split = pieces.size() >= 2 * threads ? 1 : Math.min(panels, (2 * threads + pieces.size() - 1) / pieces.size());
            int tasks = pieces.size() * split;
            Parallel.forEach(tasks, t -> {
                int[] pc = pieces.get(t / split);
                int part = t % split;
                int p0 = panels * part / split, p1 = panels * (part + 1) / split;
                wide(a, bias, rowOff, segs[pc[0]], pc[1], pc[2], p0, p1, accumulate);
            });
        }
        if (!narrow.isEmpty()) {
            Segment[] ns = narrow.toArray(new Segment[0]);
            List<int[]> cl = new ArrayList<>(); // {segment, column}
            for (int s = 0; s < ns.length; s++) for (int n = 0; n < ns[s].n; n++) cl.add(new int[]{s, n});
            int[][] fc = cl.toArray(new int[0][]);
            int chunks = Math.min(panels, Math.max(1, threads * 4));
            Parallel.forEach(chunks, t -> {
                int p0 = panels * t / chunks, p1 = panels * (t + 1) / chunks;
                for (int p = p0; p < p1; p++) narrowPanel(a, bias, rowOff, ns, fc, p, accumulate);
            });
        }
    }

    // ---------------------------------------------------------------- wide kernel: vectors along N

    private static void wide(PackedMatrix a, float[] bias, int[] rowOff, Segment g, int n0, int n1, int p0, int p1, boolean accumulate) {
        int k = a.k;
        for (int kb = 0; kb < k; kb += KC) {
            int ke = Math.min(k, kb + KC);
            boolean init = kb == 0 && !accumulate;
            for (int p = p0; p < p1; p++) {
                for (int half = 0; half < 2; half++) {
                    int row0 = p * MR + half * 8;
                    if (row0 >= a.m) break;
                    int rows = Math.min(8, a.m - row0);
                    int aBase = p * k * MR + half * 8;
                    int n = n0;
                    for (; n + 2 * L <= n1; n += 2 * L) tile8x2(a.data, aBase, kb, ke, g, rowOff, n, row0, rows, bias, init);
                    for (; n < n1; n += L) tile8x1(a.data, aBase, kb, ke, g, rowOff, n, Math.min(L, n1 - n), row0, rows, bias, init);
                }
            }
        }
    }

    private static FloatVector start(Segment g, int row, int n, float[] bias, boolean init, int rows, int r) {
        if (r >= rows) return FloatVector.zero(S);
        if (init) return bias == null ? FloatVector.zero(S) : FloatVector.broadcast(S, bias[row]);
        return FloatVector.fromArray(S, g.c, g.cOff + row * g.ldc + n);
    }

    private static void tile8x2(float[] ad, int aBase, int kb, int ke, Segment g, int[] rowOff, int n, int row0, int rows,
                                float[] bias, boolean init) {
        FloatVector c00 = start(g, row0, n, bias, init, rows, 0), c01 = start(g, row0, n + L, bias, init, rows, 0);
        FloatVector c10 = start(g, row0 + 1, n, bias, init, rows, 1), c11 = start(g, row0 + 1, n + L, bias, init, rows, 1);
        FloatVector c20 = start(g, row0 + 2, n, bias, init, rows, 2), c21 = start(g, row0 + 2, n + L, bias, init, rows, 2);
        FloatVector c30 = start(g, row0 + 3, n, bias, init, rows, 3), c31 = start(g, row0 + 3, n + L, bias, init, rows, 3);
        FloatVector c40 = start(g, row0 + 4, n, bias, init, rows, 4), c41 = start(g, row0 + 4, n + L, bias, init, rows, 4);
        FloatVector c50 = start(g, row0 + 5, n, bias, init, rows, 5), c51 = start(g, row0 + 5, n + L, bias, init, rows, 5);
        FloatVector c60 = start(g, row0 + 6, n, bias, init, rows, 6), c61 = start(g, row0 + 6, n + L, bias, init, rows, 6);
        FloatVector c70 = start(g, row0 + 7, n, bias, init, rows, 7), c71 = start(g, row0 + 7, n + L, bias, init, rows, 7);
        float[] b = g.b;
        int bOff = g.bOff + n;
        for (int kk = kb; kk < ke; kk++) {
            int bi = bOff + rowOff[kk];
            FloatVector b0 = FloatVector.fromArray(S, b, bi);
            FloatVector b1 = FloatVector.fromArray(S, b, bi + L);
            int ai = aBase + kk * MR;
            FloatVector x;
            x = FloatVector.broadcast(S, ad[ai]);
            c00 = x.fma(b0, c00); c01 = x.fma(b1, c01);
            x = FloatVector.broadcast(S, ad[ai + 1]);
            c10 = x.fma(b0, c10); c11 = x.fma(b1, c11);
            x = FloatVector.broadcast(S, ad[ai + 2]);
            c20 = x.fma(b0, c20); c21 = x.fma(b1, c21);
            x = FloatVector.broadcast(S, ad[ai + 3]);
            c30 = x.fma(b0, c30); c31 = x.fma(b1, c31);
            x = FloatVector.broadcast(S, ad[ai + 4]);
            c40 = x.fma(b0, c40); c41 = x.fma(b1, c41);
            x = FloatVector.broadcast(S, ad[ai + 5]);
            c50 = x.fma(b0, c50); c51 = x.fma(b1, c51);
            x = FloatVector.broadcast(S, ad[ai + 6]);
            c60 = x.fma(b0, c60); c61 = x.fma(b1, c61);
            x = FloatVector.broadcast(S, ad[ai + 7]);
            c70 = x.fma(b0, c70); c71 = x.fma(b1, c71);
        }
        float[] c = g.c;
        int ci = g.cOff + row0 * g.ldc + n, ld = g.ldc;
        c00.intoArray(c, ci); c01.intoArray(c, ci + L);
        if (rows > 1) { c10.intoArray(c, ci + ld); c11.intoArray(c, ci + ld + L); }
        if (rows > 2) { c20.intoArray(c, ci + 2 * ld); c21.intoArray(c, ci + 2 * ld + L); }
        if (rows > 3) { c30.intoArray(c, ci + 3 * ld); c31.intoArray(c, ci + 3 * ld + L); }
        if (rows > 4) { c40.intoArray(c, ci + 4 * ld); c41.intoArray(c, ci + 4 * ld + L); }
        if (rows > 5) { c50.intoArray(c, ci + 5 * ld); c51.intoArray(c, ci + 5 * ld + L); }
        if (rows > 6) { c60.intoArray(c, ci + 6 * ld); c61.intoArray(c, ci + 6 * ld + L); }
        if (rows > 7) { c70.intoArray(c, ci + 7 * ld); c71.intoArray(c, ci + 7 * ld + L); }
    }

    /** Up to 8 rows x one (possibly partial) vector of columns. */
    private static void tile8x1(float[] ad, int aBase, int kb, int ke, Segment g, int[] rowOff, int n, int w, int row0, int rows,
                                float[] bias, boolean init) {
        VectorMask<Float> m = S.indexInRange(0, w);
        FloatVector[] acc = new FloatVector[8];
        for (int r = 0; r < 8; r++) {
            if (r >= rows) acc[r] = FloatVector.zero(S);
            else if (init) acc[r] = bias == null ? FloatVector.zero(S) : FloatVector.broadcast(S, bias[row0 + r]);
            else acc[r] = FloatVector.fromArray(S, g.c, g.cOff + (row0 + r) * g.ldc + n, m);
        }
        FloatVector c0 = acc[0], c1 = acc[1], c2 = acc[2], c3 = acc[3], c4 = acc[4], c5 = acc[5], c6 = acc[6], c7 = acc[7];
        float[] b = g.b;
        int bOff = g.bOff + n;
        for (int kk = kb; kk < ke; kk++) {
            FloatVector b0 = FloatVector.fromArray(S, b, bOff + rowOff[kk], m);
            int ai = aBase + kk * MR;
            c0 = FloatVector.broadcast(S, ad[ai]).fma(b0, c0);
            c1 = FloatVector.broadcast(S, ad[ai + 1]).fma(b0, c1);
            c2 = FloatVector.broadcast(S, ad[ai + 2]).fma(b0, c2);
            c3 = FloatVector.broadcast(S, ad[ai + 3]).fma(b0, c3);
            c4 = FloatVector.broadcast(S, ad[ai + 4]).fma(b0, c4);
            c5 = FloatVector.broadcast(S, ad[ai + 5]).fma(b0, c5);
            c6 = FloatVector.broadcast(S, ad[ai + 6]).fma(b0, c6);
            c7 = FloatVector.broadcast(S, ad[ai + 7]).fma(b0, c7);
        }
        acc[0] = c0; acc[1] = c1; acc[2] = c2; acc[3] = c3; acc[4] = c4; acc[5] = c5; acc[6] = c6; acc[7] = c7;
        for (int r = 0; r < rows; r++) acc[r].intoArray(g.c, g.cOff + (row0 + r) * g.ldc + n, m);
    }

    // ---------------------------------------------------------------- narrow kernel: vectors along M

    private static void narrowPanel(PackedMatrix a, float[] bias, int[] rowOff, Segment[] ns, int[][] cols, int p, boolean accumulate) {
        int k = a.k;
        float[] ad = a.data;
        int aBase = p * k * MR;
        int row0 = p * MR, rows = Math.min(MR, a.m - row0);
        float[] tmp = new float[MR];
        FloatVector[] init = new FloatVector[NG];
        float[][] bs = new float[NG][];
        int[] bo = new int[NG];
        for (int c0 = 0; c0 < cols.length; c0 += NG) {
            int nc = Math.min(NG, cols.length - c0);
            for (int j = 0; j < NG; j++) {
                int[] col = cols[c0 + Math.min(j, nc - 1)]; // unused lanes repeat the last column
                Segment g = ns[col[0]];
                bs[j] = g.b;
                bo[j] = g.bOff + col[1];
                // same start as the wide kernel (bias, or C when accumulating), so both round identically
                java.util.Arrays.fill(tmp, 0f);
                int ci = g.cOff + row0 * g.ldc + col[1];
                for (int r = 0; r < rows; r++) tmp[r] = accumulate ? g.c[ci + r * g.ldc] : bias == null ? 0f : bias[row0 + r];
                init[j] = FloatVector.fromArray(S, tmp, 0);
            }
            float[] b0 = bs[0], b1 = bs[1], b2 = bs[2], b3 = bs[3], b4 = bs[4], b5 = bs[5], b6 = bs[6], b7 = bs[7];
            int o0 = bo[0], o1 = bo[1], o2 = bo[2], o3 = bo[3], o4 = bo[4], o5 = bo[5], o6 = bo[6], o7 = bo[7];
            FloatVector s0 = init[0], s1 = init[1], s2 = init[2], s3 = init[3], s4 = init[4], s5 = init[5], s6 = init[6], s7 = init[7];
            for (int kk = 0; kk < k; kk++) {
                FloatVector av = FloatVector.fromArray(S, ad, aBase + kk * MR);
                int r = rowOff[kk];
                s0 = av.fma(FloatVector.broadcast(S, b0[o0 + r]), s0);
                s1 = av.fma(FloatVector.broadcast(S, b1[o1 + r]), s1);
                s2 = av.fma(FloatVector.broadcast(S, b2[o2 + r]), s2);
                s3 = av.fma(FloatVector.broadcast(S, b3[o3 + r]), s3);
                s4 = av.fma(FloatVector.broadcast(S, b4[o4 + r]), s4);
                s5 = av.fma(FloatVector.broadcast(S, b5[o5 + r]), s5);
                s6 = av.fma(FloatVector.broadcast(S, b6[o6 + r]), s6);
                s7 = av.fma(FloatVector.broadcast(S, b7[o7 + r]), s7);
            }
            FloatVector[] sums = {s0, s1, s2, s3, s4, s5, s6, s7};
            for (int j = 0; j < nc; j++) {
                int[] col = cols[c0 + j];
                Segment g = ns[col[0]];
                sums[j].intoArray(tmp, 0);
                int ci = g.cOff + row0 * g.ldc + col[1];
                for (int r = 0; r < rows; r++) g.c[ci + r * g.ldc] = tmp[r];
            }
        }
    }
}
