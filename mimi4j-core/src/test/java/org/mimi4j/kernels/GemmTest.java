package org.mimi4j.kernels;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Every GEMM path (wide, narrow, thin (m < 8), both at once; with bias or accumulating; edge sizes) against the plain
 * FMA chain c = fma(a[i][k], b[k][j], c) over k ascending from the bias (or C): bit-identical. A sits in a weight
 * arena's slice, as a loaded model's weights do.
 */
class GemmTest {
    /** Row offsets j*ld; a matrix keeps those of the last ld, so repeated calls (streaming steps) share one array. */
    @org.junit.jupiter.api.Test
    void rowsOfGivesTheRowStarts() {
        for (int k : new int[]{1, 512, 2048}) {
            PackedMatrix a = PackedMatrix.pack(new float[3 * k], 3, k);
            for (int ld : new int[]{1, 2, 64, 65, 1920}) {
                int[] r = a.rowsOf(ld), fresh = Gemm.rowsOf(k, ld);
                assertEquals(k, r.length);
                for (int j = 0; j < k; j++) assertEquals(j * ld, r[j], "k " + k + ", ld " + ld + ", row " + j);
                assertArrayEquals(fresh, r);
                org.junit.jupiter.api.Assertions.assertSame(r, a.rowsOf(ld), "shared for ld " + ld);
            }
        }
    }

    @ParameterizedTest
    @CsvSource({
            "37, 600, 1, 70, false", "37, 1100, 1, 70, true",     // wide, partial tiles, K > KC (512)
            "64, 384, 1, 480, false", "1100, 1000, 1, 70, true",  // few pieces: narrower ones; a large A: rows split
            "530, 600, 1, 450, true", "600, 700, 2, 200, false",  // A past L2, few columns: a piece per segment, rows split
            "100, 70, 3, 5, false", "100, 70, 3, 5, true",        // narrow (15 columns)
            "100, 300, 1, 2, false", "130, 300, 1, 1, true",      // narrow, one stream's step
            "100, 70, 5, 2, false", "100, 70, 9, 1, true",        // narrow, a last group of 2 and of 1 columns
            "70, 600, 20, 2, false", "70, 600, 20, 2, true",      // narrow, 40 columns of 20 segments
            "20, 17000, 5, 2, false", "40, 17000, 3, 5, true",    // narrow, several groups, a chunk of A past 1 MB: K blocks
            "9, 33, 17, 31, false", "300, 40, 5, 10, false",      // narrow and wide segments in one call
            "1, 192, 1, 300, false", "3, 40, 2, 70, true"})       // fewer rows than a tile: the thin kernel
    void allPathsAreTheFmaChain(int m, int k, int segments, int n, boolean accumulate) {
        check(m, k, segments, n, accumulate, Gemm.Epilogue.Kind.NONE);
    }

    /**
     * A product called by a compute thread while the other is busy (as an offline encode's transformer beside the next
     * chunk's SEANet) has one thread: a large A on few columns then packs all of B once and runs all of its rows in
     * one task, so that the weights are read once per call.
     */
    @ParameterizedTest
    @CsvSource({"530, 600, 1, 450, false", "600, 1100, 1, 384, true", "1030, 300, 1, 200, false"})
    void fromABusyComputeThread(int m, int k, int segments, int n, boolean accumulate) {
        Parallel.forEach(2, t -> check(m, k, segments, n, accumulate, Gemm.Epilogue.Kind.NONE));
    }

    /**
     * Epilogues on every path: elu of the finished sum, the residual plus it, or the sums interleaved by phase
     * (rows ch*3 + p to Y[ch][u*3 + p]), element by element.
     */
    @ParameterizedTest
    @CsvSource({
            "37, 600, 1, 70, ELU", "37, 600, 1, 70, ADD", "36, 600, 1, 70, INTERLEAVE",  // wide: per finished block
            "530, 600, 1, 450, ELU", "600, 700, 2, 200, INTERLEAVE",                    // A past L2, few columns
            "100, 70, 3, 5, ELU", "70, 600, 20, 2, ADD", "99, 70, 3, 5, INTERLEAVE",     // narrow
            "100, 300, 1, 2, ELU", "130, 300, 1, 1, ADD", "99, 300, 1, 2, INTERLEAVE",   // narrow, one stream's step
            "300, 40, 5, 10, ELU", "300, 40, 5, 10, ADD", "300, 40, 5, 10, INTERLEAVE",  // narrow and wide in one call
            "99, 70, 5, 2, INTERLEAVE",                                                   // a last narrow group of 2 columns
            "20, 17000, 8, 2, ELU", "20, 17000, 8, 2, ADD",                               // narrow, K blocks, then the epilogue
            "3, 40, 2, 70, ELU", "1, 192, 1, 300, ADD", "6, 40, 2, 70, INTERLEAVE"})      // thin
    void epiloguesApplyToTheFinishedSums(int m, int k, int segments, int n, Gemm.Epilogue.Kind after) {
        check(m, k, segments, n, false, after);
    }

    /**
     * A chain of two products (a residual block's conv1, its ELU, then conv2 plus the residual) gives bit for bit what
     * the two calls give: per piece of columns through a per-thread buffer (enough wide pieces: the first five cases,
     * K past a K block in the third, rows not a whole tile in the second, pieces narrower than 256 columns in the
     * fifth, its last one partial; and the last, too small to split), or as the two calls (few pieces of a large
     * product, narrow).
     */
    @ParameterizedTest
    @CsvSource({
            "32, 192, 64, 1, 7680, ELU", "37, 100, 45, 2, 1100, ELU", "20, 600, 30, 1, 2100, NONE", "64, 96, 128, 9, 256, ELU",
            "64, 384, 128, 1, 480, ELU", "32, 192, 64, 1, 300, ELU", "32, 64, 64, 3, 2, ELU", "16, 40, 24, 2, 40, NONE"})
    void aChainIsItsTwoProducts(int m1, int k1, int m2, int segments, int n, Gemm.Epilogue.Kind mid) {
        SplittableRandom r = new SplittableRandom(m1 * 31L + n);
        PackedMatrix a1 = PackedMatrix.pack(random(r, m1 * k1), m1, k1), a2 = PackedMatrix.pack(random(r, m2 * m1), m2, m1);
        float[] bias1 = random(r, m1), bias2 = random(r, m2);
        int ld = n + 2; // B rows of the first product: k1 rows ld apart (as a conv's shifted rows, offset 1)
        int[] rows = Gemm.rowsOf(k1, ld);
        Gemm.Epilogue epi = mid == Gemm.Epilogue.Kind.ELU ? Gemm.Epilogue.ELU : Gemm.Epilogue.NONE;
        Gemm.Segment[] first = new Gemm.Segment[segments], second = new Gemm.Segment[segments];
        Gemm.Segment[] one = new Gemm.Segment[segments], two = new Gemm.Segment[segments];
        for (int s = 0; s < segments; s++) {
            float[] b = random(r, 1 + k1 * ld), residual = random(r, m2 * n);
            first[s] = new Gemm.Segment(b, 1, new float[m1 * n], 0, n, n, epi);
            second[s] = new Gemm.Segment(null, 0, new float[m2 * n], 0, n, n, Gemm.Epilogue.add(residual));
            one[s] = new Gemm.Segment(b, 1, new float[m1 * n], 0, n, n, epi);
            two[s] = new Gemm.Segment(one[s].c(), 0, new float[m2 * n], 0, n, n, Gemm.Epilogue.add(residual));
        }
        Gemm.chain(a1, bias1, rows, first, a2, bias2, second);
        Gemm.gemm(a1, bias1, rows, one, false);
        Gemm.gemm(a2, bias2, Gemm.rowsOf(m1, n), two, false);
        for (int s = 0; s < segments; s++) assertArrayEquals(two[s].c(), second[s].c(), "segment " + s);
    }

    /**
     * A B written straight into the packed slivers ({@link Gemm#packedIndex}; NaN in the padding past the last column)
     * gives what the same B in rows gives: one piece or several, rows split or not, K past one block, from a busy
     * compute thread (one task), with an epilogue.
     */
    @ParameterizedTest
    @CsvSource({"37, 600, 70, NONE, false", "128, 256, 160, ELU, false", "256, 640, 32, NONE, false", "512, 1536, 1000, ADD, false",
            "64, 1100, 300, NONE, true", "40, 70, 33, ELU, true"})
    void aPackedBIsTheSameProduct(int m, int k, int n, Gemm.Epilogue.Kind after, boolean busy) {
        SplittableRandom r = new SplittableRandom(m * 13L + n);
        PackedMatrix a = packBetweenNaNs(random(r, m * k), m, k);
        float[] bias = random(r, m), b = random(r, k * n), residual = random(r, m * n);
        float[] packed = new float[3 + Gemm.packedFloats(k, n)];
        java.util.Arrays.fill(packed, Float.NaN);
        int slivers = (n + 2 * Simd.S.length() - 1) / (2 * Simd.S.length());
        for (int j = 0; j < k; j++) for (int col = 0; col < n; col++) packed[3 + Gemm.packedIndex(k, slivers, j, col)] = b[j * n + col];
        float[] want = new float[m * n], got = new float[m * n];
        Gemm.Epilogue e1 = after == Gemm.Epilogue.Kind.ADD ? Gemm.Epilogue.add(residual) : after == Gemm.Epilogue.Kind.ELU ? Gemm.Epilogue.ELU : Gemm.Epilogue.NONE;
        Gemm.gemm(a, bias, Gemm.rowsOf(k, n), new Gemm.Segment(b, 0, want, 0, n, n, e1), false);
        Runnable run = () -> Gemm.gemmPacked(a, bias, packed, 3, new Gemm.Segment(null, 0, got, 0, n, n, e1));
        if (busy) Parallel.forEach(2, t -> {
            if (t == 0) run.run();
        });
        else run.run();
        assertArrayEquals(want, got);
    }

    /**
     * A block of columns of a packed matrix ({@link PackedMatrix#columns}) multiplies as those columns packed alone,
     * bit for bit, on the narrow and the wide kernels (the blocks of a matrix between NaN, so that a panel read past
     * the block's own columns shows), and the halves made from two blocks are those of the columns packed alone.
     */
    @ParameterizedTest
    @CsvSource({"37, 300, 0, 120, 2", "40, 600, 200, 400, 70", "64, 1024, 512, 512, 300", "17, 90, 89, 1, 33"})
    void aBlockOfColumnsIsThoseColumns(int m, int k, int j0, int kk, int n) {
        SplittableRandom r = new SplittableRandom(m * 11L + j0);
        float[] w = random(r, m * k), part = new float[m * kk], other = new float[m * kk], b = random(r, kk * n), bias = random(r, m);
        for (int i = 0; i < m; i++) System.arraycopy(w, i * k + j0, part, i * kk, kk);
        for (int i = 0; i < m; i++) for (int j = 0; j < kk; j++) other[i * kk + j] = w[i * k + (j0 + j + 1) % k];
        PackedMatrix block = packBetweenNaNs(w, m, k).columns(j0, kk), alone = PackedMatrix.pack(part, m, kk);
        float[] want = new float[m * n], got = new float[m * n];
        Gemm.gemm(alone, bias, Gemm.rowsOf(kk, n), new Gemm.Segment(b, 0, want, 0, n, n), false);
        Gemm.gemm(block, bias, Gemm.rowsOf(kk, n), new Gemm.Segment(b, 0, got, 0, n, n), false);
        assertArrayEquals(want, got);
        PackedMatrix second = PackedMatrix.pack(other, m, kk);
        for (boolean sum : new boolean[]{true, false}) {
            PackedMatrix h = PackedMatrix.halves(block, second, sum, null);
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < kk; j++) {
                    float a = part[i * kk + j], c = other[i * kk + j];
                    assertEquals(sum ? (a + c) * 0.5f : (a - c) * 0.5f, h.get(i, j), (sum ? "sum" : "difference") + " row " + i + " column " + j);
                }
            }
        }
    }

    /**
     * Streams' steps as the transformer passes them: segments of 2 columns whose B and C rows are 2 long (C's tile
     * stores are then zipped vectors), with odd segment counts so that groups hold pairs and lone columns; with a bias,
     * or without one as the transformer's projections (sums from zero).
     */
    @ParameterizedTest
    @CsvSource({"64, 300, 1, true", "37, 300, 1, true", "64, 300, 3, true", "50, 200, 16, true", "64, 100, 17, true",
            "48, 300, 1, false", "37, 300, 1, false", "80, 200, 16, false", "50, 100, 17, false"})
    void twoColumnRowsOfStreams(int m, int k, int segments, boolean withBias) {
        SplittableRandom r = new SplittableRandom(m * 7L + segments);
        float[] w = random(r, m * k), bias = withBias ? random(r, m) : null;
        PackedMatrix a = PackedMatrix.pack(w, m, k);
        int[] rows = Gemm.rowsOf(k, 2);
        Gemm.Segment[] segs = new Gemm.Segment[segments];
        for (int s = 0; s < segments; s++) segs[s] = new Gemm.Segment(random(r, 2 * k), 0, new float[1 + 2 * m], 1, 2, 2);
        Gemm.gemm(a, bias, rows, segs, false);
        for (int s = 0; s < segments; s++) {
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < 2; j++) {
                    float acc = withBias ? bias[i] : 0f;
                    for (int kk = 0; kk < k; kk++) acc = Math.fma(w[i * k + kk], segs[s].b()[2 * kk + j], acc);
                    assertEquals(acc, segs[s].c()[1 + 2 * i + j], "segment " + s + " row " + i + " column " + j);
                }
            }
            assertEquals(0f, segs[s].c()[0], "before the segment's C");
        }
    }

    private static float[] random(SplittableRandom r, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) (r.nextDouble() - 0.5);
        return a;
    }

    /**
     * A packed in a weight arena as a model's weights are, between two slices of NaN: a kernel reading past its own
     * panels gets NaN sums.
     */
    private static PackedMatrix packBetweenNaNs(float[] w, int m, int k) {
        WeightArena arena = new WeightArena(37 + 2L * (m + Gemm.MR) * k + 4096); // one chunk holds all three
        WeightArena.Slice before = arena.allocate(37);
        java.util.Arrays.fill(before.array(), before.offset(), before.offset() + 37, Float.NaN);
        PackedMatrix a = PackedMatrix.pack(m, k, RowSource.of(w, 0, k), arena);
        WeightArena.Slice after = arena.allocate(4096);
        java.util.Arrays.fill(after.array(), after.offset(), after.offset() + 4096, Float.NaN);
        return a;
    }

    private static void check(int m, int k, int segments, int n, boolean accumulate, Gemm.Epilogue.Kind after) {
        SplittableRandom r = new SplittableRandom(m * 31L + k);
        float[] w = random(r, m * k);
        PackedMatrix a = packBetweenNaNs(w, m, k);
        float[] bias = new float[m];
        for (int i = 0; i < m; i++) bias[i] = (float) r.nextDouble();
        Gemm.Segment[] segs = new Gemm.Segment[segments];
        float[][] want = new float[segments][], interleaved = new float[segments][];
        int[] rows = Gemm.rowsOf(k, n + 3);
        for (int s = 0; s < segments; s++) {
            int ns = s == segments - 1 && segments == 5 ? 40 : n;   // mixed case: one wide segment
            float[] b = random(r, 2 + k * (n + 3) + 40);
            float[] c = new float[m * (ns + 1)];
            for (int i = 0; i < c.length; i++) c[i] = (float) r.nextDouble();
            want[s] = c.clone();
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < ns; j++) {
                    float acc = accumulate ? c[i * (ns + 1) + j] : bias[i];
                    for (int kk = 0; kk < k; kk++) acc = Math.fma(w[i * k + kk], b[2 + rows[kk] + j], acc);
                    want[s][i * (ns + 1) + j] = acc;
                }
            }
            float[] res = random(r, c.length);
            Gemm.Epilogue epi = Gemm.Epilogue.NONE;
            switch (after) {
                case ELU, ADD -> {
                    epi = after == Gemm.Epilogue.Kind.ELU ? Gemm.Epilogue.ELU : Gemm.Epilogue.add(res);
                    for (int i = 0; i < m; i++) {
                        for (int j = 0; j < ns; j++) {
                            int o = i * (ns + 1) + j;
                            float y = want[s][o];
                            want[s][o] = after == Gemm.Epilogue.Kind.ADD ? res[o] + y : y > 0 ? y : (float) Math.expm1(y);
                        }
                    }
                }
                case INTERLEAVE -> { // C is still written; Y (res) receives the interleave, untouched elsewhere
                    float[] y = res.clone();
                    for (int i = 0; i < m; i++) for (int j = 0; j < ns; j++) y[(i / 3) * (ns + 1) * 3 + j * 3 + i % 3] = want[s][i * (ns + 1) + j];
                    interleaved[s] = y;
                    epi = Gemm.Epilogue.interleave(res, 3);
                }
                default -> { }
            }
            segs[s] = new Gemm.Segment(b, 2, c, 0, ns + 1, ns, epi);
        }
        Gemm.gemm(a, accumulate ? null : bias, rows, segs, accumulate);
        for (int s = 0; s < segments; s++) {
            // ELU by the vector expm1 (within 1e-7 of expm1), the rest bit for bit
            double tol = after == Gemm.Epilogue.Kind.ELU ? 2e-7 : 0;
            for (int i = 0; i < want[s].length; i++) assertEquals(want[s][i], segs[s].c()[i], tol, "segment " + s + " element " + i);
            if (interleaved[s] != null) assertArrayEquals(interleaved[s], segs[s].after().to(), "segment " + s + " interleaved");
        }
    }
}
