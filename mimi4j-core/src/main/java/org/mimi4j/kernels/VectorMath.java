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
     * e^x for x in [-87.3, 88.7] (clamped outside: 0-ish below, large above). The clamp by compare and blend:
     * {@code max}/{@code min} follow Java's NaN and signed-zero rules, which C2 compiles to a slow multi-instruction
     * sequence (the whole exp took 1.5x as long); for these bounds both give the same result, NaN included.
     */
    static FloatVector exp(FloatVector x) {
        x = x.blend(-87.3f, x.compare(VectorOperators.LT, -87.3f)).blend(88.7f, x.compare(VectorOperators.GT, 88.7f));
        FloatVector fx = x.mul(1.44269504088896341f);
        fx = fx.add(FloatVector.broadcast(S, 0.5f).blend(-0.5f, fx.compare(VectorOperators.LT, 0f)));
        IntVector n = (IntVector) fx.convert(VectorOperators.F2I, 0);
        FloatVector nf = (FloatVector) n.convert(VectorOperators.I2F, 0);
        FloatVector r = x.sub(nf.mul(0.693359375f)).sub(nf.mul(-2.12194440e-4f));
        FloatVector p = FloatVector.broadcast(S, 1.9875691500e-4f);
        p = p.fma(r, FloatVector.broadcast(S, 1.3981999507e-3f));
        p = p.fma(r, FloatVector.broadcast(S, 8.3334519073e-3f));
        p = p.fma(r, FloatVector.broadcast(S, 4.1665795894e-2f));
        p = p.fma(r, FloatVector.broadcast(S, 1.6666665459e-1f));
        p = p.fma(r, FloatVector.broadcast(S, 5.0000001201e-1f));
        FloatVector y = p.mul(r.mul(r)).add(r).add(1f);
        FloatVector scale = n.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        return y.mul(scale);
    }
}
