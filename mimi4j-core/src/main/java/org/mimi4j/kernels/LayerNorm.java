package org.mimi4j.kernels;

/** LayerNorm over the channel axis of a channel-major [D][T] activation (torch.nn.LayerNorm(D), biased variance). */
public final class LayerNorm {
    private LayerNorm() {
    }

    /** out[d][t] = (x[d][t] - mean_t) / sqrt(var_t + eps) * w[d] + b[d]. */
    public static void forward(float[] x, float[] out, int d, int t, float[] w, float[] b, float eps) {
        double[] mean = new double[t], var = new double[t];
        for (int c = 0; c < d; c++) {
            int o = c * t;
            for (int i = 0; i < t; i++) mean[i] += x[o + i];
        }
        for (int i = 0; i < t; i++) mean[i] /= d;
        for (int c = 0; c < d; c++) {
            int o = c * t;
            for (int i = 0; i < t; i++) {
                double v = x[o + i] - mean[i];
                var[i] += v * v;
            }
        }
        float[] inv = new float[t], mu = new float[t];
        for (int i = 0; i < t; i++) {
            inv[i] = (float) (1.0 / Math.sqrt(var[i] / d + eps));
            mu[i] = (float) mean[i];
        }
        for (int c = 0; c < d; c++) {
            int o = c * t;
            float wc = w[c], bc = b[c];
            for (int i = 0; i < t; i++) out[o + i] = (x[o + i] - mu[i]) * inv[i] * wc + bc;
        }
    }
}
