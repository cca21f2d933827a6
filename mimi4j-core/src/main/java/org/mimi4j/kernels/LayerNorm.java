package org.mimi4j.kernels;

/** LayerNorm over the channel axis of a channel-major [D][T] activation (torch.nn.LayerNorm(D), biased variance). */
public final class LayerNorm {
    private LayerNorm() {
    }

    /** out[d][t] = (x[d][t] - mean_t) / sqrt(var_t + eps) * w[d] + b[d]. */
    public static void forward(float[] x, float[] out, int d, int t, float[] w, float[] b, float eps) {
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
}
