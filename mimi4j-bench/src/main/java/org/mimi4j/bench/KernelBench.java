package org.mimi4j.bench;

import org.mimi4j.kernels.Activations;
import org.mimi4j.kernels.Attention;
import org.mimi4j.kernels.LayerNorm;
import org.mimi4j.perf.FmaPeak;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * Kernels alone: the FMA peak everything is measured against, activations, layer norm, attention.
 * GFLOP/s = flops / (score in us) / 1e3; each benchmark's javadoc gives its flops.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class KernelBench {
    float[] act, actOut, normW, normB;
    float[] q, k, v, att;
    int[] lo, hi;
    float[][] ringK, ringV; // a streaming step's attention: rings of 64 layers, cycled so each call reads from memory
    float[] stepQ, stepOut;
    int ringLayer, ringStart;
    final int[] stepLo = {0, 1}, stepHi = {249, 250};

    @Setup(Level.Trial)
    public void setup() {
        SplittableRandom r = new SplittableRandom(1);
        act = new float[2048 * 256];
        for (int i = 0; i < act.length; i++) act[i] = (float) (4 * r.nextDouble() - 2);
        actOut = new float[act.length];
        normW = new float[512];
        normB = new float[512];
        java.util.Arrays.fill(normW, 1f);
        // attention: 256 queries over a 250-step window, 8 heads x 64
        int nq = 256, nk = 256 + 249, d = 512;
        q = new float[nq * d];
        k = new float[nk * d];
        v = new float[nk * d];
        for (int i = 0; i < k.length; i++) {
            k[i] = (float) (r.nextDouble() - 0.5);
            v[i] = (float) (r.nextDouble() - 0.5);
        }
        for (int i = 0; i < q.length; i++) q[i] = (float) (r.nextDouble() - 0.5);
        att = new float[nq * d];
        lo = new int[nq];
        hi = new int[nq];
        for (int i = 0; i < nq; i++) {
            hi[i] = 249 + i;
            lo[i] = i;
        }
        int cap = Attention.ringCapacity(250 + 2);
        ringK = new float[64][cap * d];
        ringV = new float[64][cap * d];
        for (int l = 0; l < 64; l++) {
            for (int i = 0; i < cap * d; i++) {
                ringK[l][i] = (float) (r.nextDouble() - 0.5);
                ringV[l][i] = (float) (r.nextDouble() - 0.5);
            }
        }
        stepQ = java.util.Arrays.copyOf(q, 2 * d);
        stepOut = new float[2 * d];
    }

    /** FMA peak of one thread: {@link FmaPeak#flops}(1e6) = 384 MFLOP per call with AVX-512, 192 with AVX2. */
    @Benchmark
    public float fmaPeak() {
        return FmaPeak.kernel(1_000_000, 1f);
    }

    /** ELU over 512K floats. */
    @Benchmark
    public float[] elu() {
        Activations.elu(act, actOut, act.length);
        return actOut;
    }

    /** Exact GELU over 512K floats (in place on a copy). */
    @Benchmark
    public float[] gelu() {
        System.arraycopy(act, 0, actOut, 0, act.length);
        Activations.gelu(actOut, actOut.length);
        return actOut;
    }

    /** LayerNorm of [512][1024]. */
    @Benchmark
    public float[] layerNorm() {
        LayerNorm.forward(act, actOut, 512, 1024, normW, normB, 1e-5f);
        return actOut;
    }

    /**
     * One stream's streaming step of one layer: 2 queries over a window of 250 cached steps, 8 heads x 64, read in
     * place from the rings of 64 layers in turn (64 MB: from memory, as in a stream, where 16 layers cycle 16 MB
     * between steps), the window moving by 2 steps per call: 4*512*250*2 = 1.0 MFLOP, 1 MB of keys and values.
     */
    @Benchmark
    public float[] attentionStep() {
        int l = ringLayer = (ringLayer + 1) & 63;
        int cap = ringK[l].length / 512;
        ringStart = (ringStart + 2) % cap;
        Attention.attend(stepQ, 2, ringK[l], ringV[l], ringStart, cap, 8, 64, stepLo, stepHi, stepOut);
        return stepOut;
    }

    /** Attention, 256 queries x 250 keys x 8 heads x 64: 4*512*250*256 = 131 MFLOP. */
    @Benchmark
    public float[] attention() {
        Attention.attend(q, 256, k, v, 8, 64, lo, hi, att);
        return att;
    }
}
