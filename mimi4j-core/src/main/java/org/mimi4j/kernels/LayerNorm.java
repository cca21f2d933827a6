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
        // the steps' vectors split between the compute threads; the last part also takes the steps past them
        int vectors = t / DL, parts = Math.max(1, Math.min(Parallel.available(), vectors / 4));
        Parallel.forEach(parts, p -> {
            int i0 = vectors * p / parts * DL, i1 = vectors * (p + 1) / parts * DL;
            for (int i = i0; i < i1; i += DL) stepVector(x, out, d, t, i, w, b, eps);
            if (p == parts - 1) for (int i = i1; i < t; i++) step(x, out, d, t, i, w, b, eps);
        });
    }

    /** Double lanes per vector (as many as {@link Simd#S} has bits for), and floats of as many lanes. */
    private static final VectorSpecies<Double> D = VectorSpecies.of(double.class, VectorShape.forBitSize(Simd.S.vectorBitSize()));
    private static final int DL = D.length();
    private static final VectorSpecies<Float> F = VectorSpecies.of(float.class, VectorShape.forBitSize(Simd.S.vectorBitSize() / 2));

    /**
     * Steps i..i+DL-1, one per lane: each lane's sums are {@link #step}'s, in the same order (c ascending, in double;
     * no fused multiply-add), so every output has the same bits (each step's 2 x 512 dependent additions in
     * registers: ~5x faster than the sums through an array, step by step).
     */
    private static void stepVector(float[] x, float[] out, int d, int t, int i, float[] w, float[] b, float eps) {
        DoubleVector m = DoubleVector.zero(D);
        for (int c = 0; c < d; c++) m = m.add(widen(x, c * t + i));
        m = m.div(d);
        DoubleVector v = DoubleVector.zero(D);
        for (int c = 0; c < d; c++) {
            DoubleVector a = widen(x, c * t + i).sub(m);
            v = v.add(a.mul(a));
        }
        FloatVector mu = (FloatVector) m.convertShape(VectorOperators.D2F, F, 0);
        FloatVector s = (FloatVector) DoubleVector.broadcast(D, 1.0).div(v.div(d).add(eps).sqrt()).convertShape(VectorOperators.D2F, F, 0);
        for (int c = 0; c < d; c++) {
            FloatVector.fromArray(F, x, c * t + i).sub(mu).mul(s).mul(w[c]).add(b[c]).intoArray(out, c * t + i);
        }
    }

    private static DoubleVector widen(float[] x, int at) {
        return (DoubleVector) FloatVector.fromArray(F, x, at).convertShape(VectorOperators.F2D, D, 0);
    }

    /** Step i alone: mean, then biased variance, each summed over c ascending in double, then the float affine. */
    private static void step(float[] x, float[] out, int d, int t, int i, float[] w, float[] b, float eps) {
        double m = 0, v = 0;
        for (int c = 0; c < d; c++) m += x[c * t + i];
        m /= d;
        for (int c = 0; c < d; c++) {
            double a = x[c * t + i] - m;
            v += a * a;
        }
        float mu = (float) m, s = (float) (1.0 / Math.sqrt(v / d + eps));
        for (int c = 0; c < d; c++) out[c * t + i] = (x[c * t + i] - mu) * s * w[c] + b[c];
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
