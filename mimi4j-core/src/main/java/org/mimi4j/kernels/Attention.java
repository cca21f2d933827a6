package org.mimi4j.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Multi-head scaled dot-product attention: q [NQ][H*hd] time-major, keys channel-major (so scores go 16 keys per
 * vector without a transpose per call), values time-major, out [NQ][H*hd]. Query i attends keys lo[i]..hi[i]
 * (inclusive), which is how causal, sliding-window and ring-cache masks reach it.
 */
public final class Attention {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_512;

    private Attention() {
    }

    /** Row length of channel-major keys holding n keys: the vector loops read up to two vectors past the last key. */
    public static int keyRowLength(int n) {
        return n + 2 * L;
    }

    /** Keys and values both time-major [NK][H*hd] (the keys are transposed here, once for all queries). */
    public static void attend(float[] q, int nq, float[] k, float[] v, int heads, int hd, int[] lo, int[] hi, float[] out) {
        int d = heads * hd, nk = 0;
        for (int h : hi) nk = Math.max(nk, h + 1);
        int ldk = keyRowLength(nk);
        float[] kT = new float[d * ldk];
        for (int j = 0; j < nk; j++) for (int c = 0; c < d; c++) kT[c * ldk + j] = k[j * d + c];
        attend(q, nq, kT, ldk, 0, v, 0, Integer.MAX_VALUE, heads, hd, lo, hi, out);
    }

    /**
     * The kernel. Key j (counted from the first key a query may see) of channel c is {@code kT[c*ldk + kStart + j]},
     * rows of at least {@code kStart +} keys {@code +} 2 vectors ({@link #keyRowLength}); value j is row
     * {@code (vStart + j) % vCap} of v, so a ring cache is attended in place.
     */
    public static void attend(float[] q, int nq, float[] kT, int ldk, int kStart, float[] v, int vStart, int vCap, int heads, int hd,
                              int[] lo, int[] hi, float[] out) {
        int d = heads * hd;
        if (hd % L != 0 || hd > 4 * L) {
            attendScalar(q, nq, kT, ldk, kStart, v, vStart, vCap, heads, hd, lo, hi, out);
            return;
        }
        float scale = (float) (1.0 / Math.sqrt(hd));
        int keys = 0;
        for (int i = 0; i < nq; i++) keys = Math.max(keys, hi[i] - lo[i] + 1);
        int ldp = keyRowLength(keys);
        int qBlocks = Math.max(1, Math.min((nq + 15) / 16, 4 * Parallel.threads() / Math.max(1, heads) + 1));
        Parallel.forEach(heads * qBlocks, task -> {
            int h = task / qBlocks, qb = task % qBlocks;
            int i0 = nq * qb / qBlocks, i1 = nq * (qb + 1) / qBlocks;
            int ho = h * hd;
            float[] p = Scratch.floats(Scratch.ATTENTION_SCORES, ldp);
            for (int i = i0; i < i1; i++) {
                attendOne(q, i * d + ho, kT, ldk, ho * ldk + kStart, v, d, ho, hd, lo[i], hi[i], vStart, vCap, scale, p, out);
            }
        });
    }

    private static final int L = S.length();

    /** One query of one head: scores over keys lo..hi (head's key rows from kt[kOff]), softmax, weighted values. */
    private static void attendOne(float[] q, int qo, float[] kt, int ldt, int kOff, float[] v, int d, int ho, int hd, int lo, int hi, int row0,
                                  int capacity, float scale, float[] p, float[] out) {
        if (hi < lo) {
            java.util.Arrays.fill(out, qo, qo + hd, 0f);
            return;
        }
        int n = hi - lo + 1;
        // scores, 16 keys per vector (two blocks at a time for two FMA chains); lanes past hi are garbage, ignored
        int j = 0;
        for (; j + 2 * L <= n + L - 1; j += 2 * L) {
            FloatVector a0 = FloatVector.zero(S), a1 = FloatVector.zero(S);
            int base = kOff + lo + j;
            for (int c = 0; c < hd; c++) {
                FloatVector qc = FloatVector.broadcast(S, q[qo + c]);
                a0 = qc.fma(FloatVector.fromArray(S, kt, c * ldt + base), a0);
                a1 = qc.fma(FloatVector.fromArray(S, kt, c * ldt + base + L), a1);
            }
            a0.mul(scale).intoArray(p, j);
            a1.mul(scale).intoArray(p, j + L);
        }
        for (; j < n; j += L) {
            FloatVector a0 = FloatVector.zero(S);
            int base = kOff + lo + j;
            for (int c = 0; c < hd; c++) a0 = FloatVector.broadcast(S, q[qo + c]).fma(FloatVector.fromArray(S, kt, c * ldt + base), a0);
            a0.mul(scale).intoArray(p, j);
        }
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) max = Math.max(max, p[i]);
        FloatVector mv = FloatVector.broadcast(S, max);
        int i = 0;
        FloatVector sv = FloatVector.zero(S);
        for (; i < n; i += L) { // the last vector's lanes past n (scores of no key) count as 0
            FloatVector e = VectorMath.exp(FloatVector.fromArray(S, p, i).sub(mv));
            if (i + L > n) e = FloatVector.zero(S).blend(e, S.indexInRange(i, n));
            e.intoArray(p, i);
            sv = sv.add(e);
        }
        // lanes summed in a fixed order: reduceLanes may order them differently before and after JIT compilation
        sv.intoArray(p, i);
        float sum = 0f;
        for (int l = 0; l < L; l++) sum += p[i + l];
        float inv = 1f / sum;
        // weighted sum of value rows (time-major), up to 4 vectors of head_dim in registers
        FloatVector o0 = FloatVector.zero(S), o1 = FloatVector.zero(S), o2 = FloatVector.zero(S), o3 = FloatVector.zero(S);
        int row = (int) (((long) row0 + lo) % capacity); // value rows of keys lo.. in the ring
        if (hd == 4 * L) {
            for (int jj = 0; jj < n; jj++) {
                FloatVector w = FloatVector.broadcast(S, p[jj]);
                int vo = row * d + ho;
                if (++row == capacity) row = 0;
                o0 = w.fma(FloatVector.fromArray(S, v, vo), o0);
                o1 = w.fma(FloatVector.fromArray(S, v, vo + L), o1);
                o2 = w.fma(FloatVector.fromArray(S, v, vo + 2 * L), o2);
                o3 = w.fma(FloatVector.fromArray(S, v, vo + 3 * L), o3);
            }
            o0.mul(inv).intoArray(out, qo);
            o1.mul(inv).intoArray(out, qo + L);
            o2.mul(inv).intoArray(out, qo + 2 * L);
            o3.mul(inv).intoArray(out, qo + 3 * L);
        } else {
            float[] acc = new float[hd];
            for (int jj = 0; jj < n; jj++) {
                axpy(p[jj], v, row * d + ho, acc, hd);
                if (++row == capacity) row = 0;
            }
            for (int c = 0; c < hd; c++) out[qo + c] = acc[c] * inv;
        }
    }

    /** The plain version, for head sizes that are not a multiple of the vector length. */
    static void attendScalar(float[] q, int nq, float[] kT, int ldk, int kStart, float[] v, int vStart, int vCap, int heads, int hd,
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
                    int col = kStart + lo[i] + j;
                    float s = 0f;
                    for (int c = 0; c < hd; c++) s += q[qo + c] * kT[(ho + c) * ldk + col];
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
                for (int j = 0; j < n; j++) axpy(p[j] * inv, v, (int) ((vStart + (long) lo[i] + j) % vCap) * d + ho, acc, hd);
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
