package org.mimi4j.kernels;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/** {@link Strided#copy} against the plain loop, for every stride the model has and past the gather's limit. */
class StridedTest {
    @Test
    void everyStrideThElementLandsInOrder() {
        SplittableRandom r = new SplittableRandom(7);
        float[] from = new float[4000];
        for (int i = 0; i < from.length; i++) from[i] = (float) r.nextDouble(-1, 1);
        for (int stride = 1; stride <= 18; stride++) {
            for (int n : new int[]{0, 1, Strided.S.length() - 1, Strided.S.length(), 3 * Strided.S.length() + 5, 200}) {
                for (int off : new int[]{0, 3}) {
                    float[] want = new float[n + 9], got = new float[n + 9];
                    for (int j = 0; j < n; j++) want[2 + j] = from[off + j * stride];
                    Strided.copy(from, off, stride, got, 2, n);
                    assertArrayEquals(want, got, "stride " + stride + ", n " + n + ", offset " + off + ", gather " + Simd.GATHER);
                }
            }
        }
    }
}
