package org.mimi4j.kernels;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The vectorized GELU against the double-precision definition with an accurate erf. */
class ActivationsTest {
    /** erf by its Taylor series (|x| <= 3) or continued fraction of erfc, in double: ~1e-15. */
    static double erf(double x) {
        double ax = Math.abs(x);
        if (ax <= 3) {
            double sum = 0, term = ax;
            for (int n = 0; n < 200; n++) {
                double add = term / (2 * n + 1);
                sum += add;
                if (Math.abs(add) < 1e-18) break;
                term *= -ax * ax / (n + 1);
            }
            return Math.copySign(2 / Math.sqrt(Math.PI) * sum, x);
        }
        double f = 0;
        for (int k = 120; k >= 1; k--) f = k / 2.0 / (ax + f);
        double erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / (ax + f);
        return Math.copySign(1 - erfc, x);
    }

    @Test
    void geluIsExactToAboutOneMillionth() {
        int n = 200_003;
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = -12f + 24f * i / (n - 1);
        float[] y = x.clone();
        Activations.gelu(y, n);
        double maxAbs = 0;
        for (int i = 0; i < n; i++) {
            double want = 0.5 * x[i] * (1 + erf(x[i] / Math.sqrt(2)));
            maxAbs = Math.max(maxAbs, Math.abs(y[i] - want));
        }
        assertTrue(maxAbs < 1.2e-6, "max abs error " + maxAbs);
    }

    @Test
    void eluMatchesExpm1() {
        int n = 400_003;
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = -20f + 24f * i / (n - 1);
        x[17] = -1e-30f;
        x[18] = -0f;
        float[] y = new float[n];
        Activations.elu(x, y, n);
        double maxAbs = 0;
        for (int i = 0; i < n; i++) {
            double want = x[i] > 0 ? x[i] : Math.expm1(x[i]);
            maxAbs = Math.max(maxAbs, Math.abs(y[i] - want));
        }
        assertTrue(maxAbs < 1.2e-7, "max abs error " + maxAbs);
    }

    /** Every magnitude of negative float, from the smallest subnormal down to -Inf: within 1 ulp of expm1. */
    @Test
    void eluIsWithinOneUlpOfExpm1() {
        int n = 0;
        float[] x = new float[(Float.floatToIntBits(Float.NEGATIVE_INFINITY) - Float.floatToIntBits(-0f)) / 997 + 1];
        for (int bits = Float.floatToIntBits(-0f) + 1; n < x.length; bits += 997) x[n++] = Float.intBitsToFloat(bits);
        x[n - 1] = Float.NEGATIVE_INFINITY;
        float[] y = new float[n];
        Activations.elu(x, y, n);
        for (int i = 0; i < n; i++) {
            double want = Math.expm1(x[i]);
            assertTrue(Math.abs(y[i] - want) <= Math.ulp((float) want), "elu(" + x[i] + ") = " + y[i] + ", expm1 = " + want);
        }
    }

    /** Positive floats (every 997th, +0 and +Inf) and NaNs come out as they went in, bit for bit. */
    @Test
    void eluKeepsPositivesAndNaNs() {
        int n = 0;
        float[] x = new float[Float.floatToIntBits(Float.POSITIVE_INFINITY) / 997 + 5];
        for (int bits = 0; n < x.length - 4; bits += 997) x[n++] = Float.intBitsToFloat(bits);
        x[n++] = Float.POSITIVE_INFINITY;
        x[n++] = Float.NaN;
        x[n++] = Float.intBitsToFloat(0xffc00001); // a NaN with the sign bit set
        x[n++] = Float.intBitsToFloat(0x7f800001);
        float[] y = new float[n];
        Activations.elu(x, y, n);
        for (int i = 0; i < n; i++) {
            assertEquals(Float.floatToRawIntBits(x[i]), Float.floatToRawIntBits(y[i]), "elu(" + x[i] + ") = " + y[i]);
        }
    }

    /** A value's ELU has the same bits wherever it sits (vector body or tail), so chunking cannot change results. */
    @Test
    void eluDoesNotDependOnPosition() {
        int n = 1003;
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) (3 * Math.sin(i * 0.7) - 1);
        float[] y = new float[n];
        Activations.elu(x, y, n);
        for (int shift = 1; shift < 17; shift++) {
            float[] xs = java.util.Arrays.copyOfRange(x, shift, n), ys = new float[n - shift];
            Activations.elu(xs, ys, n - shift);
            for (int i = 0; i < ys.length; i++) {
                assertEquals(Float.floatToIntBits(y[i + shift]), Float.floatToIntBits(ys[i]), "x=" + xs[i] + " shifted by " + shift);
            }
        }
    }

    /** A row with a tail, in place and between offsets of larger arrays: the row's elements only, in place or not. */
    @Test
    void eluOfARowTouchesOnlyThatRow() {
        int n = 37, xo = 5, oo = 11;
        float[] x = new float[60], out = new float[60];
        for (int i = 0; i < x.length; i++) x[i] = (float) (2 * Math.cos(i * 1.3));
        java.util.Arrays.fill(out, 42f);
        float[] inPlace = x.clone();
        Activations.elu(x, xo, out, oo, n);
        Activations.elu(inPlace, xo, inPlace, xo, n);
        for (int i = 0; i < out.length; i++) {
            boolean row = i >= oo && i < oo + n;
            float want = row ? (float) (x[i - oo + xo] > 0 ? x[i - oo + xo] : Math.expm1(x[i - oo + xo])) : 42f;
            assertEquals(want, out[i], row ? Math.ulp(want) : 0f, "out[" + i + "]");
            boolean rowIn = i >= xo && i < xo + n;
            assertEquals(Float.floatToIntBits(rowIn ? out[i - xo + oo] : x[i]), Float.floatToIntBits(inPlace[i]), "in place [" + i + "]");
        }
    }

    @Test
    void vectorExpIsWithinTwoUlpsOfMathExp() {
        int l = VectorMath.S.length();
        float[] x = new float[l];
        double maxRel = 0;
        for (int i = 0; i < 200_000; i++) {
            float v = -87f + 175f * i / 200_000;
            x[i % l] = v;
            if (i % l == l - 1) {
                float[] y = x.clone();
                VectorMath.exp(y, 0, l);
                for (int j = 0; j < l; j++) maxRel = Math.max(maxRel, Math.abs(y[j] - Math.exp(x[j])) / Math.exp(x[j]));
            }
        }
        assertTrue(maxRel < 3e-7, "max relative error " + maxRel);
    }
}
