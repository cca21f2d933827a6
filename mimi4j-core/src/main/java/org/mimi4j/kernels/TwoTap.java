package org.mimi4j.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * A two-tap convolution C[i][u] = bias[i] + sum_j g0[i][j] x[j][u] + g1[i][j] x[j][u+1] (u < n) in four products on
 * triples of outputs instead of two on all of them: Winograd's minimal filtering F(3,2) (Toom-Cook at 0, 1, -1 and
 * infinity, transposed). For the triple w, with d_i = x[3w+i] (0 past x[n]):
 * <pre>
 *   m0 = g0 (d0 - d2)     m1 = bias + (g0 + g1)/2 (d1 + d2)     m2 = (g0 - g1)/2 (d2 - d1)     m3 = g1 (d3 - d1)
 *   C[3w] = m1 + m2 + m0          C[3w+1] = m1 - m2          C[3w+2] = m1 + m2 + m3
 * </pre>
 * so 2/3 of the direct form's multiply-adds. Every strided conv of kernel 2 x stride is two taps over its polyphase
 * input (the SEANet encoder's downsampling convs), and so is every transposed conv of kernel 2 x stride over its
 * input (the decoder's upsampling ones): ~48% of the arithmetic of an encode or a decode. The rounding is not the
 * direct form's (it adds the transforms' roundings; the halves are exact), but it is fixed: an output depends only on
 * its triple, counted from the call's first column, so calls cut at multiples of 3 columns give the same bits.
 *
 * <p>A call {@link #split}s each input row into the four right operands, laid out as its {@link Operands} say, then
 * runs m0, m2 and m3 into the first three quarters of a [4][m][triples] buffer and m1 into the last, whose epilogue
 * ({@link Gemm.Epilogue#triples}) writes the three outputs of each triple.
 */
public final class TwoTap {
    static final VectorSpecies<Float> S = Simd.S;
    static final int L = S.length();
    private static final int[] BY3 = new int[L]; // lane j reads element 3j
    private static final int[][] BY3S = new int[17][]; // BY3S[s] lane j reads element 3 s j (splitPhase's stride s)
    /*
     * split's picks: lane j of d_off is element 3j + off of v0..v3 (4L consecutive floats): from v0 and v1 by AB_off
     * (v1's as exceptional indexes), from v2 by C_off where IN_Coff, from v3 by D_3 where IN_D3. (Fields: constants to C2.)
     */
    private static final VectorShuffle<Float> AB_0 = pick(0, -1), AB_1 = pick(1, -1), AB_2 = pick(2, -1), AB_3 = pick(3, -1);
    private static final VectorShuffle<Float> C_0 = pick(0, 2), C_1 = pick(1, 2), C_2 = pick(2, 2), C_3 = pick(3, 2), D_3 = pick(3, 3);
    private static final VectorMask<Float> IN_C0 = from(0, 2), IN_C1 = from(1, 2), IN_C2 = from(2, 2), IN_C3 = from(3, 2), IN_D3 = from(3, 3);
    /*
     * Three vectors y0, y1, y2 (outputs 3i, 3i+1, 3i+2 of triples i < L) interleaved into 3 vectors of consecutive
     * outputs: vector q lane t is output g = qL + t, i.e. y(g % 3)[g / 3]: y0.rearrange(ABq, y1) holds the lanes from
     * y0 and y1, y2.rearrange(Cq) those from y2, blended where C_LANESq. (Fields, not arrays: constants to C2.)
     */
    private static final VectorShuffle<Float> AB0 = shuffle(0, true), AB1 = shuffle(1, true), AB2 = shuffle(2, true);
    private static final VectorShuffle<Float> C0 = shuffle(0, false), C1 = shuffle(1, false), C2 = shuffle(2, false);
    private static final VectorMask<Float> C_LANES0 = fromC(0), C_LANES1 = fromC(1), C_LANES2 = fromC(2);

    /** SCATTER_BY[ph] lane j: 3 ph j, where a transposed conv of ph phases puts output 3j of a phase row. */
    private static final int[][] SCATTER_BY = new int[17][];

    static {
        for (int j = 0; j < L; j++) BY3[j] = 3 * j;
        for (int s = 1; s < BY3S.length; s++) {
            BY3S[s] = new int[L];
            for (int j = 0; j < L; j++) BY3S[s][j] = 3 * s * j;
        }
        for (int ph = 2; ph < SCATTER_BY.length; ph++) {
            SCATTER_BY[ph] = new int[L];
            for (int j = 0; j < L; j++) SCATTER_BY[ph][j] = 3 * ph * j;
        }
    }

    private static VectorShuffle<Float> shuffle(int q, boolean ab) {
        int[] lane = new int[L];
        for (int t = 0; t < L; t++) {
            int g = q * L + t, i = g / 3, j = g % 3;
            lane[t] = ab ? (j == 0 ? i : j == 1 ? i - L : 0) : (j == 2 ? i : 0); // y1's as exceptional indexes
        }
        return VectorShuffle.fromArray(S, lane, 0);
    }

    /** Lane j: element 3j + off's lane in vector src (-1: v0's, or v1's as an exceptional index), 0 elsewhere. */
    private static VectorShuffle<Float> pick(int off, int src) {
        int[] lane = new int[L];
        for (int j = 0; j < L; j++) {
            int e = 3 * j + off, v = e / L;
            lane[j] = src < 0 ? (v == 0 ? e : v == 1 ? e - 2 * L : 0) : (v == src ? e % L : 0);
        }
        return VectorShuffle.fromArray(S, lane, 0);
    }

    /** The lanes j whose element 3j + off lies in vector src. */
    private static VectorMask<Float> from(int off, int src) {
        boolean[] lanes = new boolean[L];
        for (int j = 0; j < L; j++) lanes[j] = (3 * j + off) / L == src;
        return VectorMask.fromArray(S, lanes, 0);
    }

    private static VectorMask<Float> fromC(int q) {
        boolean[] lanes = new boolean[L];
        for (int t = 0; t < L; t++) lanes[t] = (q * L + t) % 3 == 2;
        return VectorMask.fromArray(S, lanes, 0);
    }

    /**
     * Weights of the largest conv that runs this way in every call (2M floats, 8 MB; -Dmimi4j.winogradMaxWeights). A
     * streaming step of one stream reads the four filters, twice the bytes of the direct form's, for the few columns
     * of a low-rate layer, where memory is the bound. The 200 Hz convs (1.6M weights, 16 columns a step) cost one
     * stream's step ~4% as a TwoTap and save offline calls 3-4% (AbBench stream1, encode, decode, both orders,
     * 2026-12-05): they run as a TwoTap always. Larger ones (the 1024-channel convs, 8.4M weights, 2 columns a step)
     * run as a TwoTap only in calls of at least {@link #LONG_CALL} triples per stream (offline), and in their
     * {@link #direct} form on [g0 | g1] below, reading the direct form's bytes ({@link #fromTriples}; offline encode
     * and decode ~1-2% faster, streaming the same, 2026-12-06). -Dmimi4j.winograd=false: no conv runs this way.
     */
    private static final long MAX_WEIGHTS = Long.getLong("mimi4j.winogradMaxWeights", 1L << 21);
    private static final boolean ON = !"false".equals(System.getProperty("mimi4j.winograd"));
    /** Triples per stream from which a call of a conv larger than {@link #MAX_WEIGHTS} runs as a TwoTap (an offline call's). */
    public static final int LONG_CALL = 32;

    private final int m, k;
    private final int from;                            // triples per stream from which a call runs on triples
    private final PackedMatrix taps;                   // [g0 | g1]: the direct form with its K tap-major
    private final PackedMatrix g0, g1, half, halfDiff; // its two blocks of columns, (g0 + g1)/2, (g0 - g1)/2
    private final RowOffsets tapRows = new RowOffsets(this::tapOffsets); // the direct form's, for the last row length

    private TwoTap(int m, int k, RowSource rows, WeightArena arena, int from) {
        if (from < 0) throw new IllegalArgumentException("a TwoTap from " + from + " triples");
        this.m = m;
        this.k = k;
        this.from = from;
        taps = PackedMatrix.pack(m, 2 * k, tapMajor(rows, k), arena);
        g0 = taps.columns(0, k);
        g1 = taps.columns(k, k);
        half = PackedMatrix.halves(g0, g1, true, arena);
        halfDiff = PackedMatrix.halves(g0, g1, false, arena);
    }

    /**
     * Packs the m rows of 2k floats that {@code taps} reads, [k][2] each (tap 0 and tap 1 of operand row j at 2j and
     * 2j + 1), as the four filters (into {@code arena}; null: arrays of their own). Every call runs on triples.
     */
    public static TwoTap pack(int m, int k, RowSource taps, WeightArena arena) {
        return pack(m, k, taps, arena, 0);
    }

    /** As above; calls of fewer than {@code from} triples per stream run {@link #direct} ({@link #forCall}). */
    public static TwoTap pack(int m, int k, RowSource taps, WeightArena arena, int from) {
        return new TwoTap(m, k, taps, arena, from);
    }

    /** The interleaved rows ([k][2]) tap-major ([2][k]: g0's row, then g1's); the halves are made from the packed taps. */
    private static RowSource tapMajor(RowSource rows, int k) {
        return new RowSource() {
            @Override
            public void read(int i, float[] dst, int off) {
                float[] row = new float[2 * k];
                rows.read(i, row, 0);
                take(row, 0, dst, off);
            }

            @Override
            public void read(int i0, int n, int kk, float[] dst) {
                float[] rs = new float[n * 2 * k];
                rows.read(i0, n, 2 * k, rs);
                for (int r = 0; r < n; r++) take(rs, r * 2 * k, dst, r * 2 * k);
            }

            private void take(float[] row, int ro, float[] dst, int off) {
                for (int j = 0; j < k; j++) {
                    dst[off + j] = row[ro + 2 * j];
                    dst[off + k + j] = row[ro + 2 * j + 1];
                }
            }
        };
    }

    /**
     * Triples per stream from which a call of a two-tap conv of this many weights (all taps) runs as a TwoTap, below
     * which it runs {@link #direct}: 0 (every call) up to {@link #MAX_WEIGHTS}, else {@link #LONG_CALL}; -1 (never:
     * the conv has no TwoTap) with -Dmimi4j.winograd=false.
     */
    public static int fromTriples(long weights) {
        return !ON ? -1 : weights <= MAX_WEIGHTS ? 0 : LONG_CALL;
    }

    /** Triples of outputs of a call of n: ceil(n/3). */
    public static int triples(int n) {
        return (n + 2) / 3;
    }

    /**
     * Where a call's right operands go: for a call of n outputs per stream, operand f (0: d0 - d2, 1: d1 + d2, 2: d2 -
     * d1, 3: d3 - d1), row j, triple w is b[row(f, j) + w / NR * sliver(j) + w % NR] of its stream's b. One stream
     * with 32 triples and more (an offline call's slice or chunk) writes them as the slivers that the wide kernel
     * reads ({@link Gemm#packedIndex}), so its products pack nothing; a batch of streams (whose steps are a few
     * columns each) writes rows of triples ([4][k][triples]: a sliver as long as a row), which the products read or pack as
     * any B. The same values either way, so the same bits.
     */
    public Operands operands(int n, int streams) {
        return new Operands(k, n, streams == 1 && n / 3 >= Gemm.NARROW);
    }

    /**
     * How a call of n outputs per stream runs: on triples, with these operands, or (null) in the {@link #direct} form,
     * for fewer than the {@code from} triples it was packed with (callers take them from {@link #fromTriples}).
     */
    public Operands forCall(int n, int streams) {
        return triples(n) >= from ? operands(n, streams) : null;
    }

    /** A call's operand layout ({@link #operands}). */
    public static final class Operands {
        final int k, n, tr, full, packedSlivers, operand; // operand: floats of one of the four
        final boolean packed;

        private Operands(int k, int n, boolean packed) {
            this.k = k;
            this.n = n;
            this.packed = packed;
            tr = triples(n);
            full = n / 3;
            packedSlivers = (tr + Gemm.NR - 1) / Gemm.NR;
            operand = packed ? Gemm.packedFloats(k, tr) : k * tr;
        }

        /** Floats of a stream's right operands ({@link #split}'s {@code b}). */
        public int floats() {
            return 4 * operand;
        }

        /** Where triple 0 of operand f's row j lies. */
        int row(int f, int j) {
            return f * operand + (packed ? Gemm.packedIndex(k, packedSlivers, j, 0) : j * tr);
        }

        /** Floats from one sliver of NR triples of row j to the next (NR in rows of triples: consecutive). */
        int sliver(int j) {
            return packed ? Gemm.packedSliver(k, j) : Gemm.NR;
        }
    }

    /** Floats of a stream's products for a call of n outputs ({@link #forward}'s {@code c}). */
    public int productFloats(int n) {
        return 4 * m * triples(n);
    }

    /**
     * Operand row j of a call of n outputs, x[xo .. xo + n] (n + 1 values: an output's two taps are x[u] and x[u+1]),
     * into b's four operands d0 - d2, d1 + d2, d2 - d1 and d3 - d1 (the last for the triples with a third output).
     */
    public void split(float[] x, int xo, Operands ops, float[] b, int j) {
        int n = ops.n, tr = ops.tr, full = ops.full, ss = ops.sliver(j), nr = Gemm.NR;
        int e0 = ops.row(0, j), e1 = ops.row(1, j), e2 = ops.row(2, j), e3 = ops.row(3, j);
        int w = 0;
        if (L == 16) { // 4 L consecutive floats, their every third one picked by shuffles (4 loads instead of 4 gathers)
            for (; w + L <= full && xo + 3 * w + 4 * L <= x.length; w += L) { // uses x up to 3(w + L - 1) + 3 <= n
                int i = xo + 3 * w;
                FloatVector v0 = FloatVector.fromArray(S, x, i), v1 = FloatVector.fromArray(S, x, i + L);
                FloatVector v2 = FloatVector.fromArray(S, x, i + 2 * L), v3 = FloatVector.fromArray(S, x, i + 3 * L);
                FloatVector d0 = v0.rearrange(AB_0, v1).blend(v2.rearrange(C_0), IN_C0);
                FloatVector d1 = v0.rearrange(AB_1, v1).blend(v2.rearrange(C_1), IN_C1);
                FloatVector d2 = v0.rearrange(AB_2, v1).blend(v2.rearrange(C_2), IN_C2);
                FloatVector d3 = v0.rearrange(AB_3, v1).blend(v2.rearrange(C_3), IN_C3).blend(v3.rearrange(D_3), IN_D3);
                int at = w / nr * ss + w % nr; // L triples in one sliver
                d0.sub(d2).intoArray(b, e0 + at);
                d1.add(d2).intoArray(b, e1 + at);
                d2.sub(d1).intoArray(b, e2 + at);
                d3.sub(d1).intoArray(b, e3 + at);
            }
        }
        if (Simd.GATHER) {
            for (; w + L <= full; w += L) { // reads x up to 3(w + L - 1) + 3 <= 3 full <= n
                int i = xo + 3 * w;
                FloatVector d0 = FloatVector.fromArray(S, x, i, BY3, 0), d1 = FloatVector.fromArray(S, x, i + 1, BY3, 0);
                FloatVector d2 = FloatVector.fromArray(S, x, i + 2, BY3, 0), d3 = FloatVector.fromArray(S, x, i + 3, BY3, 0);
                int at = w / nr * ss + w % nr;
                d0.sub(d2).intoArray(b, e0 + at);
                d1.add(d2).intoArray(b, e1 + at);
                d2.sub(d1).intoArray(b, e2 + at);
                d3.sub(d1).intoArray(b, e3 + at);
            }
        }
        for (; w < tr; w++) {
            int i = 3 * w, at = w / nr * ss + w % nr;
            float d0 = x[xo + i], d1 = i + 1 <= n ? x[xo + i + 1] : 0f, d2 = i + 2 <= n ? x[xo + i + 2] : 0f;
            b[e0 + at] = d0 - d2;
            b[e1 + at] = d1 + d2;
            b[e2 + at] = d2 - d1;
            if (w < full) b[e3 + at] = x[xo + i + 3] - d1;
        }
    }

    /**
     * {@link #splitPhase} of every phase p of a strided conv's input row into operand rows j0 + p. With 16 lanes and a
     * stride of at least 4 (the encoder's downsampling convs), 16 triples of all phases at a time: the 3 x stride
     * samples from sample 3 stride w (phase values 3w .. 3w + 2 of every phase) and the next triple's first samples are
     * row w of a matrix whose column i stride + p holds d_i of phase p. A transpose in registers (two-source shuffles)
     * turns its first 16 columns into vectors of 16 triples, parked in L1; the columns past them (d3 of most phases,
     * with stride 6 also d2 of phases 4 and 5) are gathered as {@link #splitPhase} does. On the Zen 5 machine, 64
     * channels of 480 outputs: 28 against 47 us (stride 4), 35 against 59 (5), 48 against 69 (6). The same values, so
     * the same bits; the last triples as splitPhase.
     */
    public void splitPhases(float[] x, int stride, Operands ops, float[] b, int j0) {
        int w = 0;
        if (L == 16 && Simd.GATHER && stride >= 4 && stride < BY3S.length) {
            int full = ops.full, s3 = 3 * stride, nr = Gemm.NR, op = ops.operand;
            int[] by = BY3S[stride], rows = PHASE_ROWS.get(); // phase p's operand row: its start at rows[p], slivers rows[16 + p] apart
            for (int p = 0; p < stride; p++) {
                rows[p] = ops.row(0, j0 + p);
                rows[16 + p] = ops.sliver(j0 + p);
            }
            float[] cols = COLUMNS.get();
            for (; w + L <= full; w += L) { // rows reach x[s3 (w + 15) + 15] < x[s3 (w + L) + stride]: within splitPhase's reads
                int o = s3 * w;
                transpose16(x, o, s3, cols);
                for (int p = 0; p < stride; p++) {
                    int e = rows[p] + w / nr * rows[16 + p] + w % nr;
                    int c1 = stride + p, c2 = 2 * stride + p, c3 = 3 * stride + p; // d0 is column p < 16
                    FloatVector d0 = FloatVector.fromArray(S, cols, 16 * p);
                    FloatVector d1 = c1 < 16 ? FloatVector.fromArray(S, cols, 16 * c1) : FloatVector.fromArray(S, x, o + c1, by, 0);
                    FloatVector d2 = c2 < 16 ? FloatVector.fromArray(S, cols, 16 * c2) : FloatVector.fromArray(S, x, o + c2, by, 0);
                    FloatVector d3 = c3 < 16 ? FloatVector.fromArray(S, cols, 16 * c3) : FloatVector.fromArray(S, x, o + c3, by, 0);
                    d0.sub(d2).intoArray(b, e);
                    d1.add(d2).intoArray(b, op + e);
                    d2.sub(d1).intoArray(b, 2 * op + e);
                    d3.sub(d1).intoArray(b, 3 * op + e);
                }
            }
        }
        for (int p = 0; p < stride; p++) splitPhase(x, p, stride, ops, b, j0 + p, w);
    }

    /** A thread's {@link #splitPhases} operand rows, per phase (at most 16): where each starts, its sliver stride. */
    private static final ThreadLocal<int[]> PHASE_ROWS = ThreadLocal.withInitial(() -> new int[32]);

    /** A thread's 16 transposed columns of {@link #splitPhases}, 16 floats each. */
    private static final ThreadLocal<float[]> COLUMNS = ThreadLocal.withInitial(() -> new float[16 * 16]);

    /**
     * t[16c + r] = a[off + r ld + c] for r, c < 16: 16 rows of 16 floats, ld apart, transposed in registers (16 lanes
     * only): for h = 8, 4, 2, 1, rows r and r + h (r without bit h) swap their off-diagonal h x h blocks.
     */
    static void transpose16(float[] a, int off, int ld, float[] t) {
        FloatVector r0 = FloatVector.fromArray(S, a, off + 0 * ld);
        FloatVector r1 = FloatVector.fromArray(S, a, off + 1 * ld);
        FloatVector r2 = FloatVector.fromArray(S, a, off + 2 * ld);
        FloatVector r3 = FloatVector.fromArray(S, a, off + 3 * ld);
        FloatVector r4 = FloatVector.fromArray(S, a, off + 4 * ld);
        FloatVector r5 = FloatVector.fromArray(S, a, off + 5 * ld);
        FloatVector r6 = FloatVector.fromArray(S, a, off + 6 * ld);
        FloatVector r7 = FloatVector.fromArray(S, a, off + 7 * ld);
        FloatVector r8 = FloatVector.fromArray(S, a, off + 8 * ld);
        FloatVector r9 = FloatVector.fromArray(S, a, off + 9 * ld);
        FloatVector r10 = FloatVector.fromArray(S, a, off + 10 * ld);
        FloatVector r11 = FloatVector.fromArray(S, a, off + 11 * ld);
        FloatVector r12 = FloatVector.fromArray(S, a, off + 12 * ld);
        FloatVector r13 = FloatVector.fromArray(S, a, off + 13 * ld);
        FloatVector r14 = FloatVector.fromArray(S, a, off + 14 * ld);
        FloatVector r15 = FloatVector.fromArray(S, a, off + 15 * ld);
        FloatVector x, y;
        x = r0.rearrange(TOP8, r8); y = r0.rearrange(BOTTOM8, r8); r0 = x; r8 = y;
        x = r1.rearrange(TOP8, r9); y = r1.rearrange(BOTTOM8, r9); r1 = x; r9 = y;
        x = r2.rearrange(TOP8, r10); y = r2.rearrange(BOTTOM8, r10); r2 = x; r10 = y;
        x = r3.rearrange(TOP8, r11); y = r3.rearrange(BOTTOM8, r11); r3 = x; r11 = y;
        x = r4.rearrange(TOP8, r12); y = r4.rearrange(BOTTOM8, r12); r4 = x; r12 = y;
        x = r5.rearrange(TOP8, r13); y = r5.rearrange(BOTTOM8, r13); r5 = x; r13 = y;
        x = r6.rearrange(TOP8, r14); y = r6.rearrange(BOTTOM8, r14); r6 = x; r14 = y;
        x = r7.rearrange(TOP8, r15); y = r7.rearrange(BOTTOM8, r15); r7 = x; r15 = y;
        x = r0.rearrange(TOP4, r4); y = r0.rearrange(BOTTOM4, r4); r0 = x; r4 = y;
        x = r1.rearrange(TOP4, r5); y = r1.rearrange(BOTTOM4, r5); r1 = x; r5 = y;
        x = r2.rearrange(TOP4, r6); y = r2.rearrange(BOTTOM4, r6); r2 = x; r6 = y;
        x = r3.rearrange(TOP4, r7); y = r3.rearrange(BOTTOM4, r7); r3 = x; r7 = y;
        x = r8.rearrange(TOP4, r12); y = r8.rearrange(BOTTOM4, r12); r8 = x; r12 = y;
        x = r9.rearrange(TOP4, r13); y = r9.rearrange(BOTTOM4, r13); r9 = x; r13 = y;
        x = r10.rearrange(TOP4, r14); y = r10.rearrange(BOTTOM4, r14); r10 = x; r14 = y;
        x = r11.rearrange(TOP4, r15); y = r11.rearrange(BOTTOM4, r15); r11 = x; r15 = y;
        x = r0.rearrange(TOP2, r2); y = r0.rearrange(BOTTOM2, r2); r0 = x; r2 = y;
        x = r1.rearrange(TOP2, r3); y = r1.rearrange(BOTTOM2, r3); r1 = x; r3 = y;
        x = r4.rearrange(TOP2, r6); y = r4.rearrange(BOTTOM2, r6); r4 = x; r6 = y;
        x = r5.rearrange(TOP2, r7); y = r5.rearrange(BOTTOM2, r7); r5 = x; r7 = y;
        x = r8.rearrange(TOP2, r10); y = r8.rearrange(BOTTOM2, r10); r8 = x; r10 = y;
        x = r9.rearrange(TOP2, r11); y = r9.rearrange(BOTTOM2, r11); r9 = x; r11 = y;
        x = r12.rearrange(TOP2, r14); y = r12.rearrange(BOTTOM2, r14); r12 = x; r14 = y;
        x = r13.rearrange(TOP2, r15); y = r13.rearrange(BOTTOM2, r15); r13 = x; r15 = y;
        x = r0.rearrange(TOP1, r1); y = r0.rearrange(BOTTOM1, r1); r0 = x; r1 = y;
        x = r2.rearrange(TOP1, r3); y = r2.rearrange(BOTTOM1, r3); r2 = x; r3 = y;
        x = r4.rearrange(TOP1, r5); y = r4.rearrange(BOTTOM1, r5); r4 = x; r5 = y;
        x = r6.rearrange(TOP1, r7); y = r6.rearrange(BOTTOM1, r7); r6 = x; r7 = y;
        x = r8.rearrange(TOP1, r9); y = r8.rearrange(BOTTOM1, r9); r8 = x; r9 = y;
        x = r10.rearrange(TOP1, r11); y = r10.rearrange(BOTTOM1, r11); r10 = x; r11 = y;
        x = r12.rearrange(TOP1, r13); y = r12.rearrange(BOTTOM1, r13); r12 = x; r13 = y;
        x = r14.rearrange(TOP1, r15); y = r14.rearrange(BOTTOM1, r15); r14 = x; r15 = y;
        r0.intoArray(t, 0);
        r1.intoArray(t, 16);
        r2.intoArray(t, 32);
        r3.intoArray(t, 48);
        r4.intoArray(t, 64);
        r5.intoArray(t, 80);
        r6.intoArray(t, 96);
        r7.intoArray(t, 112);
        r8.intoArray(t, 128);
        r9.intoArray(t, 144);
        r10.intoArray(t, 160);
        r11.intoArray(t, 176);
        r12.intoArray(t, 192);
        r13.intoArray(t, 208);
        r14.intoArray(t, 224);
        r15.intoArray(t, 240);
    }

    /*
     * {@link #transpose16}'s steps: rows r and r + h become [r's lanes without bit h, r + h's with it moved down h] and
     * [r's with bit h moved up, r + h's with it].
     */
    private static final VectorShuffle<Float> TOP8 = transposeStep(8, true), BOTTOM8 = transposeStep(8, false);
    private static final VectorShuffle<Float> TOP4 = transposeStep(4, true), BOTTOM4 = transposeStep(4, false);
    private static final VectorShuffle<Float> TOP2 = transposeStep(2, true), BOTTOM2 = transposeStep(2, false);
    private static final VectorShuffle<Float> TOP1 = transposeStep(1, true), BOTTOM1 = transposeStep(1, false);

    private static VectorShuffle<Float> transposeStep(int h, boolean top) {
        if (L != 16) return null; // used with 16 lanes only
        int[] lane = new int[L];
        for (int l = 0; l < L; l++) {
            boolean hi = (l & h) != 0;
            lane[l] = top ? (hi ? l - h - L : l) : (hi ? l - L : l + h); // negative: the second vector's lane l + L
        }
        return VectorShuffle.fromArray(S, lane, 0);
    }

    /**
     * As {@link #split} for phase p of a strided conv's input with its left context: value u of the phase is x[p + u *
     * stride], read in place (gathers at stride 3 x stride), so the phase row is never written out. (A separate method:
     * the transposed convs' {@link #split} with a variable step of 1 was 2-4% slower to decode.)
     */
    public void splitPhase(float[] x, int p, int stride, Operands ops, float[] b, int j) {
        splitPhase(x, p, stride, ops, b, j, 0);
    }

    /** {@link #splitPhase} from triple w0 on. */
    private void splitPhase(float[] x, int p, int stride, Operands ops, float[] b, int j, int w0) {
        int n = ops.n, tr = ops.tr, full = ops.full, ss = ops.sliver(j), nr = Gemm.NR;
        int e0 = ops.row(0, j), e1 = ops.row(1, j), e2 = ops.row(2, j), e3 = ops.row(3, j);
        int w = w0;
        if (Simd.GATHER && stride < BY3S.length) {
            int[] by = BY3S[stride]; // lane l reads value 3l of the phase
            for (; w + L <= full; w += L) { // reads values up to 3(w + L - 1) + 3 <= 3 full <= n
                int i = p + 3 * w * stride;
                FloatVector d0 = FloatVector.fromArray(S, x, i, by, 0), d1 = FloatVector.fromArray(S, x, i + stride, by, 0);
                FloatVector d2 = FloatVector.fromArray(S, x, i + 2 * stride, by, 0), d3 = FloatVector.fromArray(S, x, i + 3 * stride, by, 0);
                int at = w / nr * ss + w % nr;
                d0.sub(d2).intoArray(b, e0 + at);
                d1.add(d2).intoArray(b, e1 + at);
                d2.sub(d1).intoArray(b, e2 + at);
                d3.sub(d1).intoArray(b, e3 + at);
            }
        }
        for (; w < tr; w++) {
            int i = 3 * w, o = p + i * stride, at = w / nr * ss + w % nr;
            float d0 = x[o], d1 = i + 1 <= n ? x[o + stride] : 0f, d2 = i + 2 <= n ? x[o + 2 * stride] : 0f;
            b[e0 + at] = d0 - d2;
            b[e1 + at] = d1 + d2;
            b[e2 + at] = d2 - d1;
            if (w < full) b[e3 + at] = x[o + 3 * stride] - d1;
        }
    }

    /**
     * The products of a batch of streams whose operands are {@link #split} as {@code ops} say: stream s's n outputs into
     * out[s], row i output u at (i / phases) * n * phases + u * phases + i % phases (phases 1: [m][n]; else a
     * transposed conv's phase rows interleaved). c[s]: at least {@link #productFloats} floats, overwritten.
     */
    public void forward(float[] bias, float[][] b, Operands ops, float[][] c, float[][] out, int phases) {
        int ns = b.length, n = ops.n, tr = ops.tr, full = ops.full, back = m * tr;
        if (ops.packed) {
            if (ns != 1) throw new IllegalArgumentException("operands packed for one stream, " + ns + " given");
            float[] b0 = b[0], c0 = c[0];
            Gemm.gemmPacked(g0, null, b0, 0, new Gemm.Segment(null, 0, c0, 0, tr, tr));
            Gemm.gemmPacked(halfDiff, null, b0, 2 * ops.operand, new Gemm.Segment(null, 0, c0, back, tr, tr));
            Gemm.gemmPacked(g1, null, b0, 3 * ops.operand, new Gemm.Segment(null, 0, c0, 2 * back, tr, full));
            Gemm.gemmPacked(half, bias, b0, ops.operand, new Gemm.Segment(null, 0, c0, 3 * back, tr, tr,
                    Gemm.Epilogue.triples(out[0], phases, n, back)));
            return;
        }
        int block = ops.operand;
        int[] rowOff = g0.rowsOf(tr);
        Gemm.Segment[] s0 = new Gemm.Segment[ns], s2 = new Gemm.Segment[ns], s3 = new Gemm.Segment[ns], s1 = new Gemm.Segment[ns];
        for (int s = 0; s < ns; s++) {
            s0[s] = new Gemm.Segment(b[s], 0, c[s], 0, tr, tr);
            s2[s] = new Gemm.Segment(b[s], 2 * block, c[s], back, tr, tr);
            s3[s] = new Gemm.Segment(b[s], 3 * block, c[s], 2 * back, tr, full);
            s1[s] = new Gemm.Segment(b[s], block, c[s], 3 * back, tr, tr, Gemm.Epilogue.triples(out[s], phases, n, back));
        }
        Gemm.gemm(g0, null, rowOff, s0, false);
        Gemm.gemm(halfDiff, null, rowOff, s2, false);
        if (full > 0) Gemm.gemm(g1, null, rowOff, s3, false);
        Gemm.gemm(half, bias, rowOff, s1, false);
    }

    /**
     * The direct form on this conv's own filters, one product: C = bias + [g0 | g1] [x0; x1], with x0's row j at
     * j * ld and x1's at j * ld + 1 of each segment's b (the k rows of the input, each with its left context, ld long).
     * For calls too short for triples to pay (a streaming step of a few columns): it reads the two taps, the direct
     * form's bytes, where the triples would read four filters.
     */
    public void direct(float[] bias, int ld, Gemm.Segment[] segs) {
        Gemm.gemm(taps, bias, tapRows.get(ld), segs, false);
    }

    /** {@link #direct}'s B row offsets, tap-major: tap q of input row j (row q * k + j) at j * ld + q. */
    private int[] tapOffsets(int ld) {
        int[] off = new int[2 * k];
        for (int q = 0; q < 2; q++) for (int j = 0; j < k; j++) off[q * k + j] = j * ld + q;
        return off;
    }

    /**
     * {@link Gemm.Epilogue.Kind#TRIPLES} on rows row0..row0+rows x triples w..w+nw of a segment's C (its m1; m0, m2 and
     * m3 lie 3, 2 and 1 {@code back} before it).
     */
    static void finish(Gemm.Segment g, int row0, int rows, int w, int nw) {
        Gemm.Epilogue e = g.after();
        float[] c = g.c(), y = e.to();
        int ph = e.phases(), cols = e.cols(), back = e.back();
        boolean four = ph == 4 && L == 16 && row0 % 4 == 0 && rows % 4 == 0;
        for (int i = row0; i < row0 + rows; i++) {
            int ci = g.cOff() + i * g.ldc() + w, yo = (i / ph) * cols * ph + i % ph;
            int j = 0;
            int whole = Math.max(0, Math.min(nw, cols / 3 - w)); // triples with all three outputs
            if (four && i % 4 == 0) j = finish4(c, ci, g.ldc(), back, y, yo + 12 * w, whole);
            else if (four) j = whole / L * L; // done with the row of phase 0
            // L whole triples at a time: for a strided conv 3 vectors of consecutive outputs; for a transposed conv
            // with AVX-512 each output vector scattered to its stride-3ph positions in the phase interleave
            int[] by = ph > 1 && Simd.SCATTER && ph < SCATTER_BY.length ? SCATTER_BY[ph] : null;
            if (ph == 1 || by != null) {
                for (int full = cols / 3 - w; j + L <= nw && j + L <= full; j += L) {
                    FloatVector m1 = FloatVector.fromArray(S, c, ci + j), m2 = FloatVector.fromArray(S, c, ci + j - 2 * back);
                    FloatVector sum = m1.add(m2), y1 = m1.sub(m2);
                    FloatVector y0 = sum.add(FloatVector.fromArray(S, c, ci + j - 3 * back));
                    FloatVector y2 = sum.add(FloatVector.fromArray(S, c, ci + j - back));
                    if (by != null) {
                        int o = yo + 3 * (w + j) * ph;
                        y0.intoArray(y, o, by, 0);
                        y1.intoArray(y, o + ph, by, 0);
                        y2.intoArray(y, o + 2 * ph, by, 0);
                    } else {
                        int o = yo + 3 * (w + j);
                        y0.rearrange(AB0, y1).blend(y2.rearrange(C0), C_LANES0).intoArray(y, o);
                        y0.rearrange(AB1, y1).blend(y2.rearrange(C1), C_LANES1).intoArray(y, o + L);
                        y0.rearrange(AB2, y1).blend(y2.rearrange(C2), C_LANES2).intoArray(y, o + 2 * L);
                    }
                }
            }
            for (; j < nw; j++) { // the last triples one by one
                int u = 3 * (w + j);
                float m1 = c[ci + j], m2 = c[ci + j - 2 * back], sum = m1 + m2;
                y[yo + u * ph] = sum + c[ci + j - 3 * back];
                if (u + 1 < cols) y[yo + (u + 1) * ph] = m1 - m2;
                if (u + 2 < cols) y[yo + (u + 2) * ph] = sum + c[ci + j - back];
            }
        }
    }

    /* zips of two vectors (b's lanes as exceptional indexes): ZIP_LO lane t a[t/2] (t even) or b[t/2]; ZIP_HI the upper halves */
    private static final VectorShuffle<Float> ZIP_LO = zip(0), ZIP_HI = zip(L / 2);

    private static VectorShuffle<Float> zip(int from) {
        int[] lane = new int[L];
        for (int t = 0; t < L; t++) lane[t] = from + t / 2 - (t % 2 == 1 ? L : 0);
        return VectorShuffle.fromArray(S, lane, 0);
    }

    /**
     * A transposed conv of 4 phases, L == 16: the 4 rows at C's ci (ld apart: phases 0-3 of one channel), L triples
     * at a time while {@code full} allows, into 12 consecutive vectors of y at yo (output u of phase p at yo + 4u +
     * p): each phase's three outputs interleaved as {@link #finish} does for one phase, then the four phases zipped
     * twice, in registers (scattered stores, one per phase and output, took ~4% of a decode). Returns the triples done.
     * Written out phase by phase: a vector passed to or returned from a helper that C2 does not inline is boxed.
     */
    private static int finish4(float[] c, int ci, int ld, int back, float[] y, int yo, int full) {
        int j = 0;
        for (; j + L <= full; j += L) {
            int o;
            FloatVector m1, m2, sum, y0, y1, y2, lo, hi, lo2, hi2;
            o = ci + 0 * ld + j;
            m1 = FloatVector.fromArray(S, c, o);
            m2 = FloatVector.fromArray(S, c, o - 2 * back);
            sum = m1.add(m2);
            y1 = m1.sub(m2);
            y0 = sum.add(FloatVector.fromArray(S, c, o - 3 * back));
            y2 = sum.add(FloatVector.fromArray(S, c, o - back));
            FloatVector z00 = y0.rearrange(AB0, y1).blend(y2.rearrange(C0), C_LANES0);
            FloatVector z01 = y0.rearrange(AB1, y1).blend(y2.rearrange(C1), C_LANES1);
            FloatVector z02 = y0.rearrange(AB2, y1).blend(y2.rearrange(C2), C_LANES2);
            o = ci + 1 * ld + j;
            m1 = FloatVector.fromArray(S, c, o);
            m2 = FloatVector.fromArray(S, c, o - 2 * back);
            sum = m1.add(m2);
            y1 = m1.sub(m2);
            y0 = sum.add(FloatVector.fromArray(S, c, o - 3 * back));
            y2 = sum.add(FloatVector.fromArray(S, c, o - back));
            FloatVector z10 = y0.rearrange(AB0, y1).blend(y2.rearrange(C0), C_LANES0);
            FloatVector z11 = y0.rearrange(AB1, y1).blend(y2.rearrange(C1), C_LANES1);
            FloatVector z12 = y0.rearrange(AB2, y1).blend(y2.rearrange(C2), C_LANES2);
            o = ci + 2 * ld + j;
            m1 = FloatVector.fromArray(S, c, o);
            m2 = FloatVector.fromArray(S, c, o - 2 * back);
            sum = m1.add(m2);
            y1 = m1.sub(m2);
            y0 = sum.add(FloatVector.fromArray(S, c, o - 3 * back));
            y2 = sum.add(FloatVector.fromArray(S, c, o - back));
            FloatVector z20 = y0.rearrange(AB0, y1).blend(y2.rearrange(C0), C_LANES0);
            FloatVector z21 = y0.rearrange(AB1, y1).blend(y2.rearrange(C1), C_LANES1);
            FloatVector z22 = y0.rearrange(AB2, y1).blend(y2.rearrange(C2), C_LANES2);
            o = ci + 3 * ld + j;
            m1 = FloatVector.fromArray(S, c, o);
            m2 = FloatVector.fromArray(S, c, o - 2 * back);
            sum = m1.add(m2);
            y1 = m1.sub(m2);
            y0 = sum.add(FloatVector.fromArray(S, c, o - 3 * back));
            y2 = sum.add(FloatVector.fromArray(S, c, o - back));
            FloatVector z30 = y0.rearrange(AB0, y1).blend(y2.rearrange(C0), C_LANES0);
            FloatVector z31 = y0.rearrange(AB1, y1).blend(y2.rearrange(C1), C_LANES1);
            FloatVector z32 = y0.rearrange(AB2, y1).blend(y2.rearrange(C2), C_LANES2);
            // output 4u + p: zip phases 0 and 2, 1 and 3, then the two: lanes p0 p1 p2 p3 of each u in turn
            o = yo + 12 * j;
            lo = z00.rearrange(ZIP_LO, z20);
            hi = z00.rearrange(ZIP_HI, z20);
            lo2 = z10.rearrange(ZIP_LO, z30);
            hi2 = z10.rearrange(ZIP_HI, z30);
            lo.rearrange(ZIP_LO, lo2).intoArray(y, o + 0 * L);
            lo.rearrange(ZIP_HI, lo2).intoArray(y, o + 1 * L);
            hi.rearrange(ZIP_LO, hi2).intoArray(y, o + 2 * L);
            hi.rearrange(ZIP_HI, hi2).intoArray(y, o + 3 * L);
            lo = z01.rearrange(ZIP_LO, z21);
            hi = z01.rearrange(ZIP_HI, z21);
            lo2 = z11.rearrange(ZIP_LO, z31);
            hi2 = z11.rearrange(ZIP_HI, z31);
            lo.rearrange(ZIP_LO, lo2).intoArray(y, o + 4 * L);
            lo.rearrange(ZIP_HI, lo2).intoArray(y, o + 5 * L);
            hi.rearrange(ZIP_LO, hi2).intoArray(y, o + 6 * L);
            hi.rearrange(ZIP_HI, hi2).intoArray(y, o + 7 * L);
            lo = z02.rearrange(ZIP_LO, z22);
            hi = z02.rearrange(ZIP_HI, z22);
            lo2 = z12.rearrange(ZIP_LO, z32);
            hi2 = z12.rearrange(ZIP_HI, z32);
            lo.rearrange(ZIP_LO, lo2).intoArray(y, o + 8 * L);
            lo.rearrange(ZIP_HI, lo2).intoArray(y, o + 9 * L);
            hi.rearrange(ZIP_LO, hi2).intoArray(y, o + 10 * L);
            hi.rearrange(ZIP_HI, hi2).intoArray(y, o + 11 * L);
        }
        return j;
    }
}
