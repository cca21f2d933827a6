package org.mimi4j.kernels;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/** LayerNorm over the channel axis of a channel-major [D][T] activation (torch.nn.LayerNorm(D), biased variance). */
public final class LayerNorm {
    /** Up to this many steps (a streaming call has 2), {@link #fewSteps}; else steps as the lanes of vectors. */
    private static final int FEW_STEPS = 4;

    private LayerNorm() {
    }

    /** out[d][t] = (x[d][t] - mean_t) / sqrt(var_t + eps) * w[d] + b[d]. */
    public static void forward(float[] x, float[] out, int d, int t, float[] w, float[] b, float eps) {
        if (t <= FEW_STEPS) {
            fewSteps(x, out, d, t, w, b, eps);
            return;
        }
        // ranges of steps (whole vectors) on the compute threads; the last one also takes the steps past them
        int vectors = t / DL, parts = Math.max(1, Math.min(Parallel.available(), vectors / 4));
        Parallel.forEach(parts, p -> steps(x, out, d, t, vectors * p / parts * DL, p == parts - 1 ? t : vectors * (p + 1) / parts * DL, w, b, eps));
    }

    /** Double lanes per vector (as many as {@link Simd#S} has bits for), and floats of as many lanes. */
    private static final VectorSpecies<Double> D = VectorSpecies.of(double.class, VectorShape.forBitSize(Simd.S.vectorBitSize()));
    private static final int DL = D.length();
    private static final VectorSpecies<Float> F = VectorSpecies.of(float.class, VectorShape.forBitSize(Simd.S.vectorBitSize() / 2));

    /**
     * Steps i0..i1-1: each step's mean, then biased variance, summed over c ascending in double (no fused multiply-add),
     * then the float affine: the same operations in the same order for every step, DL steps per vector (each row read
     * front to back; the sums of a range in L1) or one by one past the last whole vector, so the bits do not depend
     * on where a step falls. Vectors along time took a 512 x 288 norm from 234-245 to 57-72 us on one thread.
     */
    private static void steps(float[] x, float[] out, int d, int t, int i0, int i1, float[] w, float[] b, float eps) {
        int n = i1 - i0, vEnd = i0 + n / DL * DL;
        double[] sums = Scratch.doubles(Scratch.NORM_SUMS, 2 * n); // mean at [j], variance at [n + j], step i0 + j
        java.util.Arrays.fill(sums, 0, 2 * n, 0.0);
        for (int c = 0; c < d; c++) {
            int o = c * t, i = i0;
            for (; i < vEnd; i += DL) {
                DoubleVector xi = (DoubleVector) FloatVector.fromArray(F, x, o + i).convertShape(VectorOperators.F2D, D, 0);
                DoubleVector.fromArray(D, sums, i - i0).add(xi).intoArray(sums, i - i0);
            }
            for (; i < i1; i++) sums[i - i0] += x[o + i];
        }
        for (int j = 0; j < n; j++) sums[j] /= d;
        for (int c = 0; c < d; c++) {
            int o = c * t, i = i0;
            for (; i < vEnd; i += DL) {
                DoubleVector xi = (DoubleVector) FloatVector.fromArray(F, x, o + i).convertShape(VectorOperators.F2D, D, 0);
                DoubleVector a = xi.sub(DoubleVector.fromArray(D, sums, i - i0));
                DoubleVector.fromArray(D, sums, n + i - i0).add(a.mul(a)).intoArray(sums, n + i - i0);
            }
            for (; i < i1; i++) {
                double a = x[o + i] - sums[i - i0];
                sums[n + i - i0] += a * a;
            }
        }
        float[] stats = Scratch.floats(Scratch.NORM_SCALE, 2 * n); // mean at [j], 1 / sqrt(var + eps) at [n + j]
        for (int j = 0; j < n; j++) {
            stats[j] = (float) sums[j];
            stats[n + j] = (float) (1.0 / Math.sqrt(sums[n + j] / d + eps));
        }
        int fEnd = i0 + n / Simd.S.length() * Simd.S.length();
        for (int c = 0; c < d; c++) {
            int o = c * t, i = i0;
            float wc = w[c], bc = b[c];
            for (; i < fEnd; i += Simd.S.length()) {
                FloatVector.fromArray(Simd.S, x, o + i).sub(FloatVector.fromArray(Simd.S, stats, i - i0))
                        .mul(FloatVector.fromArray(Simd.S, stats, n + i - i0)).mul(wc).add(bc).intoArray(out, o + i);
            }
            for (; i < i1; i++) out[o + i] = (x[o + i] - stats[i - i0]) * stats[n + i - i0] * wc + bc;
        }
    }

    /**
     * The same sums in the same order (each step's over c ascending, in double), two steps per pass over the channels
     * with their sums in registers: through arrays, each addition waited for the store of the one before (a streaming
     * call's norm of 512 x 2 took ~4.8 us).
     */
    private static void fewSteps(float[] x, float[] out, int d, int t, float[] w, float[] b, float eps) {
        for (int i = 0; i < t; i += 2) {
            int j = Math.min(i + 1, t - 1); // a lone last step is computed twice
            double m0 = 0, m1 = 0;
            for (int c = 0; c < d; c++) {
                m0 += x[c * t + i];
                m1 += x[c * t + j];
            }
            m0 /= d;
            m1 /= d;
            double v0 = 0, v1 = 0;
            for (int c = 0; c < d; c++) {
                double a0 = x[c * t + i] - m0, a1 = x[c * t + j] - m1;
                v0 += a0 * a0;
                v1 += a1 * a1;
            }
            float mu0 = (float) m0, mu1 = (float) m1;
            float s0 = (float) (1.0 / Math.sqrt(v0 / d + eps)), s1 = (float) (1.0 / Math.sqrt(v1 / d + eps));
            for (int c = 0; c < d; c++) {
                out[c * t + i] = (x[c * t + i] - mu0) * s0 * w[c] + b[c];
                out[c * t + j] = (x[c * t + j] - mu1) * s1 * w[c] + b[c];
            }
        }
    }
}
