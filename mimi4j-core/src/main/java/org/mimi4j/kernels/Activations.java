package org.mimi4j.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/** Element-wise activations, in place. */
public final class Activations {
    static final VectorSpecies<Float> S = Simd.S;
    private static final int CHUNK = 1 << 16;

    private Activations() {
    }

    /**
     * ELU with alpha 1 (torch.nn.ELU): x > 0 ? x : expm1(x), written to out (may be x). Every element goes through
     * the same vector arithmetic ({@link #eluVectors}; a tail zero-padded to a whole vector), so a value's result
     * depends neither on its position nor on how warm the JIT is.
     */
    public static void elu(float[] x, float[] out, int n) {
        int chunks = (n + CHUNK - 1) / CHUNK;
        Parallel.forEach(chunks, c -> elu(x, c * CHUNK, out, c * CHUNK, Math.min(CHUNK, n - c * CHUNK)));
    }

    /** The bits of -87.3f, where the ELU's exp argument is clamped (see {@link #eluVectors}). */
    private static final int ELU_FLOOR = Float.floatToRawIntBits(-87.3f);

    private static final ThreadLocal<float[]> TAIL = ThreadLocal.withInitial(() -> new float[S.length()]);

    /** ELU of x[xo..xo+n) into out[oo..oo+n), on the calling thread (for fusing into a copy). */
    public static void elu(float[] x, int xo, float[] out, int oo, int n) {
        int full = n - n % S.length();
        eluVectors(x, xo, out, oo, full);
        if (full < n) { // the tail through the same vector arithmetic, zero-padded to a whole vector in a scratch row
            float[] t = TAIL.get();
            System.arraycopy(x, xo + full, t, 0, n - full);
            java.util.Arrays.fill(t, n - full, t.length, 0f);
            eluVectors(t, 0, t, 0, t.length);
            System.arraycopy(t, 0, out, oo + full, n - full);
        }
    }

    /**
     * ELU of n (a multiple of the vector length) floats: lanes above 0 (and NaN) keep v; below, e^x - 1 within about
     * 1 ulp of expm1, from exactly rounded operations only: x = n ln2 + r with |r| <= ln2/2, expm1(r) = r + r^2 (1/2! +
     * r/3! + ... + r^5/7!) (Taylor, truncation below 2e-8 relative, no cancellation near 0), then 2^n expm1(r) +
     * (2^n - 1) in one fused multiply-add (2^n - 1 is exact); below -87.3 (2^n would leave the normal range) it is -1.
     * The expm1 computed for positive lanes is dropped, so no min(v, 0) first (slow, see {@link VectorMath#exp}). The
     * clamp at -87.3 is one unsigned minimum of the bits: a negative float's bits grow with its magnitude, a positive
     * one's (+0 included) are below every negative one's and stay, and a NaN lane, clamped or not, keeps its v. The same
     * bits as a compare and a blend for all 2^32 floats, and the ELU 10-23% faster (JMH, 2026-12-06).
     *
     * <p>Written out in the loop on purpose: a vector passed to or returned from a method that C2 does not inline is
     * boxed (a heap object per vector); as a helper taking a vector it was not inlined at some call sites, and the
     * strided convs' fused ELU allocated ~2 GB per minute of audio encoded.
     */
    private static void eluVectors(float[] x, int xo, float[] out, int oo, int n) {
        for (int i = 0; i < n; i += S.length()) {
            FloatVector v = FloatVector.fromArray(S, x, xo + i);
            FloatVector a = v.reinterpretAsInts().lanewise(VectorOperators.UMIN, ELU_FLOOR).reinterpretAsFloats();
            // n = round(x / ln2) without a conversion: adding 1.5 * 2^23 rounds x / ln2 to an integer, which then
            // sits in the low mantissa bits of t (|n| < 2^22); the lanes above 0 get a wrong n that the final blend
            // drops. Bit-identical to rounding by F2I, which C2 compiles with a fix-up sequence for Java's NaN and
            // overflow rules (checked on every float from -0 to -88; the ELU 1.2-1.3x faster)
            FloatVector t = a.fma(FloatVector.broadcast(S, 1.44269504088896341f), FloatVector.broadcast(S, VectorMath.ROUND));
            FloatVector kf = t.sub(VectorMath.ROUND);
            FloatVector r = kf.fma(FloatVector.broadcast(S, -0.693359375f), a).add(kf.mul(2.12194440e-4f));
            FloatVector p = FloatVector.broadcast(S, 1.9841269841e-04f);
            p = p.fma(r, FloatVector.broadcast(S, 1.3888888889e-03f));
            p = p.fma(r, FloatVector.broadcast(S, 8.3333333333e-03f));
            p = p.fma(r, FloatVector.broadcast(S, 4.1666666667e-02f));
            p = p.fma(r, FloatVector.broadcast(S, 1.6666666667e-01f));
            p = p.fma(r, FloatVector.broadcast(S, 5.0000000000e-01f));
            FloatVector em = p.fma(r.mul(r), r);
            // 2^n: n's bits shifted into the exponent field (the bits of 1.5 * 2^23 above them shift out), plus the bias
            FloatVector scale = t.reinterpretAsInts().lanewise(VectorOperators.LSHL, 23).add(127 << 23).reinterpretAsFloats();
            v.blend(scale.fma(em, scale.sub(1f)), v.compare(VectorOperators.LE, 0f)).intoArray(out, oo + i);
        }
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
            float[] e = Scratch.floats(Scratch.GELU, 2 * GELU_BLOCK);
            for (int m; (m = Math.min(GELU_BLOCK, (end - i) / S.length() * S.length())) > 0; i += m) geluVectors(x, i, m, e);
            for (; i < end; i++) x[i] = gelu(x[i]);
        });
    }

    /** Floats per block of {@link #geluVectors}: its exp arguments and 1 / (1 + |z|/2) parked in L1. */
    private static final int GELU_BLOCK = 256;

    /**
     * GELU of x[from..from+n), n a multiple of the vector length and at most {@link #GELU_BLOCK}, in three passes: the
     * erfc's t and exp argument into e (t at e[GELU_BLOCK..]), one {@link VectorMath#exp} call over them, the result.
     * One exp call per block, not per vector: per vector, the call and the store it reads back took 3.5x the time.
     */
    private static void geluVectors(float[] x, int from, int n, float[] e) {
        for (int j = 0; j < n; j += S.length()) {
            FloatVector az = FloatVector.fromArray(S, x, from + j).mul(0.70710678118654752f).abs(); // |z|, z = -x / sqrt 2
            FloatVector t = FloatVector.broadcast(S, 1f).div(az.fma(0.5f, 1f));
            FloatVector p = t.fma(FloatVector.broadcast(S, 0.17087277f), FloatVector.broadcast(S, -0.82215223f));
            p = p.fma(t, FloatVector.broadcast(S, 1.48851587f));
            p = p.fma(t, FloatVector.broadcast(S, -1.13520398f));
            p = p.fma(t, FloatVector.broadcast(S, 0.27886807f));
            p = p.fma(t, FloatVector.broadcast(S, -0.18628806f));
            p = p.fma(t, FloatVector.broadcast(S, 0.09678418f));
            p = p.fma(t, FloatVector.broadcast(S, 0.37409196f));
            p = p.fma(t, FloatVector.broadcast(S, 1.00002368f));
            p = p.fma(t, FloatVector.broadcast(S, -1.26551223f));
            az.mul(az).neg().add(p).intoArray(e, j); // e^(-z^2 + p)
            t.intoArray(e, GELU_BLOCK + j);
        }
        VectorMath.exp(e, 0, n);
        for (int j = 0; j < n; j += S.length()) {
            FloatVector v = FloatVector.fromArray(S, x, from + j);
            FloatVector r = FloatVector.fromArray(S, e, GELU_BLOCK + j).mul(FloatVector.fromArray(S, e, j)); // erfc(|z|)
            r = r.blend(FloatVector.broadcast(S, 2f).sub(r), v.compare(VectorOperators.GT, 0f));   // erfc(z), z < 0
            v.mul(0.5f).mul(r).intoArray(x, from + j);
        }
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
