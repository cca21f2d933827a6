package org.mimi4j.nn;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.mimi4j.kernels.RowSource;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The conv against upstream's definition written out directly: a causal Conv1d whose input is left-padded with
 * (kernel - 1) * dilation - (stride - 1) zeros (moshi's StreamingConv1d), for kernels that are not multiples of the
 * stride too (the released model has only kernel = 2 x stride), in one call and in two; two-tap ones also as
 * Winograd's F(3,2) ({@link org.mimi4j.kernels.TwoTap}) in every call, in the calls of at least 12 triples only (the
 * shorter ones in the direct form on the TwoTap's two filters: at stride 2 the one call of 48 outputs and not the two
 * of 24) and in no call (the direct form alone, on the narrow and the wide kernels).
 */
class StreamingConv1dTest {
    static float[] random(Random r, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) r.nextGaussian();
        return v;
    }

    /** y[co][i] = b[co] + sum over ci, k of w[co][ci][k] * x[ci][i*stride + k*dilation - pad], x zero before 0. */
    static float[] reference(float[] w, float[] b, float[] x, int outCh, int inCh, int kernel, int stride, int dilation, int t) {
        int pad = (kernel - 1) * dilation - (stride - 1), tOut = t / stride;
        float[] y = new float[outCh * tOut];
        for (int co = 0; co < outCh; co++) {
            for (int i = 0; i < tOut; i++) {
                double s = b[co];
                for (int ci = 0; ci < inCh; ci++) {
                    for (int k = 0; k < kernel; k++) {
                        int at = i * stride + k * dilation - pad;
                        if (at >= 0) s += (double) w[(co * inCh + ci) * kernel + k] * x[ci * t + at];
                    }
                }
                y[co * tOut + i] = (float) s;
            }
        }
        return y;
    }

    @ParameterizedTest
    @ValueSource(ints = {-1, 0, 12, Integer.MAX_VALUE})
    void matchesTheDefinitionInOneCallAndInTwo(int winogradFrom) {
        int[][] cases = {{5, 2, 1}, {7, 3, 1}, {4, 2, 1}, {3, 1, 2}, {1, 1, 1}, {8, 4, 1}, {6, 3, 1}}; // kernel, stride, dilation
        Random r = new Random(3);
        for (int[] c : cases) {
            int kernel = c[0], stride = c[1], dilation = c[2], inCh = 3, outCh = 17, t = 96;
            float[] w = random(r, outCh * inCh * kernel), b = random(r, outCh), x = random(r, inCh * t);
            float[] want = reference(w, b, x, outCh, inCh, kernel, stride, dilation, t);
            StreamingConv1d conv = new StreamingConv1d(RowSource.of(w, 0, inCh * kernel), b, outCh, inCh, kernel, stride, dilation, false,
                    null, winogradFrom);
            float[] one = conv.forward(new float[][]{x}, t, new StreamingConv1d.State[]{conv.newState()}, false)[0].clone();
            StreamingConv1d.State[] st = {conv.newState()};
            int h = t / 2, tOut = t / stride;
            float[] x0 = new float[inCh * h], x1 = new float[inCh * h];
            for (int ci = 0; ci < inCh; ci++) {
                System.arraycopy(x, ci * t, x0, ci * h, h);
                System.arraycopy(x, ci * t + h, x1, ci * h, h);
            }
            float[] y0 = conv.forward(new float[][]{x0}, h, st, false)[0].clone();
            float[] y1 = conv.forward(new float[][]{x1}, h, st, false)[0].clone();
            String name = "winograd from " + winogradFrom + ", kernel " + kernel + " stride " + stride + " dilation " + dilation;
            for (int co = 0; co < outCh; co++) {
                for (int i = 0; i < tOut; i++) {
                    float e = want[co * tOut + i];
                    float two = i < tOut / 2 ? y0[co * (tOut / 2) + i] : y1[co * (tOut / 2) + i - tOut / 2];
                    assertEquals(e, one[co * tOut + i], 1e-4f * (1 + Math.abs(e)), name + " one call, channel " + co + " step " + i);
                    assertEquals(e, two, 1e-4f * (1 + Math.abs(e)), name + " two calls, channel " + co + " step " + i);
                }
            }
        }
    }
}
