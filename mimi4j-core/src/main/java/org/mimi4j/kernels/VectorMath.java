package org.mimi4j.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * exp on float vectors from exactly rounded operations only (Cephes expf: range reduction by ln 2, degree-5
 * polynomial, scaling by 2^n through the exponent bits), relative error about 2 ulp. Unlike
 * {@code VectorOperators.EXP}, whose interpreted and compiled forms round differently, it gives the same bits
 * before and after JIT compilation, so a model's output does not depend on how warm the JVM is.
 */
final class VectorMath {
    static final VectorSpecies<Float> S = Simd.S;
    /** 1.5 * 2^23: x + ROUND - ROUND rounds x to an integer, half to even, for |x| < 2^22. */
    static final float ROUND = 12582912f;

    private VectorMath() {
    }

    /**
     * e^x in place for a[from..from+n), n a multiple of the vector length, each x clamped to [-87.3, 88.7] (0-ish
     * below, large above). The clamp by compare and blend: {@code max}/{@code min} follow Java's NaN and signed-zero
     * rules, which C2 compiles to a slow multi-instruction sequence (the whole exp took 1.5x as long); for these bounds
     * both give the same result, NaN included.
     *
     * <p>Arrays in and out, not a vector: a vector passed to or returned from a method that C2 does not inline is
     * boxed, and this method is too large to be inlined where C2 does not find its call hot. It was a vector function:
     * with the JIT's thresholds lowered for the kernels (tried 2026-12-04), C2 compiled the softmax and the GELU before
     * that call was hot, did not inline it, and one stream's frame allocated 1.7 MB instead of 43 KB.
     */
    static void exp(float[] a, int from, int n) {
        exp(a, from, n, 0f); // x - 0 is x, every x
    }

    /** e^(x - shift) in place, as {@link #exp(float[], int, int)} of the differences (a softmax's scores less their max). */
    static void exp(float[] a, int from, int n, float shift) {
        for (int i = from; i < from + n; i += S.length()) {
            FloatVector x = FloatVector.fromArray(S, a, i).sub(shift);
            x = x.blend(-87.3f, x.compare(VectorOperators.LT, -87.3f)).blend(88.7f, x.compare(VectorOperators.GT, 88.7f));
            // n = round(x / ln2) without a conversion, which C2 compiles with a fix-up sequence for Java's NaN and
            // overflow rules: adding 1.5 * 2^23 rounds it to an integer, which then sits in the low mantissa bits of t.
            // Rounding half to even instead of F2I's half away from zero gave other bits for 10 of the 2.2 billion
            // floats in [-90, 90] (by 1 ulp each); the exp takes 0.8x the time
            FloatVector t = x.mul(1.44269504088896341f).add(ROUND);
            FloatVector kf = t.sub(ROUND);
            FloatVector r = x.sub(kf.mul(0.693359375f)).sub(kf.mul(-2.12194440e-4f));
            FloatVector p = FloatVector.broadcast(S, 1.9875691500e-4f);
            p = p.fma(r, FloatVector.broadcast(S, 1.3981999507e-3f));
            p = p.fma(r, FloatVector.broadcast(S, 8.3334519073e-3f));
            p = p.fma(r, FloatVector.broadcast(S, 4.1665795894e-2f));
            p = p.fma(r, FloatVector.broadcast(S, 1.6666665459e-1f));
            p = p.fma(r, FloatVector.broadcast(S, 5.0000001201e-1f));
            FloatVector y = p.mul(r.mul(r)).add(r).add(1f);
            FloatVector scale = t.reinterpretAsInts().lanewise(VectorOperators.LSHL, 23).add(127 << 23).reinterpretAsFloats();
            y.mul(scale).intoArray(a, i);
        }
    }
}
