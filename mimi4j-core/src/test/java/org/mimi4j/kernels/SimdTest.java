package org.mimi4j.kernels;

import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The kernels' vector width. A species wider than the CPU's is not compiled to vector instructions (every vector a
 * Java object, 50-100x slower): the kernels were once fixed at 512 bits, which on an AVX2 machine no bench could get
 * through while every golden test still passed.
 */
class SimdTest {
    @Test
    void byDefaultTheKernelsUseTheCpusOwnWidth() {
        int cpu = FloatVector.SPECIES_PREFERRED.vectorBitSize();
        if (System.getProperty("mimi4j.vectorBits") == null) {
            assertEquals(Integer.highestOneBit(Math.clamp(cpu, 128, 512)), Simd.S.vectorBitSize());
        }
        assertTrue(Gemm.MR % Gemm.L == 0, "a packed panel holds whole row vectors");
    }

    @Test
    void everyKernelUsesTheOneSpecies() {
        assertSame(Simd.S, Gemm.S);
        assertSame(Simd.S, VectorMath.S);
        assertSame(Simd.S, Activations.S);
        assertSame(Simd.S, Attention.S);
    }
}
