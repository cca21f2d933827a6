package org.mimi4j;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.mimi4j.io.Checkpoint;
import org.mimi4j.io.RandomCheckpoint;
import org.mimi4j.io.SafeTensors;
import org.mimi4j.kernels.Parallel;

import java.nio.file.Path;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * An offline call runs the SEANet's high-rate layers as parts of each item's time range, a few per thread
 * ({@link Mimi#timeParts}), each part after the first started early by the layers' receptive field (from a new state
 * or one an earlier part left); a batch with a task's worth of items runs each item whole. Both must give what one
 * sequential call gives: the same item alone (cut into parts) and as every item of such a batch (never cut in time)
 * agree bit for bit, at lengths around the cuts and with an odd tail. (A batch with transformers' padding encodes its
 * items one at a time, so the goldens' odd-length case checks the cuts with end padding against upstream.)
 */
class TimePartsTest {
    private static Mimi model;

    @BeforeAll
    static void load() {
        model = Mimi.load(Golden.tinyDir().resolve("model.safetensors"));
    }

    @Test
    void aLoneItemCutInTimeEqualsTheSameItemWhole() {
        assumeTrue(Parallel.threads() >= 2, "one compute thread: nothing runs in parts");
        // 8 s; 20 frames and a tail (moshi pads it to 21); an odd length
        cutsChangeNothing(model, 192000, 20 * 1920 + 1234, 100001);
    }

    /**
     * The same for configs whose hops are not whole triples of their Winograd layers' steps (a stride of 3, hops of
     * 640 samples and a downsample stride of 3): the cuts, slices and warm-ups then come in multiples of 3 hops.
     */
    @ParameterizedTest
    @ValueSource(strings = {"10,8,4,3", "8,5,4,4"})
    void cutsKeepWholeTriplesForOtherStrides(String ratios, @TempDir Path dir) throws Exception {
        assumeTrue(Parallel.threads() >= 2, "one compute thread: nothing runs in parts");
        MimiConfig t = model.config();
        int[] r = java.util.Arrays.stream(ratios.split(",")).mapToInt(Integer::parseInt).toArray();
        MimiConfig c = new MimiConfig(t.samplingRate(), t.frameRate(), t.audioChannels(), t.hiddenSize(), t.numFilters(),
                t.numResidualLayers(), r, t.kernelSize(), t.lastKernelSize(), t.residualKernelSize(), t.dilationGrowthRate(),
                t.compress(), t.codebookSize(), t.codebookDim(), t.numQuantizers(), t.numSemanticQuantizers(), t.upsampleGroups(),
                t.numHiddenLayers(), t.intermediateSize(), t.numAttentionHeads(), t.headDim(), t.normEps(), t.ropeTheta(),
                t.slidingWindow());
        Path f = dir.resolve("model.safetensors");
        RandomCheckpoint.write(f, c, Checkpoint.Layout.MOSHI, SafeTensors.DType.F32, 3);
        cutsChangeNothing(Mimi.load(f, c), 120000, 30 * 1920 + 777);
    }

    /**
     * An offline encode runs the next call's high-rate SEANet beside the rest of this one, and an offline decode the
     * next call's layers up to the high-rate ones beside this call's high-rate parts (to a sink or to one array): the
     * same bits as the calls one after the other through the step API.
     */
    @Test
    void overlappedCallsEqualTheCallsOneAfterAnother() throws Exception {
        int fs = model.frameSize(), chunk = Mimi.chunkFrames(1), frames = 2 * chunk + 50; // three calls
        SplittableRandom r = new SplittableRandom(11);
        float[] x = new float[frames * fs];
        for (int i = 0; i < x.length; i++) x[i] = (float) (0.3 * Math.sin(i * 0.013) + 0.05 * (r.nextDouble() - 0.5));
        int[][] codes = model.encode(x, 8, Padding.MOSHI);
        Mimi.EncoderState[] es = {model.newEncoderState(org.mimi4j.nn.Transformer.CacheMode.OFFLINE_EXACT)};
        Mimi.DecoderState[] ds = {model.newDecoderState(org.mimi4j.nn.Transformer.CacheMode.OFFLINE_EXACT)};
        int[][] steps = new int[8][frames];
        float[] stepAudio = new float[frames * fs];
        for (int f0 = 0; f0 < frames; f0 += chunk) {
            int f = Math.min(chunk, frames - f0);
            float[][] emb = model.encodeToLatent(new float[][]{java.util.Arrays.copyOfRange(x, f0 * fs, (f0 + f) * fs)}, f * fs, es, false, null, new int[]{0});
            int[][] c = model.quantize(emb, f, 8)[0];
            for (int k = 0; k < 8; k++) System.arraycopy(c[k], 0, steps[k], f0, f);
            model.decodeStep(new int[][][]{c}, f, ds, null, new int[]{0}, new float[][]{stepAudio}, f0 * fs);
        }
        assertArrayEquals(steps, codes, "codes: one offline encode vs its calls one after another");
        assertArrayEquals(stepAudio, model.decode(codes), "audio: one offline decode vs its calls one after another");
        float[] sunk = new float[frames * fs];
        int[] at = {0};
        model.decode(codes, (buf, off, len) -> {
            System.arraycopy(buf, off, sunk, at[0], len);
            at[0] += len;
        });
        assertEquals(sunk.length, at[0]);
        assertArrayEquals(stepAudio, sunk, "audio: a decode to a sink vs the calls one after another");
    }

    private static void cutsChangeNothing(Mimi model, int... lengths) {
        SplittableRandom r = new SplittableRandom(7);
        for (int len : lengths) {
            float[] x = new float[len];
            double phase = 0;
            for (int i = 0; i < len; i++) {
                phase += 0.02 + 0.01 * Math.sin(i * 1e-4);
                x[i] = (float) (0.4 * Math.sin(phase) + 0.05 * (r.nextDouble() - 0.5));
            }
            int whole = Parallel.threads() * Mimi.PARTS_PER_THREAD; // items of a batch that is never cut in time
            assertEquals(1, Mimi.timeParts(whole, len / 960, 0));
            float[][] xs = new float[whole][];
            int[] lens = new int[whole];
            java.util.Arrays.fill(xs, x);
            java.util.Arrays.fill(lens, len);
            int[][] alone = model.encode(x, 8, Padding.MOSHI);
            int[][][] batch = model.encode(xs, lens, 8, Padding.MOSHI, null).audioCodes();
            for (int b = 0; b < whole; b++) assertArrayEquals(batch[b], alone, len + " samples: codes alone vs item " + b + " of a batch");
            float[] y = model.decode(alone);
            int[][][] codes = new int[whole][][];
            java.util.Arrays.fill(codes, alone);
            float[][][] ys = model.decode(codes);
            for (int b = 0; b < whole; b++) assertArrayEquals(ys[b][0], y, len + " samples: audio alone vs item " + b + " of a batch");
        }
    }
}
