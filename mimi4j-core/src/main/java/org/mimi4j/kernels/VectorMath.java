package org.mimi4j.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
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
            FloatVector fx = x.mul(1.44269504088896341f);
            fx = fx.add(FloatVector.broadcast(S, 0.5f).blend(-0.5f, fx.compare(VectorOperators.LT, 0f)));
            IntVector k = (IntVector) fx.convert(VectorOperators.F2I, 0);
            FloatVector kf = (FloatVector) k.convert(VectorOperators.I2F, 0);
            FloatVector r = x.sub(kf.mul(0.693359375f)).sub(kf.mul(-2.12194440e-4f));
            FloatVector p = FloatVector.broadcast(S, 1.9875691500e-4f);
            p = p.fma(r, FloatVector.broadcast(S, 1.3981999507e-3f));
            p = p.fma(r, FloatVector.broadcast(S, 8.3334519073e-3f));
            p = p.fma(r, FloatVector.broadcast(S, 4.1665795894e-2f));
            p = p.fma(r, FloatVector.broadcast(S, 1.6666665459e-1f));
            p = p.fma(r, FloatVector.broadcast(S, 5.0000001201e-1f));
            FloatVector y = p.mul(r.mul(r)).add(r).add(1f);
            FloatVector scale = k.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
            y.mul(scale).intoArray(a, i);
        }
    }
}
