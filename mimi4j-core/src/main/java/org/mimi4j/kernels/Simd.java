package org.mimi4j.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * The float vector species of every kernel: the widest this CPU runs natively ({@code SPECIES_PREFERRED}: 16 lanes
 * with AVX-512, 8 with AVX2, 4 with NEON), at most 512 bits. A species wider than the hardware's is not compiled to
 * vector instructions: the Vector API runs it as plain Java objects, 50-100x slower, so it must never be fixed at
 * 512 bits. {@code -Dmimi4j.vectorBits=128|256|512} picks one (tests run the kernels at each width; one wider than
 * the CPU's is correct but slow).
 *
 * <p>Results do not depend on the width where a sum is one FMA chain per output (GEMM, convolutions) or runs in one
 * lane (LayerNorm: a step per lane); attention sums each query's weights in key order, so it does not either while
 * the head size is a multiple of every width's vector length (64, the released model's; smaller heads take a scalar
 * kernel where they are not).
 */
public final class Simd {
    public static final VectorSpecies<Float> S = species(Integer.getInteger("mimi4j.vectorBits", 0));
    /**
     * Vector registers the kernels' register tiles are sized for: 16 on x86 below AVX-512 (AVX2, AVX, SSE), 32 with
     * AVX-512 and on AArch64 (NEON, SVE). {@code -Dmimi4j.vectorRegisters=16|32} overrides it (tests of both tilings).
     */
    public static final int REGISTERS = Integer.getInteger("mimi4j.vectorRegisters",
            S.vectorBitSize() < 512 && !"aarch64".equals(System.getProperty("os.arch")) ? 16 : 32);

    /**
     * Whether a gather (a vector loaded from lanes at given offsets, e.g. every s-th sample) is one instruction here:
     * on x86-64 (AVX2, AVX-512) it is; NEON has none, and the Vector API would run it lane by lane.
     * {@code -Dmimi4j.gather=true|false} overrides it (the tests take both paths).
     */
    public static final boolean GATHER = Boolean.parseBoolean(System.getProperty("mimi4j.gather",
            String.valueOf("amd64".equals(System.getProperty("os.arch")) || "x86_64".equals(System.getProperty("os.arch")))));

    /**
     * Whether a scatter (a vector stored to lanes at given offsets) is one instruction here: with AVX-512 on x86-64;
     * AVX2 and NEON have none. {@code -Dmimi4j.scatter=true|false} overrides it (the tests take both paths).
     */
    public static final boolean SCATTER = Boolean.parseBoolean(System.getProperty("mimi4j.scatter",
            String.valueOf(GATHER && S.vectorBitSize() == 512 && FloatVector.SPECIES_PREFERRED.vectorBitSize() >= 512)));

    private Simd() {
    }

    private static VectorSpecies<Float> species(int bits) {
        int cpu = FloatVector.SPECIES_PREFERRED.vectorBitSize();
        System.Logger log = System.getLogger(Simd.class.getName());
        if (bits != 0 && bits != 128 && bits != 256 && bits != 512) {
            log.log(System.Logger.Level.WARNING, "mimi4j.vectorBits must be 128, 256 or 512, not " + bits + "; using the CPU's width");
            bits = 0;
        }
        // the CPU's width as a power of two in 128..512 (below 128, no SIMD the JIT knows: 128, emulated)
        if (bits == 0) bits = Integer.highestOneBit(Math.clamp(cpu, 128, 512));
        if (bits > cpu) {
            log.log(System.Logger.Level.WARNING, "the kernels' " + bits + "-bit vectors are wider than this CPU's " + cpu
                    + "-bit ones: they run emulated, 50-100x slower");
        }
        return VectorSpecies.of(float.class, VectorShape.forBitSize(bits));
    }
}
