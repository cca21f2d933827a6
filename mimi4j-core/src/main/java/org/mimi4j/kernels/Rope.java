package org.mimi4j.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/** Rotary position embedding of one channel pair over consecutive steps (interleaved pairs, as moshi's RoPE). */
public final class Rope {
    private static final VectorSpecies<Float> S = Simd.S;

    private Rope() {
    }

    /**
     * For i < n: re = x[xr + i], im = x[xi + i], cs = cos[co + i], sn = sin[co + i]; dst[dr + i] = re cs - im sn and
     * dst[di + i] = re sn + im cs, each product and sum rounded as the scalar expression (no fused multiply-add), so
     * vectors and the scalar tail give the same bits.
     */
    public static void rotate(float[] x, int xr, int xi, float[] cos, float[] sin, int co, float[] dst, int dr, int di, int n) {
        int i = 0;
        for (; i + S.length() <= n; i += S.length()) {
            FloatVector re = FloatVector.fromArray(S, x, xr + i), im = FloatVector.fromArray(S, x, xi + i);
            FloatVector cs = FloatVector.fromArray(S, cos, co + i), sn = FloatVector.fromArray(S, sin, co + i);
            re.mul(cs).sub(im.mul(sn)).intoArray(dst, dr + i);
            re.mul(sn).add(im.mul(cs)).intoArray(dst, di + i);
        }
        for (; i < n; i++) {
            float re = x[xr + i], im = x[xi + i], cs = cos[co + i], sn = sin[co + i];
            dst[dr + i] = re * cs - im * sn;
            dst[di + i] = re * sn + im * cs;
        }
    }
}
