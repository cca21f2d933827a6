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
                    float s = dot(q, qo, k, (lo[i] + j) * d + ho, hd) * scale;
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
                for (int j = 0; j < n; j++) axpy(p[j] * inv, v, (lo[i] + j) * d + ho, acc, hd);
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
