package org.mimi4j.nn;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The transposed conv against its definition written out directly: y[co][n] = b[co] + sum over ci, k of
 * w[ci][co][k] * x[ci][(n - k) / stride] where stride divides n - k, the last kernel - stride outputs trimmed (moshi's
 * causal StreamingConvTranspose1d), for kernels that are not multiples of the stride and output channels whose phase
 * rows straddle packed panels; in one call and in two; two-tap ones also as Winograd's F(3,2)
 * ({@link org.mimi4j.kernels.TwoTap}) in every call, in the calls of at least 12 triples only (the shorter ones in the
 * direct form on the TwoTap's two filters: here the one call of 48 steps and not the two of 24) and in no call (the
 * direct form alone, on the narrow and the wide kernels).
 */
class StreamingConvTranspose1dTest {
    static float[] reference(float[] w, float[] b, float[] x, int inCh, int outCh, int kernel, int stride, int t) {
        float[] y = new float[outCh * t * stride];
        for (int co = 0; co < outCh; co++) {
            for (int n = 0; n < t * stride; n++) {
                double s = b[co];
                for (int ci = 0; ci < inCh; ci++) {
                    for (int k = 0; k < kernel && k <= n; k++) {
                        if ((n - k) % stride == 0 && (n - k) / stride < t) s += (double) w[(ci * outCh + co) * kernel + k] * x[ci * t + (n - k) / stride];
                    }
                }
                y[co * t * stride + n] = (float) s;
            }
        }
        return y;
    }

    @ParameterizedTest
    @ValueSource(ints = {-1, 0, 12, Integer.MAX_VALUE})
    void matchesTheDefinitionInOneCallAndInTwo(int winogradFrom) {
        int[][] cases = {{5, 2}, {7, 3}, {16, 8}, {3, 1}, {12, 6}}; // kernel, stride
        Random r = new Random(4);
        for (int[] c : cases) {
            int kernel = c[0], stride = c[1], inCh = 5, outCh = 9, t = 48;
            float[] w = StreamingConv1dTest.random(r, inCh * outCh * kernel), b = StreamingConv1dTest.random(r, outCh);
            float[] x = StreamingConv1dTest.random(r, inCh * t);
            float[] want = reference(w, b, x, inCh, outCh, kernel, stride, t);
            StreamingConvTranspose1d conv = new StreamingConvTranspose1d(w, b, inCh, outCh, kernel, stride, 1, null, winogradFrom);
            float[] one = conv.forward(new float[][]{x}, t, new StreamingConvTranspose1d.State[]{conv.newState()})[0].clone();
            StreamingConvTranspose1d.State[] st = {conv.newState()};
            int h = t / 2, n = t * stride, hn = h * stride;
            float[] x0 = new float[inCh * h], x1 = new float[inCh * h];
            for (int ci = 0; ci < inCh; ci++) {
                System.arraycopy(x, ci * t, x0, ci * h, h);
                System.arraycopy(x, ci * t + h, x1, ci * h, h);
            }
            float[] y0 = conv.forward(new float[][]{x0}, h, st)[0].clone();
            float[] y1 = conv.forward(new float[][]{x1}, h, st)[0].clone();
            String name = "winograd from " + winogradFrom + ", kernel " + kernel + " stride " + stride;
            for (int co = 0; co < outCh; co++) {
                for (int i = 0; i < n; i++) {
                    float e = want[co * n + i];
                    float two = i < hn ? y0[co * hn + i] : y1[co * hn + i - hn];
                    assertEquals(e, one[co * n + i], 1e-4f * (1 + Math.abs(e)), name + " one call, channel " + co + " sample " + i);
                    assertEquals(e, two, 1e-4f * (1 + Math.abs(e)), name + " two calls, channel " + co + " sample " + i);
                }
            }
        }
    }
}
