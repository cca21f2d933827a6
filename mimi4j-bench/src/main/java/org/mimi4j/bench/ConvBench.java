package org.mimi4j.bench;

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
 * "out,in,kernel,stride,steps" for Conv1d, "T:in,out,kernel,stride,steps" for ConvTranspose1d (groups 1).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class ConvBench {
    @Param({"64,1,7,1,7680", "32,64,3,1,7680", "64,32,1,1,7680", "128,64,8,4,7680", "64,128,3,1,1920", "256,128,10,5,1920",
            "512,256,12,6,384", "1024,512,16,8,64", "512,1024,3,1,8",
            "T:1024,512,16,8,8", "T:512,256,12,6,64", "T:256,128,10,5,384", "T:128,64,8,4,1920", "1,64,3,1,7680"})
    public String layer;

    StreamingConv1d conv;
    StreamingConvTranspose1d convTr;
    StreamingConv1d.State[] cs;
    StreamingConvTranspose1d.State[] ts;
    float[][] x;
    int t;

    @Setup(Level.Trial)
    public void setup() {
        boolean tr = layer.startsWith("T:");
        String[] p = (tr ? layer.substring(2) : layer).split(",");
        int a = Integer.parseInt(p[0]), b = Integer.parseInt(p[1]), k = Integer.parseInt(p[2]), s = Integer.parseInt(p[3]);
        t = Integer.parseInt(p[4]);
        SplittableRandom r = new SplittableRandom(1);
        float[] w = new float[a * b * k];
        for (int i = 0; i < w.length; i++) w[i] = (float) (r.nextDouble() - 0.5) * 0.1f;
        int in = tr ? a : b;
        x = new float[][]{new float[in * t]};
        for (int i = 0; i < x[0].length; i++) x[0][i] = (float) (r.nextDouble() - 0.5);
        if (tr) {
            convTr = new StreamingConvTranspose1d(w, new float[b], a, b, k, s, 1);
            ts = new StreamingConvTranspose1d.State[]{convTr.newState()};
        } else {
            conv = new StreamingConv1d(w, new float[a], a, b, k, s, 1, false);
            cs = new StreamingConv1d.State[]{conv.newState()};
        }
    }

    /** Flops: 2*out*in*kernel*steps/stride (Conv1d), 2*in*out*kernel*steps (ConvTranspose1d). */
    @Benchmark
    public float[][] forward() {
        return conv != null ? conv.forward(x, t, cs, false) : convTr.forward(x, t, ts);
    }
}
