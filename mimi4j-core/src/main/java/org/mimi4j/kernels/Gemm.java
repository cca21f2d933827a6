package org.mimi4j.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;
import org.mimi4j.perf.Profiler;


/**
 * C = bias + A·B (or C += A·B), float32, with A a constant {@link PackedMatrix} [M][K] and one or more right operands
 * ("segments", e.g. the items of a batch) that share A, so A is read once for all of them.
 *
 * <p>B is given by row offsets: row j of segment s is {@code s.b[s.bOff + rowOff[j] ...]}, N contiguous floats.
 * A convolution passes the shifted input rows (rowOff = ci*ld + k*dilation), so no im2col buffer is built;
 * a linear layer passes rowOff = j*ld. C rows are {@code s.c[s.cOff + i*s.ldc ...]}.
 *
 * <p>Two micro-kernels read the same packed panels of {@link #MR} rows: for wide segments, TR x 2L tiles (L lanes of
 * {@link Simd#S}: 8x32 with AVX-512, 4x16 with AVX2, 8x8 with NEON) with vectors along N (B rows streamed from cache, A
 * broadcast); for narrow segments (a few time steps, as in streaming), vectors of L rows along M per column, the
 * whole K reduced in registers, columns of all narrow segments grouped together. Every output is one FMA chain over
 * k ascending, so the result does not depend on the kernel, the tiling or the vector width.
 */
public final class Gemm {
    public static final int MR = 16;      // rows of a packed panel of A (whatever the vector width)
    static final VectorSpecies<Float> S = Simd.S;
    static final int L = S.length();
    private static final int VPP = MR / L; // vectors of L rows per panel (1 with AVX-512, 2 with AVX2, 4 with NEON)
    /*
     * Micro-tile shape: TR rows x 2 vectors, all accumulators in registers next to the B vectors and the broadcasts
     * (C2 loads all of a k step's broadcasts before its FMAs). 32 vector registers (AVX-512, NEON, SVE): 8 x 2 (8x32
     * with AVX-512). AVX2 has 16 ({@link Simd#REGISTERS}): there 8 x 2 kept 3 accumulators on the stack (a store and
     * reload per k step: 59% of the FMA peak on a 512x1536x256 GEMM on one Zen 3 thread; 4 x 3, 12 accumulators, also
     * spilled: 44%), 4 x 2 fits: 93%.
     */
    private static final boolean FEW_REGISTERS = Simd.REGISTERS < 32;
    private static final int TR = FEW_REGISTERS ? 4 : 8;
    static final int NR = 2 * L;  // columns of a B sliver / micro-tile
    static final int KC = 512;   // K block: a B sliver (KC x 32, 64 KB) streams from L2; fewer tiles continue a sum
                                         // (AbBench on Zen 5: 512 ~3% faster than 256, 128 ~4% slower, 1024 the same)
    private static final int SKEW = 16; // floats between packed slivers: rows packed into slivers a power of two
                                        // apart would all map to one set of the L1 cache
    private static final int NC = 256;   // N block per task: packed B (KC x NC, 512 KB) stays in L2
    private static final int MC = 128;   // M block: A block (MC x KC, 256 KB) stays in L2
    static final int NARROW = 32; // segments narrower than this use the narrow kernel
    /*
     * An A of at most this many rows reads B's full slivers in place, unpacked (-Dmimi4j.directRows, 0: never): with so
     * few row tiles per sliver, packing was ~16% of the 64-channel residual block's conv1 (32 x 192, K = its input's
     * three taps). On the Zen 5 machine (AbBench, both orders) the decoder's SEANet convs took ~0.94x the time with 64,
     * and more than without it with 128.
     */
    private static final int DIRECT_ROWS = Integer.getInteger("mimi4j.directRows", 64);
    private static final long SMALL_A = 1 << 20; // floats of an A (4 MB) that a call may read once per piece of few columns
    /*
     * A call of at most FEW_COLUMNS wide columns, in fewer segments than the tasks it wants, with an A larger than L2
     * (L2_A floats: weights that come from memory, as a transformer's linears on an offline call's 384 steps) is one
     * piece per segment, its B packed once and shared, split into tasks by rows only: each task keeps its block of A
     * in L2 for all the columns, so A is read from memory once per call instead of once per narrow piece. On the Zen 5
     * machine (one JVM, the two ways alternating, A cold, two threads): 2048 x 512 x 384 431 GFLOP/s against 381, 512
     * x 2048 x 384 353 against 323, 1536 x 512 x 384 427 against 387, the decoder's 4096 x 2048 x 384 393 against 360;
     * with 1024 or 1500 columns the narrower pieces were faster (512 x 1536 x 1024: 356 against 330). A call with one
     * thread (made while the other is busy: an offline encode's transformer beside the next chunk's SEANet) takes the
     * same path as one task, so that it reads its weights once instead of once per piece of 256 columns: a 60 s
     * encode 0.980-0.985x the time (AbBench, 20 rounds, both orders, Zen 5, 2026-12-06).
     */
    private static final int FEW_COLUMNS = 2 * NC;
    private static final long L2_A = 1 << 18;
    private static final int NG = FEW_REGISTERS ? 4 : 8; // columns per narrow group (2 x NG accumulators in registers)
    private static final int NARROW_CHUNK = 256 * 1024;  // floats of A per chunk and K block of a narrow call with
                                                         // several groups: 1 MB, half of L2 on the Intel Xeon (2 MB),
                                                         // all of it on the Zen 4 (512 KB there: no faster)
    private static final float[] ZEROS = new float[L]; // the narrow kernels' start values without a bias

    private Gemm() {
    }

    /** A right operand, where its result goes, and what happens to each finished element ({@link Epilogue}). */
    public record Segment(float[] b, int bOff, float[] c, int cOff, int ldc, int n, Epilogue after) {
        public Segment(float[] b, int bOff, float[] c, int cOff, int ldc, int n) {
            this(b, bOff, c, cOff, ldc, n, Epilogue.NONE);
        }
    }

    /**
     * Applied to a finished block of C (at most 128 rows x 256 columns) while it is still in cache: nothing,
     * C = elu(C), C = R + C (a residual connection; R laid out as C), or the interleave of a transposed conv's phases:
     * C row ch*phases + p, column u (cOff 0) goes to Y[ch][u*phases + p] (Y rows ldc*phases long). Per block rather
     * than per micro-tile: rows of up to 256 columns instead of 8 calls on 32 (AVX-512) (decode 7% faster).
     * TRIPLES finishes a {@link TwoTap} product: C is its m1, column w of C the triple of outputs u = 3w .. 3w + 2
     * (u < cols); m3, m2 and m0 lie in C's array 1, 2 and 3 {@code back} floats before it, laid out as C, and output
     * u goes where INTERLEAVE puts column u of rows cols long.
     */
    public record Epilogue(Kind kind, float[] to, int phases, int cols, int back) {
        public enum Kind { NONE, ELU, ADD, INTERLEAVE, TRIPLES }

        public static final Epilogue NONE = new Epilogue(Kind.NONE, null, 0, 0, 0), ELU = new Epilogue(Kind.ELU, null, 0, 0, 0);

        public static Epilogue add(float[] residual) {
            return new Epilogue(Kind.ADD, residual, 0, 0, 0);
        }

        public static Epilogue interleave(float[] y, int phases) {
            return new Epilogue(Kind.INTERLEAVE, y, phases, 0, 0);
        }

        static Epilogue triples(float[] y, int phases, int cols, int back) {
            return new Epilogue(Kind.TRIPLES, y, phases, cols, back);
        }
    }

    /** Row offsets j*ld for j < k: B given as a row-major [K][ld] matrix (kept per matrix: {@link PackedMatrix#rowsOf}). */
    public static int[] rowsOf(int k, int ld) {
        int[] r = new int[k];
        for (int j = 0; j < k; j++) r[j] = j * ld;
        return r;
    }

    public static void gemm(PackedMatrix a, float[] bias, int[] rowOff, Segment seg, boolean accumulate) {
        gemm(a, bias, rowOff, new Segment[]{seg}, accumulate);
    }

    public static void gemm(PackedMatrix a, float[] bias, int[] rowOff, Segment[] segs, boolean accumulate) {
        long t0 = Profiler.begin();
        product(a, bias, rowOff, segs, accumulate);
        if (t0 != 0L) {
            int cols = columns(segs);
            Profiler.gemm(t0, a.m, a.k, 0, cols, 2L * a.m * a.k * cols);
        }
    }

    private static int columns(Segment[] segs) {
        int n = 0;
        for (Segment g : segs) n += Math.max(0, g.n);
        return n;
    }

    private static void product(PackedMatrix a, float[] bias, int[] rowOff, Segment[] segs, boolean accumulate) {
        if (rowOff.length != a.k) throw new IllegalArgumentException("rowOff has " + rowOff.length + " rows, A has " + a.k + " columns");
        int nNarrow = 0, nCols = 0;
        int pieces = 0, wideCols = 0, wideSegs = 0;
        for (Segment g : segs) {
            if (g.n <= 0) continue;
            if (g.n < NARROW) {
                nNarrow++;
                nCols += g.n;
            } else {
                pieces += (g.n + NC - 1) / NC;
                wideCols += g.n;
                wideSegs++;
            }
        }
        int threads = Parallel.available(); // 1 inside a task while the other threads are busy: the call runs inline
        int groups = (a.m + 7) / 8; // 8-row groups
        if (pieces > 0) {
            long flops = 2L * a.m * a.k * (long) pieces * NC;
            int want = tasksWanted(flops, threads);
            // tasks: pieces of columns, and when there are still few of them, also ranges of 8-row groups
            boolean fewColumns = (want > 1 || threads == 1) && wideSegs < Math.max(2, want) && (long) a.m * a.k > L2_A && wideCols <= FEW_COLUMNS;
            Pieces p = Pieces.of(segs, fewColumns ? FEW_COLUMNS : pieceWidth(pieces, wideCols, want, (long) a.m * a.k));
            pieces = p.seg.length;
            int[] ps = p.seg, pn0 = p.n0, pn1 = p.n1;
            int split = rowSplit(pieces, want, groups);
            int tasks = pieces * split;
            if (a.m < 8) { // fewer rows than a tile (a conv to 1 channel): vectors along N, nothing packed
                Parallel.forEach(pieces, pc -> {
                    thin(a, bias, rowOff, segs[ps[pc]], pn0[pc], pn1[pc], accumulate);
                    finish(segs[ps[pc]], 0, a.m, pn0[pc], pn1[pc] - pn0[pc]);
                });
            } else if (!fewColumns && (split == 1 || (long) a.m * a.k <= SMALL_A)) { // each task packs the B it reads: nothing shared
                Parallel.forEach(tasks, t -> {
                    int pc = t / split, part = t % split;
                    int g0 = groups * part / split, g1 = groups * (part + 1) / split;
                    wide(a, bias, rowOff, segs[ps[pc]], pn0[pc], pn1[pc], g0 * 8, Math.min(a.m, g1 * 8), accumulate, null, 0, 0, 0);
                });
            } else {
                // a large A in few pieces, each split by rows: every piece's B is packed once (all of K, on the compute
                // threads), then read by all of its row tasks
                int kBlocks = (a.k + KC - 1) / KC;
                int[] off = new int[pieces + 1];
                for (int pc = 0; pc < pieces; pc++) off[pc + 1] = off[pc] + packedFloats(a.k, pn1[pc] - pn0[pc]);
                float[] shared = Scratch.floats(Scratch.GEMM_SHARED_B, off[pieces]);
                // in parts of slivers when there are fewer K blocks than threads (one piece of K = 512: not one thread)
                int parts = Math.max(1, 2 * threads / (pieces * kBlocks));
                Parallel.forEach(pieces * kBlocks * parts, t -> {
                    int pc = t / (kBlocks * parts), kb = t / parts % kBlocks * KC, part = t % parts, kc = Math.min(KC, a.k - kb);
                    int slivers = (pn1[pc] - pn0[pc] + NR - 1) / NR, s0 = slivers * part / parts, s1 = slivers * (part + 1) / parts;
                    if (s0 < s1) packB(segs[ps[pc]], rowOff, kb, kc, pn0[pc] + s0 * NR, Math.min(pn1[pc], pn0[pc] + s1 * NR), shared,
                            off[pc] + packedIndex(a.k, slivers, kb, s0 * NR));
                });
                Parallel.forEach(tasks, t -> {
                    int pc = t / split, part = t % split;
                    int g0 = groups * part / split, g1 = groups * (part + 1) / split;
                    wide(a, bias, rowOff, segs[ps[pc]], pn0[pc], pn1[pc], g0 * 8, Math.min(a.m, g1 * 8), accumulate, shared, off[pc],
                            (pn1[pc] - pn0[pc] + NR - 1) / NR, 0);
                });
            }
        }
        if (nNarrow > 0) {
            narrow(a, bias, rowOff, segs, nCols, accumulate, threads);
            boolean after = false;
            for (Segment g : segs) after |= g.n > 0 && g.n < NARROW && g.after.kind != Epilogue.Kind.NONE;
            if (after) Parallel.forEach(segs.length, s -> {
                Segment g = segs[s];
                if (g.n > 0 && g.n < NARROW) finish(g, 0, a.m, 0, g.n);
            });
        }
    }

    /** Row ranges per piece of columns: 1 when the pieces are tasks enough, else enough for the tasks wanted. */
    private static int rowSplit(int pieces, int want, int groups) {
        return pieces >= want ? 1 : Math.min(groups, (want + pieces - 1) / pieces);
    }

    /** Tasks a wide call wants: a few per thread so that the last ones even out, one for a small call or one thread. */
    private static int tasksWanted(long flops, int threads) {
        return threads == 1 || flops < 4_000_000 ? 1 : 4 * threads;
    }

    /**
     * Columns per piece of a call's wide columns (cols, that is pieces of {@link #NC}): NC, or fewer when the call has
     * fewer pieces than the tasks it wants and A is small (at most {@link #SMALL_A} floats, so it stays in cache while
     * every piece reads it): then each task packs and multiplies its own piece, and no B is shared between threads. On the Zen 4 machine (2 threads, alternating JVMs),
     * against rows split between tasks that read one B packed beforehand: a 64 x 384 conv of 480 columns 130 us against
     * 160-400 us, 1536 x 512 x 256 1.05-1.15x faster, but a 32 MB A 1.4x slower, hence the bound. Pieces still too
     * few (96 columns: 3 of 32) are split by rows too; with a small A each task then packs its own B (128 x 768 x 96:
     * 113 us against 118-186 us when the tasks shared it).
     */
    private static int pieceWidth(int pieces, int cols, int want, long aFloats) {
        if (pieces >= want || aFloats > SMALL_A) return NC;
        return Math.max(NR, ((cols + want - 1) / want + NR - 1) / NR * NR);
    }

    /** The wide segments' columns in pieces of at most {@code width}: piece q is columns n0[q]..n1[q] of segment seg[q]. */
    private record Pieces(int[] seg, int[] n0, int[] n1) {
        static Pieces of(Segment[] segs, int width) {
            int pieces = 0;
            for (Segment g : segs) if (g.n >= NARROW) pieces += (g.n + width - 1) / width;
            Pieces p = new Pieces(new int[pieces], new int[pieces], new int[pieces]);
            int q = 0;
            for (int s = 0; s < segs.length; s++) {
                Segment g = segs[s];
                if (g.n < NARROW) continue;
                for (int n0 = 0; n0 < g.n; n0 += width) {
                    p.seg[q] = s;
                    p.n0[q] = n0;
                    p.n1[q++] = Math.min(g.n, n0 + width);
                }
            }
            return p;
        }
    }

    /**
     * Two products in a chain: {@code gemm(a1, bias1, rowOff1, first, false)}, then the same for a2, bias2 and second,
     * whose B is first's result: second[s] reads first[s].c (rows first[s].ldc apart; second[s].b is not used). A
     * residual block's conv1 then conv2. When every segment is wide and there are pieces of columns enough for all
     * threads, each task runs one piece through both: the first product (and its epilogue, NONE or ELU) into a
     * per-thread [a1.m][NC] buffer, in L2, which the second reads back as its B; first[s].c is then not written. Else
     * the two calls. The same FMA chains either way: bit-identical results.
     */
    public static void chain(PackedMatrix a1, float[] bias1, int[] rowOff1, Segment[] first, PackedMatrix a2, float[] bias2, Segment[] second) {
        long t0 = Profiler.begin();
        chained(a1, bias1, rowOff1, first, a2, bias2, second);
        if (t0 != 0L) {
            int cols = columns(first);
            Profiler.gemm(t0, a1.m, a1.k, a2.m, cols, 2L * ((long) a1.m * a1.k + (long) a2.m * a2.k) * cols);
        }
    }

    private static void chained(PackedMatrix a1, float[] bias1, int[] rowOff1, Segment[] first, PackedMatrix a2, float[] bias2, Segment[] second) {
        if (a2.k != a1.m) throw new IllegalArgumentException("a chain's second matrix has " + a2.k + " columns, the first " + a1.m + " rows");
        int cols = 0, pieces = 0;
        boolean wide = a1.m >= 8 && a2.m >= 8;
        for (Segment g : first) {
            wide &= g.n >= NARROW && (g.after.kind == Epilogue.Kind.NONE || g.after.kind == Epilogue.Kind.ELU);
            cols += Math.max(0, g.n);
            pieces += (g.n + NC - 1) / NC;
        }
        int want = tasksWanted(2L * ((long) a1.m * a1.k + (long) a2.m * a2.k) * cols, Parallel.available());
        Pieces p = wide ? Pieces.of(first, pieceWidth(pieces, cols, want, Math.max((long) a1.m * a1.k, (long) a2.m * a2.k))) : null;
        if (p == null || p.seg.length < want) { // few pieces: gemm splits them further
            product(a1, bias1, rowOff1, first, false);
            Segment[] from = new Segment[second.length];
            for (int s = 0; s < second.length; s++) {
                Segment g = second[s], f = first[s];
                if (f.ldc != first[0].ldc) throw new IllegalArgumentException("a chain's segments have different row lengths");
                from[s] = new Segment(f.c, f.cOff, g.c, g.cOff, g.ldc, g.n, g.after);
            }
            product(a2, bias2, a2.rowsOf(first[0].ldc), from, false);
            return;
        }
        int[] mid = a2.rowsOf(NC); // the buffer's rows, NC floats apart
        Parallel.forEach(p.seg.length, q -> {
            Segment g1 = first[p.seg[q]], g2 = second[p.seg[q]];
            int n0 = p.n0[q], n1 = p.n1[q];
            float[] h = Scratch.floats(Scratch.GEMM_CHAIN_MID, a1.m * NC);
            // columns n0..n1 of the first product at h[i*NC + n - n0], then read from there as the second's B
            wide(a1, bias1, rowOff1, new Segment(g1.b, g1.bOff, h, -n0, NC, g1.n, g1.after), n0, n1, 0, a1.m, false, null, 0, 0, 0);
            wide(a2, bias2, mid, new Segment(h, -n0, g2.c, g2.cOff, g2.ldc, g2.n, g2.after), n0, n1, 0, a2.m, false, null, 0, 0, 0);
        });
    }

    /** The segment's epilogue on rows row0..row0+rows x columns n..n+w of its C. */
    private static void finish(Segment g, int row0, int rows, int n, int w) {
        Epilogue e = g.after;
        if (e.kind == Epilogue.Kind.NONE) return;
        float[] c = g.c, r = e.to;
        if (e.kind == Epilogue.Kind.TRIPLES) {
            TwoTap.finish(g, row0, rows, n, w);
            return;
        }
        if (n == 0 && w == g.ldc && e.kind != Epilogue.Kind.INTERLEAVE) { // whole rows, contiguous: one block (no tail per row)
            w *= rows;
            rows = 1;
        }
        for (int i = row0; i < row0 + rows; i++) {
            int ci = g.cOff + i * g.ldc + n;
            switch (e.kind) {
                case ELU -> Activations.elu(c, ci, c, ci, w);
                case ADD -> {
                    int j = 0;
                    for (; j + L <= w; j += L) FloatVector.fromArray(S, r, ci + j).add(FloatVector.fromArray(S, c, ci + j)).intoArray(c, ci + j);
                    for (; j < w; j++) c[ci + j] = r[ci + j] + c[ci + j];
                }
                case INTERLEAVE -> {
                    int s = e.phases, yo = (i / s) * g.ldc * s + n * s + i % s;
                    for (int j = 0; j < w; j++) r[yo + j * s] = c[ci + j];
                }
                default -> throw new AssertionError(e.kind);
            }
        }
    }

    // ---------------------------------------------------------------- thin kernel: m < 8 rows

    /**
     * Columns n0..n1 of one segment for an A of fewer than 8 rows: per row, 4 vectors of columns at a time run over
     * all of K reading B's rows in place (a packed tile would be mostly padding). Same FMA chain over k ascending
     * from the bias (or C) as the other kernels.
     */
    private static void thin(PackedMatrix a, float[] bias, int[] rowOff, Segment g, int n0, int n1, boolean accumulate) {
        int k = a.k;
        float[] ad = a.data, b = g.b, c = g.c;
        for (int i = 0; i < a.m; i++) {
            int ai = a.rowStart(i), ci = g.cOff + i * g.ldc;
            float start = bias == null ? 0f : bias[i];
            int n = n0;
            for (; n + 4 * L <= n1; n += 4 * L) {
                FloatVector c0, c1, c2, c3;
                if (accumulate) {
                    c0 = FloatVector.fromArray(S, c, ci + n);
                    c1 = FloatVector.fromArray(S, c, ci + n + L);
                    c2 = FloatVector.fromArray(S, c, ci + n + 2 * L);
                    c3 = FloatVector.fromArray(S, c, ci + n + 3 * L);
                } else {
                    c0 = FloatVector.broadcast(S, start);
                    c1 = c0;
                    c2 = c0;
                    c3 = c0;
                }
                for (int kk = 0; kk < k; kk++) {
                    FloatVector w = FloatVector.broadcast(S, ad[ai + kk * MR]);
                    int bi = g.bOff + rowOff[kk] + n;
                    c0 = w.fma(FloatVector.fromArray(S, b, bi), c0);
                    c1 = w.fma(FloatVector.fromArray(S, b, bi + L), c1);
                    c2 = w.fma(FloatVector.fromArray(S, b, bi + 2 * L), c2);
                    c3 = w.fma(FloatVector.fromArray(S, b, bi + 3 * L), c3);
                }
                c0.intoArray(c, ci + n);
                c1.intoArray(c, ci + n + L);
                c2.intoArray(c, ci + n + 2 * L);
                c3.intoArray(c, ci + n + 3 * L);
            }
            for (; n < n1; n++) { // the last columns one by one
                float acc = accumulate ? c[ci + n] : start;
                for (int kk = 0; kk < k; kk++) acc = Math.fma(ad[ai + kk * MR], b[g.bOff + rowOff[kk] + n], acc);
                c[ci + n] = acc;
            }
        }
    }

    // ---------------------------------------------------------------- wide kernel: vectors along N, B packed

    private static final ThreadLocal<float[]> PACKED_B = ThreadLocal.withInitial(() -> new float[NC / NR * sliverStride(KC)]);

    /**
     * Rows r0..r1 (r0 a multiple of 8) x columns n0..n1 of one segment. BLIS order: per K block, B is packed into
     * slivers of NR columns ([KC][NR] each, contiguous, so the micro-kernel streams them in order), then every MC-row
     * block of A runs over every sliver; for an A of at most {@link #DIRECT_ROWS} rows the full slivers are read in
     * place instead. Sums run over k in ascending order from the bias (or C), as in the narrow kernel, so both give
     * bit-identical results. With {@code packed}, B is packed already ({@link #packedIndex}: K blocks of
     * {@code packedSlivers} slivers from packed[packedOff]), and columns n0.. are its sliver {@code sliver0} on.
     */
    private static void wide(PackedMatrix a, float[] bias, int[] rowOff, Segment g, int n0, int n1, int r0, int r1, boolean accumulate,
                             float[] packed, int packedOff, int packedSlivers, int sliver0) {
        int k = a.k;
        float[] bp = packed != null ? packed : PACKED_B.get(), tile = TILE.get();
        int slivers = (n1 - n0 + NR - 1) / NR;
        boolean direct = packed == null && !FEW_REGISTERS && a.m <= DIRECT_ROWS;
        int fullSl = direct ? (n1 - n0) / NR : 0; // full slivers read in place; the rest packed from bp[0]
        for (int kb = 0; kb < k; kb += KC) {
            int kc = Math.min(KC, k - kb);
            int bpOff = 0;
            if (packed == null) {
                if (!direct) packB(g, rowOff, kb, kc, n0, n1, bp, 0);
                else if (fullSl < slivers) packB(g, rowOff, kb, kc, n0 + fullSl * NR, n1, bp, 0);
            } else bpOff = packedOff + packedIndex(k, packedSlivers, kb, sliver0 * NR); // B packed beforehand
            boolean init = kb == 0 && !accumulate;
            for (int ic = r0; ic < r1; ic += MC) {
                int ie = Math.min(r1, ic + MC);
                for (int s = 0; s < slivers; s++) {
                    int n = n0 + s * NR, w = Math.min(NR, n1 - n);
                    for (int row0 = ic; row0 < ie; row0 += TR) {
                        int aBase = a.rowStart(row0) + kb * MR, rows = Math.min(TR, a.m - row0);
                        if (FEW_REGISTERS) micro4x2(a.data, aBase, bp, bpOff + s * sliverStride(kc), kc, g, n, w, row0, rows, bias, init, tile);
                        else if (s < fullSl) micro8x2(a.data, aBase, g.b, g.bOff + n, rowOff, kb, kc, g, n, w, row0, rows, bias, init, tile);
                        else micro8x2(a.data, aBase, bp, bpOff + (s - fullSl) * sliverStride(kc), SLIVER_ROWS, 0, kc, g, n, w, row0, rows, bias, init, tile);
                    }
                }
                // the block is done (rows ic..ie x columns n0..n1, at most 128 KB, in L2): its epilogue over rows of n1 - n0
                if (kb + kc == k) finish(g, ic, ie - ic, n0, n1 - n0);
            }
        }
    }

    /**
     * B rows kb..kb+kc, columns n0..n1, as slivers [kc][NR] (the last one zero-padded), {@link #sliverStride} apart, at
     * bp[bpOff...]. Row by row: each row's columns are read once, contiguously, into the full slivers in turn (reading
     * NR columns of every row per sliver, rows up to 48 KB apart, was slower).
     */
    private static void packB(Segment g, int[] rowOff, int kb, int kc, int n0, int n1, float[] bp, int bpOff) {
        float[] b = g.b;
        int full = (n1 - n0) / NR, sliver = sliverStride(kc);
        for (int kk = 0; kk < kc; kk++) {
            int bi = g.bOff + rowOff[kb + kk] + n0, d = bpOff + kk * NR;
            for (int s = 0; s < full; s++, bi += NR, d += sliver) {
                for (int j = 0; j < NR; j += L) FloatVector.fromArray(S, b, bi + j).intoArray(bp, d + j);
            }
        }
        int w = n1 - n0 - full * NR;
        if (w > 0) { // the last, partial sliver
            int base = bpOff + full * sliver, src = g.bOff + n0 + full * NR;
            for (int kk = 0; kk < kc; kk++) {
                int d = base + kk * NR;
                System.arraycopy(b, src + rowOff[kb + kk], bp, d, w);
                java.util.Arrays.fill(bp, d + w, d + NR, 0f);
            }
        }
    }

    /**
     * Where B[j][col] of a K x n right operand lies in the layout the wide kernel reads (relative to its start): K
     * blocks of {@link #KC} rows, each {@code slivers} = ceil(n / NR) slivers [kc][NR] {@link #sliverStride} apart.
     * An operand written so ({@link TwoTap}'s) is multiplied by {@link #gemmPacked} without being packed again.
     */
    static int packedIndex(int k, int slivers, int j, int col) {
        return j / KC * slivers * sliverStride(KC) + col / NR * packedSliver(k, j) + j % KC * NR + col % NR;
    }

    /** In {@link #packedIndex}'s layout of K = k rows: floats from one sliver of row j to the next (its K block's). */
    static int packedSliver(int k, int j) {
        return sliverStride(Math.min(KC, k - j / KC * KC));
    }

    /** Floats of a K x n operand in {@link #packedIndex}'s layout. */
    static int packedFloats(int k, int n) {
        int slivers = (n + NR - 1) / NR, last = k - (k - 1) / KC * KC;
        return (k - 1) / KC * slivers * sliverStride(KC) + slivers * sliverStride(last);
    }

    /**
     * C = bias + A·B for one segment of at least {@link #NARROW} columns whose B is packed already, at
     * bp[bpOff...] in {@link #packedIndex}'s layout for its g.n columns (g.b is not read): as {@link #gemm}, bit for
     * bit, without packing. Tasks as {@link #product}'s: pieces of {@link #NC} columns, or narrower ones for a small
     * A ({@link #pieceWidth}), split by rows when they are still fewer than the tasks wanted.
     */
    static void gemmPacked(PackedMatrix a, float[] bias, float[] bp, int bpOff, Segment g) {
        int n = g.n;
        if (n < NARROW) throw new IllegalArgumentException("a packed B of " + n + " columns: at least " + NARROW);
        long t0 = Profiler.begin();
        int slivers = (n + NR - 1) / NR, groups = (a.m + 7) / 8;
        int want = tasksWanted(2L * a.m * a.k * n, Parallel.available());
        int width = pieceWidth((n + NC - 1) / NC, n, want, (long) a.m * a.k), pieces = (n + width - 1) / width;
        int split = rowSplit(pieces, want, groups);
        Parallel.forEach(pieces * split, t -> {
            int pc = t / split, part = t % split, n0 = pc * width, n1 = Math.min(n, n0 + width);
            int g0 = groups * part / split, g1 = groups * (part + 1) / split;
            wide(a, bias, null, g, n0, n1, g0 * 8, Math.min(a.m, g1 * 8), false, bp, bpOff, slivers, n0 / NR);
        });
        if (t0 != 0L) Profiler.gemm(t0, a.m, a.k, 0, n, 2L * a.m * a.k * n);
    }

    /** Where row kk of a packed sliver starts: kk * NR. */
    private static final int[] SLIVER_ROWS = new int[KC];

    static {
        for (int kk = 0; kk < KC; kk++) SLIVER_ROWS[kk] = kk * NR;
    }

    /** Floats from one packed sliver of kc rows to the next. */
    static int sliverStride(int kc) {
        return kc * NR + SKEW;
    }

    private static final ThreadLocal<float[]> TILE = ThreadLocal.withInitial(() -> new float[TR * NR]);

    /**
     * Start values of a partial TR x NR micro-tile (last rows or columns) continuing a sum: C ([TR][NR], rows past
     * {@code rows} and columns past w zero). Vectors never cross a method boundary into the micro-kernel (a boxed
     * vector there defeats C2's intrinsics), so the kernel loads its accumulators from this array.
     */
    private static void continueTile(float[] tile, Segment g, int row0, int n, int w, int rows) {
        for (int r = 0; r < TR; r++) {
            int o = r * NR;
            if (r >= rows) {
                java.util.Arrays.fill(tile, o, o + NR, 0f);
            } else {
                System.arraycopy(g.c, g.cOff + (row0 + r) * g.ldc + n, tile, o, w);
                if (w < NR) java.util.Arrays.fill(tile, o + w, o + NR, 0f);
            }
        }
    }

    /** A tile row's start value: its bias, zero without one or past the last row. */
    private static float startValue(float[] bias, int row0, int r, int rows) {
        return r < rows && bias != null ? bias[row0 + r] : 0f;
    }

    /**
     * C[row0..row0+rows) x [n, n+w) (+)= A rows (8, stride MR in k) x 2 vectors of B's rows kb..kb+kc-1, row kb + kk at
     * bp[bBase + rowOff[kb + kk]]: a packed sliver ({@link #SLIVER_ROWS}, kb 0) or B's rows read in place.
     */
    private static void micro8x2(float[] ad, int aBase, float[] bp, int bBase, int[] rowOff, int kb, int kc, Segment g, int n, int w, int row0, int rows,
                                  float[] bias, boolean init, float[] tile) {
        boolean full = w == NR && rows == 8;
        FloatVector c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51, c60, c61, c70, c71;
        if (init) { // bias rows broadcast straight into the accumulators (rows past `rows`: zero)
            c00 = FloatVector.broadcast(S, startValue(bias, row0, 0, rows));
            c10 = FloatVector.broadcast(S, startValue(bias, row0, 1, rows));
            c20 = FloatVector.broadcast(S, startValue(bias, row0, 2, rows));
            c30 = FloatVector.broadcast(S, startValue(bias, row0, 3, rows));
            c40 = FloatVector.broadcast(S, startValue(bias, row0, 4, rows));
            c50 = FloatVector.broadcast(S, startValue(bias, row0, 5, rows));
            c60 = FloatVector.broadcast(S, startValue(bias, row0, 6, rows));
            c70 = FloatVector.broadcast(S, startValue(bias, row0, 7, rows));
            c01 = c00;
            c11 = c10;
            c21 = c20;
            c31 = c30;
            c41 = c40;
            c51 = c50;
            c61 = c60;
            c71 = c70;
        } else { // continuing a sum: a full tile straight from C, a partial one through the zero-padded tile array
            float[] from = full ? g.c : tile;
            int fo = full ? g.cOff + row0 * g.ldc + n : 0, fl = full ? g.ldc : NR;
            if (!full) continueTile(tile, g, row0, n, w, rows);
            c00 = FloatVector.fromArray(S, from, fo);
            c01 = FloatVector.fromArray(S, from, fo + L);
            c10 = FloatVector.fromArray(S, from, fo + fl);
            c11 = FloatVector.fromArray(S, from, fo + fl + L);
            c20 = FloatVector.fromArray(S, from, fo + 2 * fl);
            c21 = FloatVector.fromArray(S, from, fo + 2 * fl + L);
            c30 = FloatVector.fromArray(S, from, fo + 3 * fl);
            c31 = FloatVector.fromArray(S, from, fo + 3 * fl + L);
            c40 = FloatVector.fromArray(S, from, fo + 4 * fl);
            c41 = FloatVector.fromArray(S, from, fo + 4 * fl + L);
            c50 = FloatVector.fromArray(S, from, fo + 5 * fl);
            c51 = FloatVector.fromArray(S, from, fo + 5 * fl + L);
            c60 = FloatVector.fromArray(S, from, fo + 6 * fl);
            c61 = FloatVector.fromArray(S, from, fo + 6 * fl + L);
            c70 = FloatVector.fromArray(S, from, fo + 7 * fl);
            c71 = FloatVector.fromArray(S, from, fo + 7 * fl + L);
        }
        for (int kk = 0; kk < kc; kk++) {
            int bi = bBase + rowOff[kb + kk];
            FloatVector b0 = FloatVector.fromArray(S, bp, bi);
            FloatVector b1 = FloatVector.fromArray(S, bp, bi + L);
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
        // a full tile goes straight into C; a partial one (last sliver, last rows) through the tile (no masked vector ops here)
        float[] c = full ? g.c : tile;
        int ci = full ? g.cOff + row0 * g.ldc + n : 0, ld = full ? g.ldc : NR;
        c00.intoArray(c, ci); c01.intoArray(c, ci + L);
        c10.intoArray(c, ci + ld); c11.intoArray(c, ci + ld + L);
        c20.intoArray(c, ci + 2 * ld); c21.intoArray(c, ci + 2 * ld + L);
        c30.intoArray(c, ci + 3 * ld); c31.intoArray(c, ci + 3 * ld + L);
        c40.intoArray(c, ci + 4 * ld); c41.intoArray(c, ci + 4 * ld + L);
        c50.intoArray(c, ci + 5 * ld); c51.intoArray(c, ci + 5 * ld + L);
        c60.intoArray(c, ci + 6 * ld); c61.intoArray(c, ci + 6 * ld + L);
        c70.intoArray(c, ci + 7 * ld); c71.intoArray(c, ci + 7 * ld + L);
        if (!full) {
            for (int r = 0; r < rows; r++) System.arraycopy(tile, r * NR, g.c, g.cOff + (row0 + r) * g.ldc + n, w);
        }
    }

    /** As {@link #micro8x2} for 4 rows (AVX2: 8 accumulators, 2 B vectors and 4 broadcasts in 16 registers). */
    private static void micro4x2(float[] ad, int aBase, float[] bp, int bBase, int kc, Segment g, int n, int w, int row0, int rows,
                                 float[] bias, boolean init, float[] tile) {
        boolean full = w == NR && rows == 4;
        FloatVector c00, c01, c10, c11, c20, c21, c30, c31;
        if (init) {
            c00 = FloatVector.broadcast(S, startValue(bias, row0, 0, rows));
            c10 = FloatVector.broadcast(S, startValue(bias, row0, 1, rows));
            c20 = FloatVector.broadcast(S, startValue(bias, row0, 2, rows));
            c30 = FloatVector.broadcast(S, startValue(bias, row0, 3, rows));
            c01 = c00;
            c11 = c10;
            c21 = c20;
            c31 = c30;
        } else {
            float[] from = full ? g.c : tile;
            int fo = full ? g.cOff + row0 * g.ldc + n : 0, fl = full ? g.ldc : NR;
            if (!full) continueTile(tile, g, row0, n, w, rows);
            c00 = FloatVector.fromArray(S, from, fo);
            c01 = FloatVector.fromArray(S, from, fo + L);
            c10 = FloatVector.fromArray(S, from, fo + fl);
            c11 = FloatVector.fromArray(S, from, fo + fl + L);
            c20 = FloatVector.fromArray(S, from, fo + 2 * fl);
            c21 = FloatVector.fromArray(S, from, fo + 2 * fl + L);
            c30 = FloatVector.fromArray(S, from, fo + 3 * fl);
            c31 = FloatVector.fromArray(S, from, fo + 3 * fl + L);
        }
        for (int kk = 0; kk < kc; kk++) {
            int bi = bBase + kk * NR;
            FloatVector b0 = FloatVector.fromArray(S, bp, bi);
            FloatVector b1 = FloatVector.fromArray(S, bp, bi + L);
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
        }
        float[] c = full ? g.c : tile;
        int ci = full ? g.cOff + row0 * g.ldc + n : 0, ld = full ? g.ldc : NR;
        c00.intoArray(c, ci); c01.intoArray(c, ci + L);
        c10.intoArray(c, ci + ld); c11.intoArray(c, ci + ld + L);
        c20.intoArray(c, ci + 2 * ld); c21.intoArray(c, ci + 2 * ld + L);
        c30.intoArray(c, ci + 3 * ld); c31.intoArray(c, ci + 3 * ld + L);
        if (!full) {
            for (int r = 0; r < rows; r++) System.arraycopy(tile, r * NR, g.c, g.cOff + (row0 + r) * g.ldc + n, w);
        }
    }

    // ---------------------------------------------------------------- narrow kernel: vectors along M

    /**
     * Narrow segments (a few columns each, as in streaming): all their columns are gathered into groups of
     * {@link #NG}, each group packed k-major ([K][NG]; columns past the last hold leftovers whose sums are never
     * stored) unless it has at most 2 columns (one stream's step), which are read in place, and A is streamed once per
     * group: per k one vector of L rows from each of several row vectors times the group's broadcast B values
     * (read in place, one stream's step took 0.964x the time: its scalar packing was ~3% of the CPU samples).
     * Memory-bound on A with one group; with several, each thread's chunk of A (and K block) is sized to stay in L2
     * for the groups after the first.
     */
    private static void narrow(PackedMatrix a, float[] bias, int[] rowOff, Segment[] segs, int nCols, boolean accumulate, int threads) {
        int k = a.k;
        int groupsN = (nCols + NG - 1) / NG;
        int[] colSeg = Scratch.ints(Scratch.GEMM_NARROW_SEGMENT, nCols), colN = Scratch.ints(Scratch.GEMM_NARROW_COLUMN, nCols);
        int c = 0;
        for (int s = 0; s < segs.length; s++) {
            Segment g = segs[s];
            if (g.n <= 0 || g.n >= NARROW) continue;
            for (int n = 0; n < g.n; n++) {
                colSeg[c] = s;
                colN[c++] = n;
            }
        }
        // groups of more than 2 columns are packed (a group of 1 or 2, as one stream's step, reads B in place), in K
        // ranges on the compute threads when that is large (a batch of streams: ~5% of its step, serial)
        int packed = nCols % NG > 2 ? groupsN : nCols / NG;
        float[] bt = packed == 0 ? null : Scratch.floats(Scratch.GEMM_NARROW_B, packed * k * NG);
        int packParts = packed == 0 ? 0 : threads > 1 && (long) nCols * k >= 16384 ? 2 * threads : 1;
        Parallel.forEach(packParts, part -> {
            int k0 = k * part / packParts, k1 = k * (part + 1) / packParts;
            for (int q = 0; q < packed; q++) {
                int base = q * k * NG;
                for (int j = 0; j < NG && q * NG + j < nCols; j++) {
                    Segment g = segs[colSeg[q * NG + j]];
                    float[] b = g.b;
                    int o = g.bOff + colN[q * NG + j];
                    for (int kk = k0; kk < k1; kk++) bt[base + kk * NG + j] = b[o + rowOff[kk]];
                }
            }
        });
        int vecs = (a.m + MR - 1) / MR * VPP; // row vectors: L rows each, VPP per packed panel
        int quads = (vecs + 3) / 4;
        // 8 chunks per thread: a memory-bound call ends with one thread waiting for the other's last chunk
        int chunks = Math.min(quads, Math.max(1, threads == 1 || (long) a.m * k < 65536 ? 1 : threads * 8));
        // several groups read each chunk of A once per group, from L2 if it fits there: then more chunks, and if a
        // chunk of 4 row vectors is still too large, K blocks (the 33.5 MB convs of 16 streams, 1024 x 8192 and
        // 8192 x 1024: ~10% faster). The sums are parked in C between K blocks: the same FMA chain over k ascending.
        if (groupsN > 1) chunks = (int) Math.min(quads, Math.max(chunks, ((long) vecs * L * k + NARROW_CHUNK - 1) / NARROW_CHUNK));
        int nChunks = chunks, chunkRows = (quads + chunks - 1) / chunks * 4 * L;
        int kBlock = groupsN > 1 && (long) chunkRows * k > NARROW_CHUNK ? Math.max(1, NARROW_CHUNK / chunkRows) : k;
        Parallel.forEach(nChunks, t -> {
            float[] tmp = Scratch.floats(Scratch.GEMM_NARROW_ACC, 2 * MR * NG);
            int q0 = quads * t / nChunks, q1 = quads * (t + 1) / nChunks;
            for (int k0 = 0; k0 < k; k0 += kBlock) {
                int k1 = Math.min(k, k0 + kBlock);
                boolean fromC = accumulate || k0 > 0;
                for (int q = 0; q < groupsN; q++) {
                    int nc = Math.min(NG, nCols - q * NG), bBase = q * k * NG;
                    for (int v = q0 * 4; v < Math.min(vecs, q1 * 4); v += nc <= 2 ? 4 : 2) {
                        if (nc <= 2) narrow4x2(a, bias, rowOff, segs, colSeg, colN, q * NG, nc, v, Math.min(4, vecs - v), k0, k1, fromC, tmp);
                        else if (FEW_REGISTERS) narrow2x4(a, bias, segs, colSeg, colN, q * NG, nc, bt, bBase, v, Math.min(2, vecs - v), k0, k1, fromC, tmp);
                        else narrow2x8(a, bias, segs, colSeg, colN, q * NG, nc, bt, bBase, v, Math.min(2, vecs - v), k0, k1, fromC, tmp);
                    }
                }
            }
        });
    }

    /** Where row vector v (rows v*L .. v*L+L-1) starts in A's packed panels, at k = 0 (k advances by MR floats). */
    private static int rowVector(PackedMatrix a, int v) {
        return a.rowStart(v * L);
    }

    /**
     * Whether a narrow tile of {@code vecs} row vectors from v reads its start values in place, from the bias or a row
     * of zeros: all its row vectors whole, and fresh sums (not continuing C). Else they go through tmp
     * ({@link #startNarrow}). (Through tmp they were copied there as vectors from the same bias, and C2 at times
     * compiled that copy, a small method of its own, with the vector in a heap object: in 3 of 7 `mimi bench` runs one
     * stream's frame allocated 1034 KB instead of 46, ~9K tile starts of ~100 bytes.)
     */
    private static boolean startsInPlace(PackedMatrix a, boolean fromC, int v, int nv, int vecs) {
        return !fromC && nv == vecs && (v + vecs) * L <= a.m;
    }

    /** Where accumulator (row vector v+i, column j) of a tile of {@code cols} columns starts: see {@link #startsInPlace}. */
    private static int startAt(boolean inPlace, float[] bias, int v, int cols, int i, int j) {
        return inPlace ? (bias == null ? 0 : (v + i) * L) : (i * cols + j) * L;
    }

    /**
     * Start values (bias, or C when {@code fromC}: accumulating, or the sums parked there by the previous K block; zeros
     * where a row or column does not exist) of the accumulators
     * (row vector v+i, column col0+j) of a tile of nv x cols, at acc[(i*cols + j)*L ...], in tmp.
     */
    private static float[] startNarrow(PackedMatrix a, float[] bias, Segment[] segs, int[] colSeg, int[] colN, int col0, int nc, int cols,
                                       int v, int nv, int maxVecs, boolean fromC, float[] tmp) {
        for (int i = 0; i < maxVecs; i++) {
            int row0 = (v + i) * L, rows = i < nv ? Math.min(L, a.m - row0) : 0;
            for (int j = 0; j < cols; j++) {
                int o = (i * cols + j) * L;
                java.util.Arrays.fill(tmp, o, o + L, 0f);
                if (rows <= 0 || j >= nc) continue; // the padding of the last panel, a missing column
                if (fromC) {
                    Segment g = segs[colSeg[col0 + j]];
                    int ci = g.cOff + row0 * g.ldc + colN[col0 + j];
                    for (int r = 0; r < rows; r++) tmp[o + r] = g.c[ci + r * g.ldc];
                } else if (bias != null) System.arraycopy(bias, row0, tmp, o, rows);
            }
        }
        return tmp;
    }

    /**
     * The tile's sums (at acc[(i*cols + j)*L ...]) into C. Two columns n, n+1 of a segment whose C rows are 2 long (a
     * stream's step of 2 positions) fill 2L contiguous floats per row vector: stored as the two vectors zipped.
     */
    private static void storeNarrow(PackedMatrix a, float[] acc, Segment[] segs, int[] colSeg, int[] colN, int col0, int nc, int cols, int v, int nv) {
        for (int i = 0; i < nv; i++) {
            int row0 = (v + i) * L, rows = Math.min(L, a.m - row0);
            if (rows <= 0) break;
            for (int j = 0; j < nc; j++) {
                Segment g = segs[colSeg[col0 + j]];
                float[] c = g.c;
                int ci = g.cOff + row0 * g.ldc + colN[col0 + j], ld = g.ldc, o = (i * cols + j) * L;
                if (ld == 2 && rows == L && colN[col0 + j] == 0 && j + 1 < nc && colSeg[col0 + j + 1] == colSeg[col0 + j]) {
                    FloatVector x = FloatVector.fromArray(S, acc, o), y = FloatVector.fromArray(S, acc, o + L);
                    x.rearrange(ZIP_LO, y).intoArray(c, ci);
                    x.rearrange(ZIP_HI, y).intoArray(c, ci + L);
                    j++;
                    continue;
                }
                for (int r = 0; r < rows; r++) c[ci + r * ld] = acc[o + r];
            }
        }
    }

    /** Lanes of two vectors x, y zipped: x.rearrange(ZIP_LO, y) is x0 y0 x1 y1 ..., x.rearrange(ZIP_HI, y) the upper halves'. */
    private static final VectorShuffle<Float> ZIP_LO = zip(0), ZIP_HI = zip(L / 2);

    private static VectorShuffle<Float> zip(int from) {
        int[] lane = new int[L];
        for (int i = 0; i < L; i++) lane[i] = from + i / 2 - (i % 2) * L; // odd lanes: y's, as exceptional indexes (-L..-1)
        return VectorShuffle.fromArray(S, lane, 0);
    }

    /** Up to 4 row vectors (4L rows) x up to 2 columns, read from B in place: 8 independent FMA chains. */
    private static void narrow4x2(PackedMatrix a, float[] bias, int[] rowOff, Segment[] segs, int[] colSeg, int[] colN, int col0, int nc,
                                  int v, int nv, int k0, int k1, boolean fromC, float[] tmp) {
        float[] ad = a.data;
        Segment g0 = segs[colSeg[col0]], g1 = segs[colSeg[col0 + nc - 1]]; // one column: both are it (results dropped)
        float[] b0 = g0.b, b1 = g1.b;
        int o0 = g0.bOff + colN[col0], o1 = g1.bOff + colN[col0 + nc - 1];
        int last = v + nv - 1;  // missing row vectors re-read the last one (results dropped)
        boolean inPlace = startsInPlace(a, fromC, v, nv, 4);
        float[] st = inPlace ? (bias == null ? ZEROS : bias) : startNarrow(a, bias, segs, colSeg, colN, col0, nc, 2, v, nv, 4, fromC, tmp);
        FloatVector s00 = FloatVector.fromArray(S, st, startAt(inPlace, bias, v, 2, 0, 0));
        FloatVector s01 = FloatVector.fromArray(S, st, startAt(inPlace, bias, v, 2, 0, 1));
        FloatVector s10 = FloatVector.fromArray(S, st, startAt(inPlace, bias, v, 2, 1, 0));
        FloatVector s11 = FloatVector.fromArray(S, st, startAt(inPlace, bias, v, 2, 1, 1));
        FloatVector s20 = FloatVector.fromArray(S, st, startAt(inPlace, bias, v, 2, 2, 0));
        FloatVector s21 = FloatVector.fromArray(S, st, startAt(inPlace, bias, v, 2, 2, 1));
        FloatVector s30 = FloatVector.fromArray(S, st, startAt(inPlace, bias, v, 2, 3, 0));
        FloatVector s31 = FloatVector.fromArray(S, st, startAt(inPlace, bias, v, 2, 3, 1));
        int a0 = rowVector(a, v), a1 = rowVector(a, Math.min(v + 1, last)), a2 = rowVector(a, Math.min(v + 2, last)), a3 = rowVector(a, Math.min(v + 3, last));
        for (int kk = k0; kk < k1; kk++) {
            int r = rowOff[kk];
            FloatVector x0 = FloatVector.broadcast(S, b0[o0 + r]);
            FloatVector x1 = FloatVector.broadcast(S, b1[o1 + r]);
            int ko = kk * MR;
            FloatVector v0 = FloatVector.fromArray(S, ad, a0 + ko);
            FloatVector v1 = FloatVector.fromArray(S, ad, a1 + ko);
            FloatVector v2 = FloatVector.fromArray(S, ad, a2 + ko);
            FloatVector v3 = FloatVector.fromArray(S, ad, a3 + ko);
            s00 = v0.fma(x0, s00); s01 = v0.fma(x1, s01);
            s10 = v1.fma(x0, s10); s11 = v1.fma(x1, s11);
            s20 = v2.fma(x0, s20); s21 = v2.fma(x1, s21);
            s30 = v3.fma(x0, s30); s31 = v3.fma(x1, s31);
        }
        if (nv == 4 && nc == 2 && g0 == g1 && g0.ldc == 2 && colN[col0] == 0 && (v + 4) * L <= a.m) {
            // a stream's step of 2 positions, 4 whole row vectors: each row's two sums zipped straight into C
            float[] c = g0.c;
            int ci = g0.cOff + v * L * 2;
            s00.rearrange(ZIP_LO, s01).intoArray(c, ci);
            s00.rearrange(ZIP_HI, s01).intoArray(c, ci + L);
            s10.rearrange(ZIP_LO, s11).intoArray(c, ci + 2 * L);
            s10.rearrange(ZIP_HI, s11).intoArray(c, ci + 3 * L);
            s20.rearrange(ZIP_LO, s21).intoArray(c, ci + 4 * L);
            s20.rearrange(ZIP_HI, s21).intoArray(c, ci + 5 * L);
            s30.rearrange(ZIP_LO, s31).intoArray(c, ci + 6 * L);
            s30.rearrange(ZIP_HI, s31).intoArray(c, ci + 7 * L);
            return;
        }
        s00.intoArray(tmp, 0); s01.intoArray(tmp, L); s10.intoArray(tmp, 2 * L); s11.intoArray(tmp, 3 * L);
        s20.intoArray(tmp, 4 * L); s21.intoArray(tmp, 5 * L); s30.intoArray(tmp, 6 * L); s31.intoArray(tmp, 7 * L);
        storeNarrow(a, tmp, segs, colSeg, colN, col0, nc, 2, v, nv);
    }

    /** Up to 2 row vectors x up to 4 columns: 8 FMA chains (AVX2: 8 accumulators, 2 A vectors, 4 broadcasts). */
    private static void narrow2x4(PackedMatrix a, float[] bias, Segment[] segs, int[] colSeg, int[] colN, int col0, int nc, float[] bt, int bBase,
                                  int v, int nv, int k0, int k1, boolean fromC, float[] tmp) {
        float[] ad = a.data;
        boolean inPlace = startsInPlace(a, fromC, v, nv, 2);
        float[] st = inPlace ? (bias == null ? ZEROS : bias) : startNarrow(a, bias, segs, colSeg, colN, col0, nc, 4, v, nv, 2, fromC, tmp);
        FloatVector s00 = FloatVector.fromArray(S, st, startAt(inPlace, bias, v, 4, 0, 0));
        FloatVector s01 = FloatVector.fromArray(S, st, startAt(inPlace, bias, v, 4, 0, 1));
        FloatVector s02 = FloatVector.fromArray(S, st, startAt(inPlace, bias, v, 4, 0, 2));
        FloatVector s03 = FloatVector.fromArray(S, st, startAt(inPlace, bias, v, 4, 0, 3));
        FloatVector s10 = FloatVector.fromArray(S, st, startAt(inPlace, bias, v, 4, 1, 0));
        FloatVector s11 = FloatVector.fromArray(S, st, startAt(inPlace, bias, v, 4, 1, 1));
        FloatVector s12 = FloatVector.fromArray(S, st, startAt(inPlace, bias, v, 4, 1, 2));
        FloatVector s13 = FloatVector.fromArray(S, st, startAt(inPlace, bias, v, 4, 1, 3));
        int a0 = rowVector(a, v), a1 = rowVector(a, nv > 1 ? v + 1 : v);
        for (int kk = k0; kk < k1; kk++) {
            int ko = kk * MR, bo = bBase + kk * NG;
            FloatVector v0 = FloatVector.fromArray(S, ad, a0 + ko);
            FloatVector v1 = FloatVector.fromArray(S, ad, a1 + ko);
            FloatVector x;
            x = FloatVector.broadcast(S, bt[bo]);
            s00 = v0.fma(x, s00); s10 = v1.fma(x, s10);
            x = FloatVector.broadcast(S, bt[bo + 1]);
            s01 = v0.fma(x, s01); s11 = v1.fma(x, s11);
            x = FloatVector.broadcast(S, bt[bo + 2]);
            s02 = v0.fma(x, s02); s12 = v1.fma(x, s12);
            x = FloatVector.broadcast(S, bt[bo + 3]);
            s03 = v0.fma(x, s03); s13 = v1.fma(x, s13);
        }
        s00.intoArray(tmp, 0); s01.intoArray(tmp, L); s02.intoArray(tmp, 2 * L); s03.intoArray(tmp, 3 * L);
        s10.intoArray(tmp, 4 * L); s11.intoArray(tmp, 5 * L); s12.intoArray(tmp, 6 * L); s13.intoArray(tmp, 7 * L);
        storeNarrow(a, tmp, segs, colSeg, colN, col0, nc, 4, v, nv);
    }

    /** Up to 2 row vectors (2L rows) x up to 8 columns: 16 independent FMA chains. */
    private static void narrow2x8(PackedMatrix a, float[] bias, Segment[] segs, int[] colSeg, int[] colN, int col0, int nc, float[] bt, int bBase,
                                  int v, int nv, int k0, int k1, boolean fromC, float[] tmp) {
        float[] ad = a.data;
        boolean inPlace = startsInPlace(a, fromC, v, nv, 2);
        float[] st = inPlace ? (bias == null ? ZEROS : bias) : startNarrow(a, bias, segs, colSeg, colN, col0, nc, 8, v, nv, 2, fromC, tmp);
        FloatVector s00 = FloatVector.fromArray(S, st, startAt(inPlace, bias, v, 8, 0, 0));
        FloatVector s01 = FloatVector.fromArray(S, st, startAt(inPlace, bias, v, 8, 0, 1));
        FloatVector s02 = FloatVector.fromArray(S, st, startAt(inPlace, bias, v, 8, 0, 2));
        FloatVector s03 = FloatVector.fromArray(S, st, startAt(inPlace, bias, v, 8, 0, 3));
        FloatVector s04 = FloatVector.fromArray(S, st, startAt(inPlace, bias, v, 8, 0, 4));
        FloatVector s05 = FloatVector.fromArray(S, st, startAt(inPlace, bias, v, 8, 0, 5));
        FloatVector s06 = FloatVector.fromArray(S, st, startAt(inPlace, bias, v, 8, 0, 6));
        FloatVector s07 = FloatVector.fromArray(S, st, startAt(inPlace, bias, v, 8, 0, 7));
        FloatVector s10 = FloatVector.fromArray(S, st, startAt(inPlace, bias, v, 8, 1, 0));
        FloatVector s11 = FloatVector.fromArray(S, st, startAt(inPlace, bias, v, 8, 1, 1));
        FloatVector s12 = FloatVector.fromArray(S, st, startAt(inPlace, bias, v, 8, 1, 2));
        FloatVector s13 = FloatVector.fromArray(S, st, startAt(inPlace, bias, v, 8, 1, 3));
        FloatVector s14 = FloatVector.fromArray(S, st, startAt(inPlace, bias, v, 8, 1, 4));
        FloatVector s15 = FloatVector.fromArray(S, st, startAt(inPlace, bias, v, 8, 1, 5));
        FloatVector s16 = FloatVector.fromArray(S, st, startAt(inPlace, bias, v, 8, 1, 6));
        FloatVector s17 = FloatVector.fromArray(S, st, startAt(inPlace, bias, v, 8, 1, 7));
        int a0 = rowVector(a, v), a1 = rowVector(a, nv > 1 ? v + 1 : v);
        for (int kk = k0; kk < k1; kk++) {
            int ko = kk * MR, bo = bBase + kk * NG;
            FloatVector v0 = FloatVector.fromArray(S, ad, a0 + ko);
            FloatVector v1 = FloatVector.fromArray(S, ad, a1 + ko);
            FloatVector x;
            x = FloatVector.broadcast(S, bt[bo]);
            s00 = v0.fma(x, s00); s10 = v1.fma(x, s10);
            x = FloatVector.broadcast(S, bt[bo + 1]);
            s01 = v0.fma(x, s01); s11 = v1.fma(x, s11);
            x = FloatVector.broadcast(S, bt[bo + 2]);
            s02 = v0.fma(x, s02); s12 = v1.fma(x, s12);
            x = FloatVector.broadcast(S, bt[bo + 3]);
            s03 = v0.fma(x, s03); s13 = v1.fma(x, s13);
            x = FloatVector.broadcast(S, bt[bo + 4]);
            s04 = v0.fma(x, s04); s14 = v1.fma(x, s14);
            x = FloatVector.broadcast(S, bt[bo + 5]);
            s05 = v0.fma(x, s05); s15 = v1.fma(x, s15);
            x = FloatVector.broadcast(S, bt[bo + 6]);
            s06 = v0.fma(x, s06); s16 = v1.fma(x, s16);
            x = FloatVector.broadcast(S, bt[bo + 7]);
            s07 = v0.fma(x, s07); s17 = v1.fma(x, s17);
        }
        s00.intoArray(tmp, 0); s01.intoArray(tmp, L); s02.intoArray(tmp, 2 * L); s03.intoArray(tmp, 3 * L);
        s04.intoArray(tmp, 4 * L); s05.intoArray(tmp, 5 * L); s06.intoArray(tmp, 6 * L); s07.intoArray(tmp, 7 * L);
        s10.intoArray(tmp, 8 * L); s11.intoArray(tmp, 9 * L); s12.intoArray(tmp, 10 * L); s13.intoArray(tmp, 11 * L);
        s14.intoArray(tmp, 12 * L); s15.intoArray(tmp, 13 * L); s16.intoArray(tmp, 14 * L); s17.intoArray(tmp, 15 * L);
        storeNarrow(a, tmp, segs, colSeg, colN, col0, nc, 8, v, nv);
    }
}
