package org.mimi4j.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/** Element-wise activations, in place. */
public final class Activations {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_512;
    private static final int CHUNK = 1 << 16;

    private Activations() {
    }

    /**
     * ELU with alpha 1 (torch.nn.ELU): x > 0 ? x : expm1(x), written to out (may be x). Every element goes through
     * the same vector arithmetic ({@link VectorMath#expm1Negative}; a tail through a masked vector), so a value's
     * result depends neither on its position nor on how warm the JIT is.
     */
    public static void elu(float[] x, float[] out, int n) {
        int chunks = (n + CHUNK - 1) / CHUNK;
        Parallel.forEach(chunks, c -> elu(x, c * CHUNK, out, c * CHUNK, Math.min(CHUNK, n - c * CHUNK)));
    }

    /**
     * Rows shorter than this (a streaming step's few samples per channel) are better given to {@link #elu} many
     * channels at once: each call's masked tail costs ~36 ns, as much as two full vectors.
     */
    public static final int SHORT_ROW = 64;

    /** ELU of x[xo..xo+n) into out[oo..oo+n), on the calling thread (for fusing into a copy). */
    public static void elu(float[] x, int xo, float[] out, int oo, int n) {
        int i = 0;
        for (; i + S.length() <= n; i += S.length()) elu(FloatVector.fromArray(S, x, xo + i)).intoArray(out, oo + i);
        if (i < n) { // the tail through the same vector arithmetic, lanes past n masked off
            VectorMask<Float> m = S.indexInRange(i, n);
            elu(FloatVector.fromArray(S, x, xo + i, m)).intoArray(out, oo + i, m);
        }
    }

    /** Lanes above 0 (and NaN) keep v; the expm1 computed there too is dropped, so no min(v, 0) first (slow, see exp). */
    private static FloatVector elu(FloatVector v) {
        return v.blend(VectorMath.expm1Negative(v), v.compare(VectorOperators.LE, 0f));
    }

    /**
     * Exact GELU (torch "gelu", approximate='none'): 0.5 x (1 + erf(x / sqrt 2)) = 0.5 x erfc(-x / sqrt 2), in place.
     * Vectorized: the erfc of {@link #erfc} (Chebyshev fit, relative error 1.2e-7) in float32 with the vector exp;
     * absolute error of the result below 1e-6 (GeluTest).
     */
    public static void gelu(float[] x, int n) {
        int chunks = (n + CHUNK - 1) / CHUNK;
        Parallel.forEach(chunks, c -> {
            int i = c * CHUNK, end = Math.min(n, c * CHUNK + CHUNK);
            for (; i + S.length() <= end; i += S.length()) geluVector(x, i);
            for (; i < end; i++) x[i] = gelu(x[i]);
        });
    }

    private static void geluVector(float[] x, int i) {
        FloatVector v = FloatVector.fromArray(S, x, i);
        FloatVector z = v.mul(-0.70710678118654752f);          // erfc argument
        FloatVector az = z.abs();
        FloatVector t = az.fma(0.5f, 1f);
        t = FloatVector.broadcast(S, 1f).div(t);
        FloatVector p = t.fma(FloatVector.broadcast(S, 0.17087277f), FloatVector.broadcast(S, -0.82215223f));
        p = p.fma(t, FloatVector.broadcast(S, 1.48851587f));
        p = p.fma(t, FloatVector.broadcast(S, -1.13520398f));
        p = p.fma(t, FloatVector.broadcast(S, 0.27886807f));
        p = p.fma(t, FloatVector.broadcast(S, -0.18628806f));
        p = p.fma(t, FloatVector.broadcast(S, 0.09678418f));
        p = p.fma(t, FloatVector.broadcast(S, 0.37409196f));
        p = p.fma(t, FloatVector.broadcast(S, 1.00002368f));
        p = p.fma(t, FloatVector.broadcast(S, -1.26551223f));
        FloatVector e = VectorMath.exp(az.mul(az).neg().add(p));
        FloatVector r = t.mul(e);                              // erfc(|z|)
        r = r.blend(FloatVector.broadcast(S, 2f).sub(r), z.compare(VectorOperators.LT, 0f));
        v.mul(0.5f).mul(r).intoArray(x, i);
    }

    public static float gelu(float x) {
        double z = x * 0.7071067811865476;
        // 0.5 x (1 + erf z) = 0.5 x erfc(-z)
        return (float) (0.5 * x * erfc(-z));
    }

    /**
     * Complementary error function, relative error below 1.2e-7 everywhere (Chebyshev fit of Numerical Recipes
     * §6.2, "erfcc"): ample for float32 results.
     */
    public static double erfc(double x) {
        double z = Math.abs(x);
        double t = 1.0 / (1.0 + 0.5 * z);
        double r = t * Math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
                t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 +
                t * (-0.82215223 + t * 0.17087277)))))))));
        return x >= 0 ? r : 2.0 - r;
    }
}
