package org.mimi4j.kernels;

import jdk.incubator.vector.FloatVector;
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
     * Scores p[po..po+n) to e^(s - max) in place; returns 1 / their sum. Lanes are summed in a fixed order
     * (reduceLanes may order them differently before and after JIT compilation); p[po+n .. po+n+2L) is overwritten.
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
        FloatVector sv = FloatVector.zero(S);
        for (i = 0; i < n; i += L) { // the last vector's lanes past n (scores of no key) count as 0
            FloatVector e = FloatVector.fromArray(S, p, po + i);
            if (i + L > n) {
                e = FloatVector.zero(S).blend(e, S.indexInRange(i, n));
                e.intoArray(p, po + i);
            }
            sv = sv.add(e);
        }
        sv.intoArray(p, po + i);
        float sum = 0f;
        for (int l = 0; l < L; l++) sum += p[po + i + l];
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
