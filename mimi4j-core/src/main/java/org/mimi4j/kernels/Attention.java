package org.mimi4j.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Multi-head scaled dot-product attention over time-major rows: q [NQ][H*hd], k and v [NK][H*hd], out [NQ][H*hd].
 * Query i attends keys lo[i]..hi[i] (inclusive), which is how causal, sliding-window and ring-cache masks reach it.
 */
public final class Attention {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_512;

    private Attention() {
    }

    public static void attend(float[] q, int nq, float[] k, float[] v, int heads, int hd, int[] lo, int[] hi, float[] out) {
        attend(q, nq, k, v, 0, Integer.MAX_VALUE, heads, hd, lo, hi, out);
    }

    /**
     * As {@link #attend(float[], int, float[], float[], int, int, int[], int[], float[])} with k and v rings: key j
     * is row {@code (start + j) % capacity}, so a key/value cache is attended in place, without copying.
     */
    public static void attend(float[] q, int nq, float[] k, float[] v, int start, int capacity, int heads, int hd, int[] lo, int[] hi, float[] out) {
        int d = heads * hd;
        if (hd % L != 0 || hd > 4 * L) {
            attendScalar(q, nq, k, v, start, capacity, heads, hd, lo, hi, out);
            return;
        }
        float scale = (float) (1.0 / Math.sqrt(hd));
        int k0 = Integer.MAX_VALUE, k1 = -1;
        for (int i = 0; i < nq; i++) {
            if (hi[i] < lo[i]) continue;
            k0 = Math.min(k0, lo[i]);
            k1 = Math.max(k1, hi[i]);
        }
        if (k1 < 0) return;
        int keys = k1 - k0 + 1, ldt = (keys + L - 1) / L * L + L;
        int qBlocks = Math.max(1, Math.min((nq + 15) / 16, 4 * Parallel.threads() / Math.max(1, heads) + 1));
        int fk0 = k0;
        Parallel.forEach(heads * qBlocks, task -> {
            int h = task / qBlocks, qb = task % qBlocks;
            int i0 = nq * qb / qBlocks, i1 = nq * (qb + 1) / qBlocks;
            int ho = h * hd;
            // this head's keys transposed, kt[c][j - k0], so scores go 16 keys per vector
            float[] kt = new float[hd * ldt];
            for (int j = 0; j < keys; j++) {
                int src = (int) ((start + (long) fk0 + j) % capacity) * d + ho;
                for (int c = 0; c < hd; c++) kt[c * ldt + j] = k[src + c];
            }
            float[] p = new float[ldt];
            for (int i = i0; i < i1; i++) {
                attendOne(q, i * d + ho, kt, ldt, v, d, ho, hd, lo[i] - fk0, hi[i] - fk0, (int) ((start + (long) fk0) % capacity), capacity, scale, p, out);
            }
        });
    }

    private static final int L = S.length();

    /** One query of one head: scores over keys lo..hi (relative to the transposed block), softmax, weighted values. */
    private static void attendOne(float[] q, int qo, float[] kt, int ldt, float[] v, int d, int ho, int hd, int lo, int hi, int row0,
                                  int capacity, float scale, float[] p, float[] out) {
        if (hi < lo) {
            java.util.Arrays.fill(out, qo, qo + hd, 0f);
            return;
        }
        int n = hi - lo + 1;
        // scores, 16 keys per vector (two blocks at a time for two FMA chains); lanes past hi are garbage, ignored
        int j = 0;
        for (; j + 2 * L <= n + L - 1 && j + 2 * L <= ldt - lo; j += 2 * L) {
            FloatVector a0 = FloatVector.zero(S), a1 = FloatVector.zero(S);
            int base = lo + j;
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
            int base = lo + j;
            for (int c = 0; c < hd; c++) a0 = FloatVector.broadcast(S, q[qo + c]).fma(FloatVector.fromArray(S, kt, c * ldt + base), a0);
            a0.mul(scale).intoArray(p, j);
        }
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) max = Math.max(max, p[i]);
        FloatVector mv = FloatVector.broadcast(S, max);
        int i = 0;
        FloatVector sv = FloatVector.zero(S);
        for (; i + L <= n; i += L) {
            FloatVector e = VectorMath.exp(FloatVector.fromArray(S, p, i).sub(mv));
            e.intoArray(p, i);
            sv = sv.add(e);
        }
        float sum = sv.reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            float e = (float) Math.exp(p[i] - max);
            p[i] = e;
            sum += e;
        }
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
    static void attendScalar(float[] q, int nq, float[] k, float[] v, int start, int capacity, int heads, int hd, int[] lo, int[] hi, float[] out) {
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
                    float s = dot(q, qo, k, (int) ((start + (long) lo[i] + j) % capacity) * d + ho, hd) * scale;
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
                for (int j = 0; j < n; j++) axpy(p[j] * inv, v, (int) ((start + (long) lo[i] + j) % capacity) * d + ho, acc, hd);
                System.arraycopy(acc, 0, out, qo, hd);
            }
        });
    }

    static float dot(float[] a, int ao, float[] b, int bo, int n) {
        int i = 0;
        float s = 0f;
        if (n >= S.length()) {
            FloatVector acc = FloatVector.zero(S);
            for (; i + S.length() <= n; i += S.length()) {
                acc = FloatVector.fromArray(S, a, ao + i).fma(FloatVector.fromArray(S, b, bo + i), acc);
            }
            s = acc.reduceLanes(VectorOperators.ADD);
        }
        for (; i < n; i++) s += a[ao + i] * b[bo + i];
        return s;
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
