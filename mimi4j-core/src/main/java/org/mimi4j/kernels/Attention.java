package org.mimi4j.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Multi-head scaled dot-product attention over a ring cache of keys and values, read in place: q [NQ][H*hd]
 * time-major, out [NQ][H*hd]. Query i attends keys lo[i]..hi[i] (inclusive, counted from the first key any query
 * may see), which is how causal, sliding-window and ring-cache masks reach it.
 *
 * <p>Ring layouts (slot s of a ring of {@code cap} slots, cap a multiple of {@link #KEY_BLOCK}): keys in blocks of
 * KEY_BLOCK steps, channel-major within a block ({@link #keyIndex}: [cap/KEY_BLOCK][H*hd][KEY_BLOCK]), so scores go
 * L keys per vector without a transpose, one step's keys are consecutive cache lines, and a head's part of a block is
 * one contiguous 4 KB read; values head-major [H][cap][hd], a head's values one contiguous block read front to back.
 */
public final class Attention {
    static final VectorSpecies<Float> S = Simd.S;
    private static final int L = S.length();
    /** Steps per block of the key ring (a multiple of every vector length used: 4, 8, 16 lanes). */
    public static final int KEY_BLOCK = 16;

    private Attention() {
    }

    /** Where channel c of the key in ring slot s lives, for d channels. */
    public static int keyIndex(int slot, int c, int d) {
        return (slot / KEY_BLOCK * d + c) * KEY_BLOCK + slot % KEY_BLOCK;
    }

    /** Where head h's value in ring slot s starts (hd floats), for a ring of cap slots. */
    public static int valueIndex(int slot, int h, int cap, int hd) {
        return (h * cap + slot) * hd;
    }

    /** The smallest ring capacity (a whole number of key blocks) that holds n steps. */
    public static int ringCapacity(int n) {
        return (n + KEY_BLOCK - 1) / KEY_BLOCK * KEY_BLOCK;
    }

    /** Keys and values both time-major [NK][H*hd] (put in a ring of the kernel's layouts here, once for all queries). */
    public static void attend(float[] q, int nq, float[] k, float[] v, int heads, int hd, int[] lo, int[] hi, float[] out) {
        int d = heads * hd, nk = 1;
        for (int h : hi) nk = Math.max(nk, h + 1);
        int cap = ringCapacity(nk);
        float[] kb = new float[cap * d], vh = new float[cap * d];
        for (int j = 0; j < nk; j++) {
            for (int c = 0; c < d; c++) kb[keyIndex(j, c, d)] = k[j * d + c];
            for (int h = 0; h < heads; h++) System.arraycopy(v, j * d + h * hd, vh, valueIndex(j, h, cap, hd), hd);
        }
        attend(q, nq, kb, vh, 0, cap, heads, hd, lo, hi, out);
    }

    /**
     * The kernel. Key and value j (counted from the first key a query may see) are in ring slot {@code (start + j) %
     * cap}: keys at {@link #keyIndex}, value of head h at {@link #valueIndex}. (Values time-major,
     * [cap][H*hd], gave each head 256 bytes of every 2 KB row, and keys channel-major over a doubled ring, [H*hd][2 cap],
     * 1 KB of every 2 KB row and two cache lines written per channel and step; from memory, as a stream's 16 layers
     * cycle 16 MB of cache between its steps, a streaming step's attention took ~20% longer with each of the two.)
     */
    public static void attend(float[] q, int nq, float[] k, float[] v, int start, int cap, int heads, int hd,
                              int[] lo, int[] hi, float[] out) {
        if (cap % KEY_BLOCK != 0) throw new IllegalArgumentException("ring capacity " + cap + " is not a multiple of " + KEY_BLOCK);
        int d = heads * hd;
        if (hd % L != 0) {
            attendScalar(q, nq, k, v, start, cap, heads, hd, lo, hi, out);
            return;
        }
        float scale = (float) (1.0 / Math.sqrt(hd));
        int keys = 0;
        for (int i = 0; i < nq; i++) keys = Math.max(keys, hi[i] - lo[i] + 1);
        // a row of scores: whole key blocks from the one that holds the first key (< KEY_BLOCK before it, the rest after
        // the last), a group's union up to L keys wider; the softmax's vectors read and write 2L past the end
        int ldp = keys + 2 * KEY_BLOCK + 4 * L;
        int qBlocks = Math.max(1, Math.min((nq + 15) / 16, 4 * Parallel.threads() / Math.max(1, heads) + 1));
        Parallel.forEach(heads * qBlocks, task -> {
            int h = task / qBlocks, qb = task % qBlocks;
            int i0 = nq * qb / qBlocks, i1 = nq * (qb + 1) / qBlocks;
            int ho = h * hd, vo = valueIndex(0, h, cap, hd);
            float[] p = Scratch.floats(Scratch.ATTENTION_SCORES, GROUP * ldp);
            for (int i = i0; i < i1; ) {
                int m = Math.min(GROUP, i1 - i), ulo = union(lo, hi, i, m);
                if (ulo >= 0) { // 2 to GROUP queries with nearly the same keys: one pass over the keys for all of them
                    group(q, out, d, lo, hi, i, m, ulo, k, v, vo, ho, start, cap, hd, scale, p, ldp);
                    i += m;
                } else {
                    int a = 0;
                    if (hi[i] >= lo[i]) {
                        int first = (int) (((long) start + lo[i]) % cap);
                        a = first % KEY_BLOCK;
                        scores(q, i * d + ho, k, d, ho, first - a, cap, hd, a + hi[i] - lo[i] + 1, scale, p);
                    }
                    softmaxValues(p, a, v, vo, hd, lo[i], hi[i], start, cap, out, i * d + ho);
                    i++;
                }
            }
        });
    }

    /** Queries per block of {@link #attendBlocked}: two vectors of them, one lane each. */
    public static final int QUERY_BLOCK = 2 * L;

    /** The row length of {@link #attendBlocked}'s queries for nq of them: whole blocks. */
    public static int queryStride(int nq) {
        return (nq + QUERY_BLOCK - 1) / QUERY_BLOCK * QUERY_BLOCK;
    }

    /**
     * Whether {@link #attendBlocked} takes this head size: values 8 channels at a time, and a multiple of the vector
     * length, where the per-query kernels are the vector ones it equals (others go through the scalar kernel).
     */
    public static boolean blockable(int hd) {
        return hd % 8 == 0 && hd % L == 0;
    }

    /**
     * The same attention as {@link #attend(float[], int, float[], float[], int, int, int, int, int[], int[], float[])},
     * bit for bit, for an offline call's many queries, channel-major: q [H*hd][ldq] (query i of channel c at c*ldq +
     * i, ldq = {@link #queryStride}(nq); lanes past nq are read, never written out), out [H*hd][ldo]. Per head and
     * block of {@link #QUERY_BLOCK} consecutive queries, vectors along the queries, so nothing is transposed: the
     * scores of the block's union of keys as a product of the key ring's blocks ([hd][16] per 16 keys, an A panel) and
     * the queries (8 keys x 2 vectors of queries per register tile), each query's softmax in its own lane over its
     * own keys (the others -inf, then weight 0), and the outputs as a product of the value rows and the weights (8
     * channels x 2 vectors of queries). Each score and output is the FMA chain of the per-query kernels and each sum
     * runs over the query's keys in order, as there.
     */
    public static void attendBlocked(float[] q, int ldq, int nq, float[] k, float[] v, int start, int cap, int heads, int hd,
                                     int[] lo, int[] hi, float[] out, int ldo) {
        if (cap % KEY_BLOCK != 0) throw new IllegalArgumentException("ring capacity " + cap + " is not a multiple of " + KEY_BLOCK);
        if (!blockable(hd) || ldq < queryStride(nq)) throw new IllegalArgumentException("head size " + hd + ", query stride " + ldq);
        int d = heads * hd, blocks = ldq / QUERY_BLOCK;
        float scale = (float) (1.0 / Math.sqrt(hd));
        int rows = 8; // the most keys of a block's union, from its first key block's start, in whole groups of 8
        for (int i0 = 0; i0 < nq; i0 += QUERY_BLOCK) {
            int ulo = Integer.MAX_VALUE, uhi = -1;
            for (int i = i0; i < Math.min(nq, i0 + QUERY_BLOCK); i++) {
                if (hi[i] < lo[i]) continue;
                ulo = Math.min(ulo, lo[i]);
                uhi = Math.max(uhi, hi[i]);
            }
            if (uhi >= 0) rows = Math.max(rows, KEY_BLOCK + uhi - ulo + 8);
        }
        int nRows = rows;
        Parallel.forEach(heads * ((nq + QUERY_BLOCK - 1) / QUERY_BLOCK), task -> {
            int h = task % heads, i0 = task / heads * QUERY_BLOCK;
            float[] p = Scratch.floats(Scratch.ATTENTION_SCORES, nRows * QUERY_BLOCK);
            block(q, ldq, nq, i0, k, v, start, cap, d, h, hd, lo, hi, scale, p, out, ldo);
        });
    }

    /** One head's block of queries i0..i0+QUERY_BLOCK-1 of {@link #attendBlocked}; p: room for its keys' scores. */
    private static void block(float[] q, int ldq, int nq, int i0, float[] k, float[] v, int start, int cap, int d, int h, int hd,
                              int[] lo, int[] hi, float scale, float[] p, float[] out, int ldo) {
        int n = Math.min(QUERY_BLOCK, nq - i0), ulo = Integer.MAX_VALUE, uhi = -1;
        int[] blo = new int[QUERY_BLOCK], bhi = new int[QUERY_BLOCK]; // lanes past nq: no keys
        for (int l = 0; l < QUERY_BLOCK; l++) {
            blo[l] = l < n ? lo[i0 + l] : 1;
            bhi[l] = l < n ? hi[i0 + l] : 0;
            if (bhi[l] >= blo[l]) {
                ulo = Math.min(ulo, blo[l]);
                uhi = Math.max(uhi, bhi[l]);
            }
        }
        int ho = h * hd, qo = ho * ldq + i0;
        if (uhi < 0) { // no query of the block has a key: zeros
            for (int c = 0; c < hd; c++) java.util.Arrays.fill(out, (ho + c) * ldo + i0, (ho + c) * ldo + i0 + n, 0f);
            return;
        }
        // key r of the block counts from the first slot of the ring block that holds key ulo: key j = ulo - a + r
        int first = (int) (((long) start + ulo) % cap), a = first % KEY_BLOCK, s0 = first - a;
        int un = uhi - ulo + 1, nr = (a + un + 7) / 8 * 8;
        for (int r = 0; r < nr; r += 8) scores8(q, qo, ldq, k, ((s0 + r) % cap), d, ho, hd, scale, p, r);
        // each lane's softmax over its own keys: the rest -inf for the max, then weight 0; sums in key order
        IntVector lo0 = IntVector.fromArray(I, blo, 0), lo1 = IntVector.fromArray(I, blo, L);
        IntVector hi0 = IntVector.fromArray(I, bhi, 0), hi1 = IntVector.fromArray(I, bhi, L);
        FloatVector ninf = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY), m0 = ninf, m1 = ninf;
        for (int r = 0; r < nr; r++) {
            int j = ulo - a + r, o = r * QUERY_BLOCK;
            VectorMask<Float> in0 = lo0.compare(VectorOperators.LE, j).and(hi0.compare(VectorOperators.GE, j)).cast(S);
            VectorMask<Float> in1 = lo1.compare(VectorOperators.LE, j).and(hi1.compare(VectorOperators.GE, j)).cast(S);
            FloatVector x0 = ninf.blend(FloatVector.fromArray(S, p, o), in0), x1 = ninf.blend(FloatVector.fromArray(S, p, o + L), in1);
            m0 = m0.blend(x0, m0.compare(VectorOperators.LT, x0));
            m1 = m1.blend(x1, m1.compare(VectorOperators.LT, x1));
            x0.intoArray(p, o);
            x1.intoArray(p, o + L);
        }
        for (int r = 0; r < nr; r++) { // e^(s - max) as the per-query softmax's exp of s less a scalar max
            int o = r * QUERY_BLOCK;
            FloatVector.fromArray(S, p, o).sub(m0).intoArray(p, o);
            FloatVector.fromArray(S, p, o + L).sub(m1).intoArray(p, o + L);
        }
        VectorMath.exp(p, 0, nr * QUERY_BLOCK);
        FloatVector zero = FloatVector.zero(S), sum0 = zero, sum1 = zero;
        for (int r = 0; r < nr; r++) {
            int j = ulo - a + r, o = r * QUERY_BLOCK;
            VectorMask<Float> in0 = lo0.compare(VectorOperators.LE, j).and(hi0.compare(VectorOperators.GE, j)).cast(S);
            VectorMask<Float> in1 = lo1.compare(VectorOperators.LE, j).and(hi1.compare(VectorOperators.GE, j)).cast(S);
            FloatVector e0 = zero.blend(FloatVector.fromArray(S, p, o), in0), e1 = zero.blend(FloatVector.fromArray(S, p, o + L), in1);
            sum0 = sum0.add(e0);
            sum1 = sum1.add(e1);
            e0.intoArray(p, o);
            e1.intoArray(p, o + L);
        }
        // 1 / sum, and 0 for a lane without keys (whose weights and sums are all +0), so that its output is +0
        FloatVector one = FloatVector.broadcast(S, 1f);
        FloatVector inv0 = zero.blend(one.div(sum0), lo0.compare(VectorOperators.LE, hi0).cast(S));
        FloatVector inv1 = zero.blend(one.div(sum1), lo1.compare(VectorOperators.LE, hi1).cast(S));
        for (int c0 = 0; c0 < hd; c0 += 8) values8(p, a, a + un, v, (h * cap) * hd + c0, s0, cap, hd, out, (ho + c0) * ldo + i0, ldo,
                inv0, inv1, n);
    }

    private static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, S.vectorShape());

    /**
     * Scaled scores of keys r..r+7 of a block (ring slots slot..slot+7, in one key block) for the block's two vectors
     * of queries (q[qo + c*ldq ...]) into p rows r..r+7: each lane the FMA chain over c from zero of {@link #scores}.
     */
    private static void scores8(float[] q, int qo, int ldq, float[] k, int slot, int d, int ho, int hd, float scale, float[] p, int r) {
        int kb = (slot / KEY_BLOCK * d + ho) * KEY_BLOCK + slot % KEY_BLOCK; // key slot's channel ho; channel c KEY_BLOCK further
        FloatVector z = FloatVector.zero(S);
        FloatVector a00 = z, a01 = z, a10 = z, a11 = z, a20 = z, a21 = z, a30 = z, a31 = z;
        FloatVector a40 = z, a41 = z, a50 = z, a51 = z, a60 = z, a61 = z, a70 = z, a71 = z;
        for (int c = 0; c < hd; c++) {
            int qc = qo + c * ldq, kc = kb + c * KEY_BLOCK;
            FloatVector q0 = FloatVector.fromArray(S, q, qc), q1 = FloatVector.fromArray(S, q, qc + L);
            FloatVector x = FloatVector.broadcast(S, k[kc]);
            a00 = x.fma(q0, a00);
            a01 = x.fma(q1, a01);
            x = FloatVector.broadcast(S, k[kc + 1]);
            a10 = x.fma(q0, a10);
            a11 = x.fma(q1, a11);
            x = FloatVector.broadcast(S, k[kc + 2]);
            a20 = x.fma(q0, a20);
            a21 = x.fma(q1, a21);
            x = FloatVector.broadcast(S, k[kc + 3]);
            a30 = x.fma(q0, a30);
            a31 = x.fma(q1, a31);
            x = FloatVector.broadcast(S, k[kc + 4]);
            a40 = x.fma(q0, a40);
            a41 = x.fma(q1, a41);
            x = FloatVector.broadcast(S, k[kc + 5]);
            a50 = x.fma(q0, a50);
            a51 = x.fma(q1, a51);
            x = FloatVector.broadcast(S, k[kc + 6]);
            a60 = x.fma(q0, a60);
            a61 = x.fma(q1, a61);
            x = FloatVector.broadcast(S, k[kc + 7]);
            a70 = x.fma(q0, a70);
            a71 = x.fma(q1, a71);
        }
        // written out: vectors passed to a helper that C2 does not inline would be boxed
        int o = r * QUERY_BLOCK;
        a00.mul(scale).intoArray(p, o);
        a01.mul(scale).intoArray(p, o + L);
        a10.mul(scale).intoArray(p, o + QUERY_BLOCK);
        a11.mul(scale).intoArray(p, o + QUERY_BLOCK + L);
        a20.mul(scale).intoArray(p, o + 2 * QUERY_BLOCK);
        a21.mul(scale).intoArray(p, o + 2 * QUERY_BLOCK + L);
        a30.mul(scale).intoArray(p, o + 3 * QUERY_BLOCK);
        a31.mul(scale).intoArray(p, o + 3 * QUERY_BLOCK + L);
        a40.mul(scale).intoArray(p, o + 4 * QUERY_BLOCK);
        a41.mul(scale).intoArray(p, o + 4 * QUERY_BLOCK + L);
        a50.mul(scale).intoArray(p, o + 5 * QUERY_BLOCK);
        a51.mul(scale).intoArray(p, o + 5 * QUERY_BLOCK + L);
        a60.mul(scale).intoArray(p, o + 6 * QUERY_BLOCK);
        a61.mul(scale).intoArray(p, o + 6 * QUERY_BLOCK + L);
        a70.mul(scale).intoArray(p, o + 7 * QUERY_BLOCK);
        a71.mul(scale).intoArray(p, o + 7 * QUERY_BLOCK + L);
    }

    /**
     * Channels c0..c0+7 of the block's outputs (out[oo + c*ldo ...], channel-major), vectors of queries: over the
     * union's keys r0..r1-1 (ring slots from s0 + r), value of key r and channel c times the weights' row r, each lane
     * the FMA chain over keys of {@link #softmaxValues} (the weights of other keys are 0 and add exactly 0), times
     * inv (1 / its sum; 0 for queries without keys, whose chains are +0); lanes past the block's n queries not written.
     * (No masks as parameters: a mask passed to a method C2 does not inline is boxed, and its operations then run as
     * Java code that allocates.)
     */
    private static void values8(float[] p, int r0, int r1, float[] v, int vo, int s0, int cap, int hd, float[] out, int oo, int ldo,
                                FloatVector inv0, FloatVector inv1, int n) {
        FloatVector z = FloatVector.zero(S);
        FloatVector a00 = z, a01 = z, a10 = z, a11 = z, a20 = z, a21 = z, a30 = z, a31 = z;
        FloatVector a40 = z, a41 = z, a50 = z, a51 = z, a60 = z, a61 = z, a70 = z, a71 = z;
        int row = (s0 + r0) % cap;
        for (int r = r0; r < r1; r++) {
            int vr = vo + row * hd, o = r * QUERY_BLOCK;
            row = nextRow(row, cap);
            FloatVector w0 = FloatVector.fromArray(S, p, o), w1 = FloatVector.fromArray(S, p, o + L);
            FloatVector x = FloatVector.broadcast(S, v[vr]);
            a00 = w0.fma(x, a00);
            a01 = w1.fma(x, a01);
            x = FloatVector.broadcast(S, v[vr + 1]);
            a10 = w0.fma(x, a10);
            a11 = w1.fma(x, a11);
            x = FloatVector.broadcast(S, v[vr + 2]);
            a20 = w0.fma(x, a20);
            a21 = w1.fma(x, a21);
            x = FloatVector.broadcast(S, v[vr + 3]);
            a30 = w0.fma(x, a30);
            a31 = w1.fma(x, a31);
            x = FloatVector.broadcast(S, v[vr + 4]);
            a40 = w0.fma(x, a40);
            a41 = w1.fma(x, a41);
            x = FloatVector.broadcast(S, v[vr + 5]);
            a50 = w0.fma(x, a50);
            a51 = w1.fma(x, a51);
            x = FloatVector.broadcast(S, v[vr + 6]);
            a60 = w0.fma(x, a60);
            a61 = w1.fma(x, a61);
            x = FloatVector.broadcast(S, v[vr + 7]);
            a70 = w0.fma(x, a70);
            a71 = w1.fma(x, a71);
        }
        VectorMask<Float> st0 = S.indexInRange(0, n), st1 = S.indexInRange(L, n);
        a00.mul(inv0).intoArray(out, oo, st0);
        a01.mul(inv1).intoArray(out, oo + L, st1);
        a10.mul(inv0).intoArray(out, oo + ldo, st0);
        a11.mul(inv1).intoArray(out, oo + ldo + L, st1);
        a20.mul(inv0).intoArray(out, oo + 2 * ldo, st0);
        a21.mul(inv1).intoArray(out, oo + 2 * ldo + L, st1);
        a30.mul(inv0).intoArray(out, oo + 3 * ldo, st0);
        a31.mul(inv1).intoArray(out, oo + 3 * ldo + L, st1);
        a40.mul(inv0).intoArray(out, oo + 4 * ldo, st0);
        a41.mul(inv1).intoArray(out, oo + 4 * ldo + L, st1);
        a50.mul(inv0).intoArray(out, oo + 5 * ldo, st0);
        a51.mul(inv1).intoArray(out, oo + 5 * ldo + L, st1);
        a60.mul(inv0).intoArray(out, oo + 6 * ldo, st0);
        a61.mul(inv1).intoArray(out, oo + 6 * ldo + L, st1);
        a70.mul(inv0).intoArray(out, oo + 7 * ldo, st0);
        a71.mul(inv1).intoArray(out, oo + 7 * ldo + L, st1);
    }

    /**
     * Queries i..i+m-1 (2 <= m <= GROUP, a streaming step brings 2) as one group of the kernels: slot g holds query
     * i + min(g, m - 1), so with fewer queries the last one fills the group (its repeats write the same output).
     */
    private static void group(float[] q, float[] out, int d, int[] lo, int[] hi, int i, int m, int ulo,
                              float[] k, float[] v, int vo, int ho, int start, int cap, int hd, float scale, float[] p, int ldp) {
        int i1 = i + Math.min(1, m - 1), i2 = i + Math.min(2, m - 1), i3 = i + Math.min(3, m - 1);
        int r0 = i * d + ho, r1 = i1 * d + ho, r2 = i2 * d + ho, r3 = i3 * d + ho; // the slots' rows of q and out
        int uhi = Math.max(Math.max(hi[i], hi[i1]), Math.max(hi[i2], hi[i3]));
        int un = uhi - ulo + 1, first = (int) (((long) start + ulo) % cap), a = first % KEY_BLOCK;
        scoresGroup(q, r0, r1, r2, r3, d, k, ho, first - a, cap, hd, a + un, scale, p, ldp);
        if (hd % (4 * L) == 0) {
            float inv0 = softmaxInUnion(p, a, ulo, lo[i], hi[i], un);
            float inv1 = softmaxInUnion(p, ldp + a, ulo, lo[i1], hi[i1], un);
            float inv2 = softmaxInUnion(p, 2 * ldp + a, ulo, lo[i2], hi[i2], un);
            float inv3 = softmaxInUnion(p, 3 * ldp + a, ulo, lo[i3], hi[i3], un);
            for (int c0 = 0; c0 < hd; c0 += 4 * L) { // 4L channels at a time (all 64 of a head with AVX-512)
                valuesGroup(p, a, ldp, un, v, vo + c0, hd, first, cap, out, r0 + c0, r1 + c0, r2 + c0, r3 + c0, inv0, inv1, inv2, inv3);
            }
        } else {
            for (int g = 0; g < m; g++) {
                softmaxValues(p, g * ldp + a + lo[i + g] - ulo, v, vo, hd, lo[i + g], hi[i + g], start, cap, out, (i + g) * d + ho);
            }
        }
    }

    private static final int GROUP = 4; // queries whose scores are computed together (each key vector loaded once)

    /**
     * The first key of the union of queries i..i+m-1 when they can share one pass over the keys: at least 2, each
     * with keys, and the union at most L keys wider than any of them; else -1.
     */
    private static int union(int[] lo, int[] hi, int i, int m) {
        if (m < 2) return -1;
        int ulo = Integer.MAX_VALUE, uhi = -1, minN = Integer.MAX_VALUE;
        for (int g = 0; g < m; g++) {
            if (hi[i + g] < lo[i + g]) return -1;
            ulo = Math.min(ulo, lo[i + g]);
            uhi = Math.max(uhi, hi[i + g]);
            minN = Math.min(minN, hi[i + g] - lo[i + g] + 1);
        }
        return uhi - ulo + 1 <= minN + L ? ulo : -1;
    }

    /**
     * Where vector w (keys w*L .. w*L+L-1 from ring slot s0, s0 a block's first slot) of the key ring holds channel
     * ho; channel ho+c is KEY_BLOCK floats further.
     */
    private static int keyVector(int s0, int w, int cap, int d, int ho) {
        int slot = (s0 + w * L) % cap;
        return keyIndex(slot, ho, d);
    }

    /**
     * Scaled scores of one query over n keys from ring slot s0 (a block's first slot), L per vector, two vectors at a
     * time for two FMA chains, into p[0..n); lanes past n are garbage. Each lane is one key's FMA chain over c from
     * zero, as in {@link #scoresGroup}.
     */
    private static void scores(float[] q, int qo, float[] k, int d, int ho, int s0, int cap, int hd, int n, float scale, float[] p) {
        int nv = (n + L - 1) / L, w = 0;
        for (; w + 1 < nv; w += 2) {
            FloatVector a0 = FloatVector.zero(S), a1 = FloatVector.zero(S);
            int b0 = keyVector(s0, w, cap, d, ho), b1 = keyVector(s0, w + 1, cap, d, ho);
            for (int c = 0; c < hd; c++) {
                FloatVector qc = FloatVector.broadcast(S, q[qo + c]);
                a0 = qc.fma(FloatVector.fromArray(S, k, b0 + c * KEY_BLOCK), a0);
                a1 = qc.fma(FloatVector.fromArray(S, k, b1 + c * KEY_BLOCK), a1);
            }
            a0.mul(scale).intoArray(p, w * L);
            a1.mul(scale).intoArray(p, w * L + L);
        }
        if (w < nv) { // an odd last vector alone (a streaming step's window: about every other step)
            FloatVector a0 = FloatVector.zero(S);
            int b0 = keyVector(s0, w, cap, d, ho);
            for (int c = 0; c < hd; c++) a0 = FloatVector.broadcast(S, q[qo + c]).fma(FloatVector.fromArray(S, k, b0 + c * KEY_BLOCK), a0);
            a0.mul(scale).intoArray(p, w * L);
        }
    }

    /** Scores of GROUP (4) queries (rows q0..q3 of q) over the same n keys into rows of p (stride ldp). */
    private static void scoresGroup(float[] q, int q0, int q1, int q2, int q3, int d, float[] k, int ho, int s0, int cap, int hd, int n, float scale, float[] p, int ldp) {
        int nv = (n + L - 1) / L;
        for (int w = 0; w < nv; w += 2) {
            FloatVector a00 = FloatVector.zero(S), a01 = FloatVector.zero(S), a10 = FloatVector.zero(S), a11 = FloatVector.zero(S);
            FloatVector a20 = FloatVector.zero(S), a21 = FloatVector.zero(S), a30 = FloatVector.zero(S), a31 = FloatVector.zero(S);
            int b0 = keyVector(s0, w, cap, d, ho), b1 = keyVector(s0, Math.min(w + 1, nv - 1), cap, d, ho);
            for (int c = 0; c < hd; c++) {
                FloatVector k0 = FloatVector.fromArray(S, k, b0 + c * KEY_BLOCK), k1 = FloatVector.fromArray(S, k, b1 + c * KEY_BLOCK);
                FloatVector x = FloatVector.broadcast(S, q[q0 + c]);
                a00 = x.fma(k0, a00);
                a01 = x.fma(k1, a01);
                x = FloatVector.broadcast(S, q[q1 + c]);
                a10 = x.fma(k0, a10);
                a11 = x.fma(k1, a11);
                x = FloatVector.broadcast(S, q[q2 + c]);
                a20 = x.fma(k0, a20);
                a21 = x.fma(k1, a21);
                x = FloatVector.broadcast(S, q[q3 + c]);
                a30 = x.fma(k0, a30);
                a31 = x.fma(k1, a31);
            }
            int j = w * L;
            a00.mul(scale).intoArray(p, j);
            a01.mul(scale).intoArray(p, j + L);
            a10.mul(scale).intoArray(p, ldp + j);
            a11.mul(scale).intoArray(p, ldp + j + L);
            a20.mul(scale).intoArray(p, 2 * ldp + j);
            a21.mul(scale).intoArray(p, 2 * ldp + j + L);
            a30.mul(scale).intoArray(p, 3 * ldp + j);
            a31.mul(scale).intoArray(p, 3 * ldp + j + L);
        }
    }

    /**
     * Scores p[po..po+n) to e^(s - max) in place; returns 1 / their sum, summed in key order (as {@link #attendBlocked}
     * does, so both give the same bits, at every vector width); p[po+n .. po+n+2L) is overwritten.
     */
    private static float softmax(float[] p, int po, int n) {
        // the max by compare and blend: lanewise MAX ran as plain Java here (not intrinsified)
        FloatVector mv = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
        int i = 0;
        for (; i < n; i += L) {
            FloatVector x = FloatVector.fromArray(S, p, po + i);
            mv = mv.blend(x, mv.compare(VectorOperators.LT, x).and(S.indexInRange(i, n)));
        }
        int end = (n + L - 1) / L * L; // lanes reduced through p past the scores, as the sum below
        mv.intoArray(p, po + end);
        float max = p[po + end];
        for (int l = 1; l < L; l++) max = Math.max(max, p[po + end + l]);
        VectorMath.exp(p, po, end, max);
        if (n < end) { // the last vector's lanes past n (scores of no key) weigh 0
            FloatVector.zero(S).blend(FloatVector.fromArray(S, p, po + end - L), S.indexInRange(end - L, n)).intoArray(p, po + end - L);
        }
        float sum = 0f; // in key order, as attendBlocked sums each query's lane: the same bits whatever the width
        for (i = 0; i < n; i++) sum += p[po + i];
        return 1f / sum;
    }

    /**
     * A query of a group whose scores cover the union of the group's keys (row p[row..row+un), first key ulo):
     * softmax over its own keys lo..hi as {@link #softmax}, zero weight for the union's other keys; returns 1 / sum.
     */
    private static float softmaxInUnion(float[] p, int row, int ulo, int lo, int hi, int un) {
        int a = lo - ulo, n = hi - lo + 1;
        float inv = softmax(p, row + a, n);
        java.util.Arrays.fill(p, row, row + a, 0f);
        java.util.Arrays.fill(p, row + a + n, row + un, 0f);
        return inv;
    }

    /**
     * The weighted sums of value rows (v[vo + row*hd ...], rows of a ring of capacity rows) for a group of 4 queries (out
     * rows q0..q3), 4L channels, over the union's un keys at once: each value vector is loaded once for the 4. A
     * query's keys outside its own range have weight 0, which adds exactly 0 to its sums, so each query's sum is the FMA
     * chain of {@link #softmaxValues} over its own keys.
     */
    private static void valuesGroup(float[] p, int po, int ldp, int un, float[] v, int vo0, int hd, int row, int capacity, float[] out, int q0, int q1, int q2, int q3,
                                    float inv0, float inv1, float inv2, float inv3) {
        FloatVector o00 = FloatVector.zero(S), o01 = o00, o02 = o00, o03 = o00, o10 = o00, o11 = o00, o12 = o00, o13 = o00;
        FloatVector o20 = o00, o21 = o00, o22 = o00, o23 = o00, o30 = o00, o31 = o00, o32 = o00, o33 = o00;
        for (int j = 0; j < un; j++) {
            int vo = vo0 + row * hd;
            row = nextRow(row, capacity);
            FloatVector v0 = FloatVector.fromArray(S, v, vo), v1 = FloatVector.fromArray(S, v, vo + L);
            FloatVector v2 = FloatVector.fromArray(S, v, vo + 2 * L), v3 = FloatVector.fromArray(S, v, vo + 3 * L);
            FloatVector w = FloatVector.broadcast(S, p[po + j]);
            o00 = w.fma(v0, o00); o01 = w.fma(v1, o01); o02 = w.fma(v2, o02); o03 = w.fma(v3, o03);
            w = FloatVector.broadcast(S, p[po + ldp + j]);
            o10 = w.fma(v0, o10); o11 = w.fma(v1, o11); o12 = w.fma(v2, o12); o13 = w.fma(v3, o13);
            w = FloatVector.broadcast(S, p[po + 2 * ldp + j]);
            o20 = w.fma(v0, o20); o21 = w.fma(v1, o21); o22 = w.fma(v2, o22); o23 = w.fma(v3, o23);
            w = FloatVector.broadcast(S, p[po + 3 * ldp + j]);
            o30 = w.fma(v0, o30); o31 = w.fma(v1, o31); o32 = w.fma(v2, o32); o33 = w.fma(v3, o33);
        }
        // written out: vectors passed to a helper that C2 does not inline would be boxed
        o00.mul(inv0).intoArray(out, q0);
        o01.mul(inv0).intoArray(out, q0 + L);
        o02.mul(inv0).intoArray(out, q0 + 2 * L);
        o03.mul(inv0).intoArray(out, q0 + 3 * L);
        o10.mul(inv1).intoArray(out, q1);
        o11.mul(inv1).intoArray(out, q1 + L);
        o12.mul(inv1).intoArray(out, q1 + 2 * L);
        o13.mul(inv1).intoArray(out, q1 + 3 * L);
        o20.mul(inv2).intoArray(out, q2);
        o21.mul(inv2).intoArray(out, q2 + L);
        o22.mul(inv2).intoArray(out, q2 + 2 * L);
        o23.mul(inv2).intoArray(out, q2 + 3 * L);
        o30.mul(inv3).intoArray(out, q3);
        o31.mul(inv3).intoArray(out, q3 + L);
        o32.mul(inv3).intoArray(out, q3 + 2 * L);
        o33.mul(inv3).intoArray(out, q3 + 3 * L);
    }

    /**
     * One query of one head, given its scores over keys lo..hi at p[po..]: softmax, then the weighted sum of the
     * head's value rows (v[vo0 + row*hd ...], a ring of capacity rows), into out[qo..qo+hd) (zeros when the query has
     * no key).
     */
    private static void softmaxValues(float[] p, int po, float[] v, int vo0, int hd, int lo, int hi, int row0, int capacity,
                                      float[] out, int qo) {
        if (hi < lo) {
            java.util.Arrays.fill(out, qo, qo + hd, 0f);
            return;
        }
        int n = hi - lo + 1;
        float inv = softmax(p, po, n);
        // weighted sum of value rows, 4 vectors of channels in registers at a time
        int first = (int) (((long) row0 + lo) % capacity); // value rows of keys lo.. in the ring
        if (hd % (4 * L) == 0) {
            for (int c0 = 0; c0 < hd; c0 += 4 * L) { // 4L channels at a time (all 64 of a head with AVX-512)
                FloatVector o0 = FloatVector.zero(S), o1 = o0, o2 = o0, o3 = o0;
                int row = first;
                for (int jj = 0; jj < n; jj++) {
                    FloatVector w = FloatVector.broadcast(S, p[po + jj]);
                    int vo = vo0 + row * hd + c0;
                    row = nextRow(row, capacity);
                    o0 = w.fma(FloatVector.fromArray(S, v, vo), o0);
                    o1 = w.fma(FloatVector.fromArray(S, v, vo + L), o1);
                    o2 = w.fma(FloatVector.fromArray(S, v, vo + 2 * L), o2);
                    o3 = w.fma(FloatVector.fromArray(S, v, vo + 3 * L), o3);
                }
                o0.mul(inv).intoArray(out, qo + c0);
                o1.mul(inv).intoArray(out, qo + c0 + L);
                o2.mul(inv).intoArray(out, qo + c0 + 2 * L);
                o3.mul(inv).intoArray(out, qo + c0 + 3 * L);
            }
        } else {
            int row = first;
            float[] acc = new float[hd];
            for (int jj = 0; jj < n; jj++) {
                axpy(p[po + jj], v, vo0 + row * hd, acc, hd);
                row = nextRow(row, capacity);
            }
            for (int c = 0; c < hd; c++) out[qo + c] = acc[c] * inv;
        }
    }

    /**
     * The ring row after {@code row} (0 after {@code capacity - 1}), without a branch. As {@code if (++row == capacity)
     * row = 0} the wrap was a branch that no warm-up shorter than the context (250 steps, 10 s) ever takes, so C2
     * compiled it as a trap: the first wrap (10 s into an encode or a stream) deoptimized the attention kernel back to
     * the interpreter, where every vector is a heap object, until it was compiled again (-Xlog:deoptimization showed
     * "unstable_if" in valuesGroup; that first 60 s encode allocated 750 MB instead of 177).
     */
    private static int nextRow(int row, int capacity) {
        row++;
        return row - (capacity & ((capacity - 1 - row) >> 31));
    }

    /** The plain version, for head sizes that are not a multiple of the vector length. */
    static void attendScalar(float[] q, int nq, float[] k, float[] v, int start, int cap, int heads, int hd,
                             int[] lo, int[] hi, float[] out) {
        int d = heads * hd;
        float scale = (float) (1.0 / Math.sqrt(hd));
        int maxKeys = 0;
        for (int i = 0; i < nq; i++) maxKeys = Math.max(maxKeys, hi[i] - lo[i] + 1);
        int mk = maxKeys;
        Parallel.forEach(heads, h -> {
            float[] p = new float[Math.max(1, mk)];
            float[] acc = new float[hd];
            int ho = h * hd;
            for (int i = 0; i < nq; i++) {
                int qo = i * d + ho;
                int n = hi[i] - lo[i] + 1;
                float max = Float.NEGATIVE_INFINITY;
                for (int j = 0; j < n; j++) {
                    int slot = (int) ((start + (long) lo[i] + j) % cap);
                    float s = 0f;
                    for (int c = 0; c < hd; c++) s += q[qo + c] * k[keyIndex(slot, ho + c, d)];
                    s *= scale;
                    p[j] = s;
                    if (s > max) max = s;
                }
                double sum = 0;
                for (int j = 0; j < n; j++) {
                    float e = (float) Math.exp(p[j] - max);
                    p[j] = e;
                    sum += e;
                }
                float inv = (float) (1.0 / sum);
                java.util.Arrays.fill(acc, 0f);
                for (int j = 0; j < n; j++) axpy(p[j] * inv, v, valueIndex((int) ((start + (long) lo[i] + j) % cap), h, cap, hd), acc, hd);
                System.arraycopy(acc, 0, out, qo, hd);
            }
        });
    }

    static void axpy(float w, float[] x, int xo, float[] y, int n) {
        int i = 0;
        if (n >= S.length()) {
            FloatVector wv = FloatVector.broadcast(S, w);
            for (; i + S.length() <= n; i += S.length()) {
                wv.fma(FloatVector.fromArray(S, x, xo + i), FloatVector.fromArray(S, y, i)).intoArray(y, i);
            }
        }
        for (; i < n; i++) y[i] += w * x[xo + i];
    }
}
