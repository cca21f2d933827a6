package org.mimi4j.kernels;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link TwoTap} (Winograd F(3,2)) against the direct two-tap sum in double precision, within float32 rounding; and
 * its bits independent of what else is in the call: a stream alone (its operands packed as slivers from 32 triples
 * on) equals the same stream among others of other lengths (operands in rows), and a call cut at a multiple of 3
 * outputs equals the whole call (the property the offline time parts and slices rely on).
 */
class TwoTapTest {
    @ParameterizedTest
    @CsvSource({
            "16, 8, 1, 1", "16, 8, 1, 2", "16, 8, 1, 3", "16, 8, 1, 4", "16, 8, 1, 5", // partial triples
            "128, 256, 1, 480", "256, 640, 1, 96", "40, 70, 3, 200", "512, 1536, 1, 16", // the SEANet's shapes, odd ones
            "64, 96, 16, 96", "24, 40, 5, 1000", "33, 17, 2, 31", "96, 32, 8, 1600", "48, 64, 8, 9600",
            "40, 600, 2, 200", "24, 1100, 1, 151", // K blocks of 512 and a last one shorter (packed slivers of each)
    })
    void matchesTheDirectSumAndIsIndependentOfTheCall(int m, int k, int streams, int n) {
        SplittableRandom r = new SplittableRandom(m * 31L + k * 7L + n);
        float[] taps = random(r, m * 2 * k), bias = random(r, m);
        TwoTap t = TwoTap.pack(m, k, RowSource.of(taps, 0, 2 * k), null);
        int ld = n + 1;
        float[][] x = new float[streams][];
        for (int s = 0; s < streams; s++) x[s] = random(r, k * ld);
        float[][] all = run(t, bias, x, ld, n);
        for (int s = 0; s < streams; s++) {
            float[] y = all[s];
            for (int i = 0; i < m; i++) {
                for (int u = 0; u < n; u++) {
                    double want = bias[i], mag = Math.abs(bias[i]);
                    for (int j = 0; j < k; j++) {
                        double a = (double) taps[i * 2 * k + 2 * j] * x[s][j * ld + u], b = (double) taps[i * 2 * k + 2 * j + 1] * x[s][j * ld + u + 1];
                        want += a + b;
                        mag += Math.abs(a) + Math.abs(b);
                    }
                    double err = Math.abs(y[i * n + u] - want);
                    assertTrue(err <= 1e-5 * mag, "row " + i + " output " + u + ": " + y[i * n + u] + " vs " + want + " (sum of |terms| " + mag + ")");
                }
            }
            // alone: the same bits
            assertArrayEquals(y, run(t, bias, new float[][]{x[s]}, ld, n)[0], "stream " + s + " alone");
        }
        // cut at a multiple of 3 outputs: two calls, the second starting at output c (its input rows from column c)
        int c = n / 2 / 3 * 3;
        if (c > 0) {
            float[] whole = all[0], head = run(t, bias, new float[][]{cols(x[0], k, ld, 0, c + 1)}, c + 1, c)[0];
            float[] tail = run(t, bias, new float[][]{cols(x[0], k, ld, c, ld - c)}, ld - c, n - c)[0];
            for (int i = 0; i < m; i++) {
                for (int u = 0; u < n; u++) {
                    float got = u < c ? head[i * c + u] : tail[i * (n - c) + u - c];
                    assertTrue(Float.compare(whole[i * n + u], got) == 0, "cut at " + c + ": row " + i + " output " + u);
                }
            }
        }
    }

    /**
     * A transposed conv's layout (row co * ph + p, output u at [co][u * ph + p]; vector scatters with AVX-512, else
     * one float at a time): the same bits as the plain [m][n] layout, only placed elsewhere.
     */
    @ParameterizedTest
    @CsvSource({"4, 16, 32, 1, 480", "4, 40, 24, 2, 1000", "5, 8, 64, 2, 96", "5, 40, 16, 1, 700", "6, 30, 16, 2, 500", "6, 12, 40, 1, 16", "4, 3, 5, 2, 100", "5, 4, 9, 1, 31", "6, 2, 3, 3, 7", "8, 4, 16, 1, 1000"})
    void phaseInterleaveHoldsThePlainLayoutsBits(int ph, int co, int k, int streams, int n) {
        SplittableRandom r = new SplittableRandom(ph * 131L + co * 17L + n);
        int m = co * ph;
        TwoTap t = TwoTap.pack(m, k, RowSource.of(random(r, m * 2 * k), 0, 2 * k), null);
        float[] bias = random(r, m);
        float[][] x = new float[streams][];
        for (int s = 0; s < streams; s++) x[s] = random(r, k * (n + 1));
        float[][] plain = run(t, bias, x, n + 1, n, 1), interleaved = run(t, bias, x, n + 1, n, ph);
        for (int s = 0; s < streams; s++) {
            for (int i = 0; i < m; i++) {
                for (int u = 0; u < n; u++) {
                    int at = (i / ph) * n * ph + u * ph + i % ph;
                    assertTrue(Float.compare(plain[s][i * n + u], interleaved[s][at]) == 0, "stream " + s + " row " + i + " output " + u);
                }
            }
        }
    }

    /**
     * A strided conv's phase p read in place (every stride-th value of [context, x] from p): the operands of the phase
     * row copied out, bit for bit, for whole vectors of triples and the partial ones after them.
     */
    @ParameterizedTest
    @CsvSource({"2, 1", "2, 47", "4, 48", "4, 49", "4, 100", "4, 480", "5, 96", "6, 31", "8, 160", "8, 2", "16, 100", "17, 40"})
    void aPhaseReadInPlaceSplitsAsItsCopiedRow(int stride, int n) {
        SplittableRandom r = new SplittableRandom(stride * 1000L + n);
        int k = 3;
        TwoTap t = TwoTap.pack(4, k, RowSource.of(random(r, 4 * 2 * k), 0, 2 * k), null);
        float[] row = random(r, (n + 1) * stride + 5);
        for (int p = 0; p < stride; p++) {
            float[] phase = new float[n + 1];
            for (int u = 0; u <= n; u++) phase[u] = row[u * stride + p];
            TwoTap.Operands ops = t.operands(n, 1);
            float[] inPlace = new float[ops.floats()], copied = new float[ops.floats()];
            for (int j = 0; j < k; j++) {
                t.splitPhase(row, p, stride, ops, inPlace, j);
                t.split(phase, 0, ops, copied, j);
            }
            assertArrayEquals(copied, inPlace, "stride " + stride + " phase " + p);
        }
        // all phases at once into operand rows 1 + p (stride 4 with 16 lanes: transposed blocks of 16 triples)
        TwoTap all = TwoTap.pack(4, stride + 2, RowSource.of(random(r, 4 * 2 * (stride + 2)), 0, 2 * (stride + 2)), null);
        TwoTap.Operands ops = all.operands(n, 1);
        float[] together = new float[ops.floats()], each = new float[ops.floats()];
        java.util.Arrays.fill(together, Float.NaN);
        java.util.Arrays.fill(each, Float.NaN);
        all.splitPhases(row, stride, ops, together, 1);
        for (int p = 0; p < stride; p++) all.splitPhase(row, p, stride, ops, each, 1 + p);
        for (int i = 0; i < each.length; i++) {
            assertTrue(Float.compare(each[i], together[i]) == 0, "stride " + stride + ", all phases, element " + i);
        }
    }

    private static float[] random(SplittableRandom r, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) (r.nextDouble() - 0.5);
        return a;
    }

    private static float[] cols(float[] x, int k, int ld, int from, int len) {
        float[] y = new float[k * len];
        for (int j = 0; j < k; j++) System.arraycopy(x, j * ld + from, y, j * len, len);
        return y;
    }

    private static float[][] run(TwoTap t, float[] bias, float[][] x, int ld, int n) {
        return run(t, bias, x, ld, n, 1);
    }

    private static float[][] run(TwoTap t, float[] bias, float[][] x, int ld, int n, int phases) {
        int streams = x.length, k = x[0].length / ld;
        TwoTap.Operands ops = t.operands(n, streams);
        float[][] b = new float[streams][ops.floats()], c = new float[streams][t.productFloats(n)], out = new float[streams][];
        for (int s = 0; s < streams; s++) { // NaN where nothing is written: an output reading there would show it
            java.util.Arrays.fill(b[s], Float.NaN);
            java.util.Arrays.fill(c[s], Float.NaN);
            for (int j = 0; j < k; j++) t.split(x[s], j * ld, ops, b[s], j);
            out[s] = new float[bias.length * n];
        }
        t.forward(bias, b, ops, c, out, phases);
        return out;
    }
}
