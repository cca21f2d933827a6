package org.mimi4j.kernels;

/** LayerNorm over the channel axis of a channel-major [D][T] activation (torch.nn.LayerNorm(D), biased variance). */
public final class LayerNorm {
    /** Up to this many steps (a streaming call has 2), {@link #fewSteps}; else whole rows of steps at a time. */
    private static final int FEW_STEPS = 4;

    private LayerNorm() {
    }

    /** out[d][t] = (x[d][t] - mean_t) / sqrt(var_t + eps) * w[d] + b[d]. */
    public static void forward(float[] x, float[] out, int d, int t, float[] w, float[] b, float eps) {
        if (t <= FEW_STEPS) {
            fewSteps(x, out, d, t, w, b, eps);
            return;
        }
        double[] sums = Scratch.doubles(Scratch.NORM_SUMS, 2 * t); // mean at [i], variance at [t + i]
        java.util.Arrays.fill(sums, 0, 2 * t, 0.0);
        for (int c = 0; c < d; c++) {
            int o = c * t;
            for (int i = 0; i < t; i++) sums[i] += x[o + i];
        }
        for (int i = 0; i < t; i++) sums[i] /= d;
        for (int c = 0; c < d; c++) {
            int o = c * t;
            for (int i = 0; i < t; i++) {
                double v = x[o + i] - sums[i];
                sums[t + i] += v * v;
            }
        }
        float[] stats = Scratch.floats(Scratch.NORM_SCALE, 2 * t); // mean at [i], 1 / sqrt(var + eps) at [t + i]
        for (int i = 0; i < t; i++) {
            stats[t + i] = (float) (1.0 / Math.sqrt(sums[t + i] / d + eps));
            stats[i] = (float) sums[i];
        }
        for (int c = 0; c < d; c++) {
            int o = c * t;
            float wc = w[c], bc = b[c];
            for (int i = 0; i < t; i++) out[o + i] = (x[o + i] - stats[i]) * stats[t + i] * wc + bc;
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
