package org.mimi4j.kernels;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * LayerNorm over channels of [D][T] against torch's definition computed step by step in double (mean, biased variance,
 * then the float affine): bit-identical; and with w = 1, b = 0 every step comes out with mean 0 and variance 1.
 */
class LayerNormTest {
    @ParameterizedTest
    @CsvSource({"512, 1", "512, 2", "512, 3", "512, 4", "512, 5", "512, 17", "512, 128", "512, 288", "512, 301", "7, 3", "7, 40", "1, 2", "1, 33"})
    void matchesTheDefinitionStepByStep(int d, int t) {
        SplittableRandom r = new SplittableRandom(d * 1000L + t);
        float[] x = new float[d * t], w = new float[d], b = new float[d];
        for (int i = 0; i < x.length; i++) x[i] = (float) (3 + 2 * r.nextGaussian()); // an offset: the mean matters
        for (int c = 0; c < d; c++) {
            w[c] = (float) r.nextGaussian();
            b[c] = (float) r.nextGaussian();
        }
        float eps = 1e-5f;
        float[] want = new float[d * t];
        for (int i = 0; i < t; i++) {
            double mean = 0, var = 0;
            for (int c = 0; c < d; c++) mean += x[c * t + i];
            mean /= d;
            for (int c = 0; c < d; c++) var += (x[c * t + i] - mean) * (x[c * t + i] - mean);
            float inv = (float) (1.0 / Math.sqrt(var / d + eps)), mu = (float) mean;
            for (int c = 0; c < d; c++) want[c * t + i] = (x[c * t + i] - mu) * inv * w[c] + b[c];
        }
        float[] whole = new float[d * t];
        LayerNorm.forward(x, whole, d, t, w, b, eps);
        assertArrayEquals(want, whole);
        // and it normalizes: mean 0, variance 1 before the affine (checked with w = 1, b = 0)
        java.util.Arrays.fill(w, 1f);
        java.util.Arrays.fill(b, 0f);
        LayerNorm.forward(x, whole, d, t, w, b, eps);
        if (d >= 7) {
            for (int i = 0; i < t; i++) {
                double m = 0, v = 0;
                for (int k = 0; k < d; k++) m += whole[k * t + i];
                for (int k = 0; k < d; k++) v += whole[k * t + i] * whole[k * t + i];
                assertEquals(0, m / d, 1e-5, "mean of step " + i);
                assertEquals(1, v / d, 1e-3, "variance of step " + i);
            }
        }
    }
}
