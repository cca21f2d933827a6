package org.mimi4j;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * An offline encode quantizes several chunks' latents, and a batch's items, side by side in one quantizer call: each
 * item's codes must still be its own, frame for frame. Items that differ (a swapped item or chunk would show), long
 * enough for several chunks and a flush before the last one, with lengths that end inside a frame.
 */
class BatchEncodeTest {
    @Test
    void aBatchOfDifferentItemsGivesEachItemsOwnCodes() {
        Mimi model = Mimi.load(Golden.tinyDir().resolve("model.safetensors"));
        int fs = model.frameSize(), n = 200 * fs + 777, nq = model.totalCodebooks();
        int[] lengths = {n, n - 31 * fs - 5, n - 137 * fs};
        float[][] batch = new float[lengths.length][n];
        SplittableRandom r = new SplittableRandom(11);
        for (int b = 0; b < lengths.length; b++) {
            double phase = 0, step = 0.01 + 0.013 * b;
            for (int i = 0; i < lengths[b]; i++) {
                phase += step + 0.004 * Math.sin(i * 3e-4);
                batch[b][i] = (float) (0.35 * Math.sin(phase) + 0.04 * (r.nextDouble() - 0.5));
            }
        }
        Mimi.EncodeResult got = model.encode(batch, lengths, nq, Padding.MOSHI, null);
        for (int b = 0; b < lengths.length; b++) {
            int[][] alone = model.encode(java.util.Arrays.copyOf(batch[b], lengths[b]), nq, Padding.MOSHI);
            int frames = (lengths[b] + fs - 1) / fs;
            assertEquals(frames, alone[0].length);
            for (int k = 0; k < nq; k++) {
                assertArrayEquals(alone[k], java.util.Arrays.copyOf(got.audioCodes()[b][k], frames), "item " + b + ", codebook " + k);
            }
        }
    }
}
