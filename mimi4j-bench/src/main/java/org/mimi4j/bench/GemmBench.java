package org.mimi4j.bench;

import org.mimi4j.kernels.Gemm;
import org.mimi4j.kernels.PackedMatrix;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * GEMM alone on the model's shapes (transformer linears offline and streaming, conv-as-GEMM, the streaming strided
 * conv): GFLOP/s = 2*M*K*N / (score in us) / 1e3. Compare with {@link KernelBench#fmaPeak} of the same run.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class GemmBench {
    /**
     * M x K x N: 1536x512xN in_proj, 2048x512xN linear1, 512x2048xN linear2 (N=256 offline chunk, 2 streaming step, 32 =
     * 16 streams), 64x192x7680 thin conv. M x K x S x N: S segments of N columns each, a batch of S streams (the narrow
     * kernel's groups): the encoder's 512->1024 stride-8 conv and the decoder's 1024->512 transposed conv for 16 streams.
     */
    @Param({"1536x512x256", "2048x512x256", "512x2048x256", "1536x512x2", "2048x512x2", "512x2048x32", "64x192x7680", "1024x8192x8",
            "1024x8192x16x2", "8192x1024x16x2"})
    public String shape;

    PackedMatrix a;
    Gemm.Segment[] segs;
    int[] rows;

    @Setup(Level.Trial)
    public void setup() {
        String[] p = shape.split("x");
        int m = Integer.parseInt(p[0]), kk = Integer.parseInt(p[1]);
        int segments = p.length == 4 ? Integer.parseInt(p[2]) : 1, n = Integer.parseInt(p[p.length - 1]);
        SplittableRandom r = new SplittableRandom(1);
        float[] w = new float[m * kk];
        for (int i = 0; i < w.length; i++) w[i] = (float) (r.nextDouble() - 0.5);
        a = PackedMatrix.pack(w, m, kk);
        segs = new Gemm.Segment[segments];
        for (int s = 0; s < segments; s++) {
            float[] b = new float[kk * n];
            for (int i = 0; i < b.length; i++) b[i] = (float) (r.nextDouble() - 0.5);
            segs[s] = new Gemm.Segment(b, 0, new float[m * n], 0, n, n);
        }
        rows = Gemm.rowsOf(kk, n);
    }

    /** 2*M*K*N flops (times S). */
    @Benchmark
    public Gemm.Segment[] gemm() {
        Gemm.gemm(a, null, rows, segs, false);
        return segs;
    }
}
