package org.mimi4j.bench;

import org.mimi4j.kernels.Gemm;
import org.mimi4j.nn.StreamingConv1d;
import org.mimi4j.nn.StreamingConvTranspose1d;
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
 * The SEANet conv layers of the full-size model on one 7680-sample slice (4 frames, the offline slice size):
 * "out/in/kernel/stride/steps" for Conv1d, "T:in/out/kernel/stride/steps" for ConvTranspose1d (groups 1), and a
 * residual block "R:dim/steps" (conv dim/2 <- dim, kernel 3, its ELU, conv dim <- dim/2, plus x: the two GEMMs chained,
 * {@link StreamingConv1d#residual}) or the same as two separate calls, "R2:dim/steps". ('/' rather than ',', which
 * JMH's {@code -p layer=...} splits on.)
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class ConvBench {
    @Param({"64/1/7/1/7680", "32/64/3/1/7680", "64/32/1/1/7680", "128/64/8/4/7680", "64/128/3/1/1920", "256/128/10/5/1920",
            "512/256/12/6/384", "1024/512/16/8/64", "512/1024/3/1/8",
            "T:1024/512/16/8/8", "T:512/256/12/6/64", "T:256/128/10/5/384", "T:128/64/8/4/1920", "1/64/3/1/7680",
            "R:64/7680", "R2:64/7680", "R:128/1920", "R2:128/1920"})
    public String layer;

    StreamingConv1d conv, conv2;
    StreamingConvTranspose1d convTr;
    StreamingConv1d.State[] cs, cs2;
    boolean chained;
    StreamingConvTranspose1d.State[] ts;
    float[][] x;
    int t;

    @Setup(Level.Trial)
    public void setup() {
        if (layer.startsWith("R")) {
            String[] p = layer.substring(layer.indexOf(':') + 1).split("/");
            int dim = Integer.parseInt(p[0]), h = dim / 2;
            t = Integer.parseInt(p[1]);
            chained = layer.startsWith("R:");
            SplittableRandom r = new SplittableRandom(1);
            conv = new StreamingConv1d(random(r, h * dim * 3, 0.1f), new float[h], h, dim, 3, 1, 1, false);
            conv2 = new StreamingConv1d(random(r, dim * h, 0.1f), new float[dim], dim, h, 1, 1, 1, false);
            cs = new StreamingConv1d.State[]{conv.newState()};
            cs2 = new StreamingConv1d.State[]{conv2.newState()};
            x = new float[][]{random(r, dim * t, 1f)};
            return;
        }
        boolean tr = layer.startsWith("T:");
        String[] p = (tr ? layer.substring(2) : layer).split("/");
        int a = Integer.parseInt(p[0]), b = Integer.parseInt(p[1]), k = Integer.parseInt(p[2]), s = Integer.parseInt(p[3]);
        t = Integer.parseInt(p[4]);
        SplittableRandom r = new SplittableRandom(1);
        float[] w = random(r, a * b * k, 0.1f);
        x = new float[][]{random(r, (tr ? a : b) * t, 1f)};
        if (tr) {
            convTr = new StreamingConvTranspose1d(w, new float[b], a, b, k, s, 1);
            ts = new StreamingConvTranspose1d.State[]{convTr.newState()};
        } else {
            conv = new StreamingConv1d(w, new float[a], a, b, k, s, 1, false);
            cs = new StreamingConv1d.State[]{conv.newState()};
        }
    }

    private static float[] random(SplittableRandom r, int n, float scale) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) (r.nextDouble() - 0.5) * scale;
        return a;
    }

    /**
     * Flops: 2*out*in*kernel*steps/stride (Conv1d), 2*in*out*kernel*steps (ConvTranspose1d), 2*(dim/2)*dim*4*steps
     * (a residual block).
     */
    @Benchmark
    public float[][] forward() {
        if (conv2 != null) {
            if (chained) return StreamingConv1d.residual(conv, cs, conv2, cs2, x, t);
            Gemm.Epilogue[] elu = {Gemm.Epilogue.ELU}, add = {Gemm.Epilogue.add(x[0])};
            return conv2.forward(conv.forward(x, t, cs, false, true, elu), t, cs2, false, false, add);
        }
        return conv != null ? conv.forward(x, t, cs, false) : convTr.forward(x, t, ts);
    }
}
