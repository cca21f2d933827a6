package org.mimi4j.bench;

import org.mimi4j.Mimi;
import org.mimi4j.nn.Transformer;
import org.mimi4j.perf.Bench;
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

import java.io.IOException;
import java.util.concurrent.TimeUnit;

/**
 * The full-size model (random weights with the released shapes, {@link Bench#randomModel}): offline encode and
 * decode of 10 s, the quantizer at 8 and 32 codebooks, one streaming step (encode + decode of one 80 ms frame),
 * and loading the checkpoint. Per-stage splits with GFLOP/s: {@code mimi bench}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class StageBench {
    @Param({"8", "32"})
    public int codebooks;

    Mimi model;
    float[] audio;
    int[][] codes;
    float[][] latent;
    Mimi.EncoderState[] es;
    Mimi.DecoderState[] ds;
    float[][] frame;
    int pos;

    @Setup(Level.Trial)
    public void setup() throws IOException {
        model = Mimi.load(Bench.randomModel());
        audio = new float[10 * 24000];
        for (int i = 0; i < audio.length; i++) audio[i] = (float) (0.3 * Math.sin(i * 0.037) + 0.1 * Math.sin(i * 0.0031));
        codes = model.encode(audio, codebooks);
        latent = model.encodeToLatent(audio);
        es = new Mimi.EncoderState[]{model.newEncoderState(Transformer.CacheMode.UPSTREAM)};
        ds = new Mimi.DecoderState[]{model.newDecoderState(Transformer.CacheMode.UPSTREAM)};
        frame = new float[1][1920];
    }

    /** 5.5 GFLOP per second of audio at 8 codebooks. */
    @Benchmark
    public int[][] encode10s() {
        return model.encode(audio, codebooks);
    }

    /** 5.4 GFLOP per second of audio. */
    @Benchmark
    public float[] decode10s() {
        return model.decode(codes);
    }

    /** Quantizer alone over 10 s of latents (125 frames). */
    @Benchmark
    public int[][][] quantize10s() {
        int t = latent[0].length;
        float[] x = new float[latent.length * t];
        for (int c = 0; c < latent.length; c++) System.arraycopy(latent[c], 0, x, c * t, t);
        return model.quantize(new float[][]{x}, t, codebooks);
    }

    /** One 80 ms frame in, its codes, and 80 ms of audio out (one stream, upstream streaming semantics). */
    @Benchmark
    public float[][] streamingStep() {
        System.arraycopy(audio, pos, frame[0], 0, 1920);
        pos = (pos + 1920) % (audio.length - 1920);
        float[][] emb = model.encodeToLatent(frame, 1920, es, false, null, new int[]{0});
        return model.decodeStep(model.quantize(emb, 1, codebooks), 1, ds, null, new int[]{0});
    }

    /** Loading the full-size float32 checkpoint (memory-mapped). */
    @Benchmark
    public Mimi load() throws IOException {
        return Mimi.load(Bench.randomModel());
    }
}
