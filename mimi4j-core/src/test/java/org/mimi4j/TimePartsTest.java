package org.mimi4j;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.mimi4j.kernels.Parallel;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * An offline call on one long item runs the SEANet's high-rate layers as parts of its time range, one per thread,
 * each part after the first from fresh states started early by the layers' receptive field; a batch of two runs
 * each item whole on its own thread. Both must give what one sequential call gives: the same item twice in a batch
 * (never cut in time) and alone (cut in two) agree bit for bit, at lengths around the cut and with an odd tail. (A
 * batch with transformers' padding encodes its items one at a time, so the goldens' odd-length case checks the cut
 * with end padding against upstream.)
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
        SplittableRandom r = new SplittableRandom(7);
        // 8 s; 20 frames and a tail (moshi pads it to 21); an odd length
        int[] lengths = {192000, 20 * 1920 + 1234, 100001};
        for (int len : lengths) {
            float[] x = new float[len];
            double phase = 0;
            for (int i = 0; i < len; i++) {
                phase += 0.02 + 0.01 * Math.sin(i * 1e-4);
                x[i] = (float) (0.4 * Math.sin(phase) + 0.05 * (r.nextDouble() - 0.5));
            }
            int[][] alone = model.encode(x, 8, Padding.MOSHI);
            int[][][] batch = model.encode(new float[][]{x, x}, new int[]{len, len}, 8, Padding.MOSHI, null).audioCodes();
            assertArrayEquals(batch[0], alone, len + " samples: codes alone vs in a batch");
            assertArrayEquals(batch[1], alone, len + " samples");
            float[] y = model.decode(alone);
            float[][][] ys = model.decode(new int[][][]{alone, alone});
            assertArrayEquals(ys[0][0], y, len + " samples: audio alone vs in a batch");
            assertArrayEquals(ys[1][0], y, len + " samples");
        }
    }
}
