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

    /**
     * Clips encoded through {@link Mimi#encodeClips}: each gets its codes alone, in the clips' order, whatever the
     * lengths that group them; a clip with a NaN sample gets the error its encode alone throws, and the others of its
     * batch their codes; transformers padding, clip by clip, the same.
     */
    @Test
    void clipsGetTheirOwnCodesAndErrors() {
        Mimi model = Mimi.load(Golden.tinyDir().resolve("model.safetensors"));
        int[] lengths = {30000, 31000, 12000, 30500, 12100, 45000, 29900, 30200, 1};
        java.util.List<float[]> clips = new java.util.ArrayList<>();
        for (int i = 0; i < lengths.length; i++) {
            float[] x = new float[lengths[i]];
            for (int j = 0; j < x.length; j++) x[j] = (float) (0.3 * Math.sin(j * (0.02 + 0.003 * i)) + 0.02 * Math.sin(j * 1.7));
            if (i == 3) x[777] = Float.NaN;
            clips.add(x);
        }
        for (Padding padding : Padding.values()) {
            java.util.List<Mimi.ClipCodes> got = model.encodeClips(clips, 8, padding, 4);
            assertEquals(lengths.length, got.size());
            for (int i = 0; i < lengths.length; i++) {
                if (i == 3) {
                    String alone = org.junit.jupiter.api.Assertions.assertThrows(InvalidInputException.class, () -> model.encode(clips.get(3), 8, padding)).getMessage();
                    org.junit.jupiter.api.Assertions.assertNull(got.get(i).codes());
                    assertEquals(alone, got.get(i).error().getMessage());
                    continue;
                }
                org.junit.jupiter.api.Assertions.assertNull(got.get(i).error());
                assertArrayEquals(model.encode(clips.get(i), 8, padding), got.get(i).codes(), padding + ", clip " + i);
            }
        }
        assertEquals(0, model.encodeClips(java.util.List.of(), 8, Padding.MOSHI, 16).size());
        java.util.List<float[]> withNull = new java.util.ArrayList<>(clips);
        withNull.add(null);
        assertEquals("clip 9 is null", org.junit.jupiter.api.Assertions.assertThrows(InvalidInputException.class,
                () -> model.encodeClips(withNull, 8, Padding.MOSHI, 16)).getMessage());
        assertEquals("batch must be at least 1, got 0", org.junit.jupiter.api.Assertions.assertThrows(InvalidInputException.class,
                () -> model.encodeClips(clips, 8, Padding.MOSHI, 0)).getMessage());
    }

    /**
     * Codes of different lengths and codebook counts decoded through {@link Mimi#decodeClips}: each clip's audio is
     * its decode alone, bit for bit; a clip with a code out of range or ragged rows gets the error its decode alone
     * throws.
     */
    @Test
    void clipsDecodeToTheirOwnAudio() {
        Mimi model = Mimi.load(Golden.tinyDir().resolve("model.safetensors"));
        int[] frames = {20, 20, 7, 20, 7, 33, 20, 21, 20, 20};
        int[] books = {8, 8, 8, 4, 8, 8, 8, 4, 8, 8};
        SplittableRandom r = new SplittableRandom(5);
        java.util.List<int[][]> clips = new java.util.ArrayList<>();
        for (int i = 0; i < frames.length; i++) {
            int[][] c = new int[books[i]][frames[i]];
            for (int[] row : c) for (int t = 0; t < row.length; t++) row[t] = r.nextInt(model.cardinality());
            clips.add(c);
        }
        clips.get(8)[2][5] = model.cardinality(); // out of range
        clips.get(9)[3] = new int[19];           // ragged
        java.util.List<Mimi.ClipAudio> got = model.decodeClips(clips, 4);
        assertEquals(frames.length, got.size());
        for (int i = 0; i < frames.length; i++) {
            if (i >= 8) {
                int at = i;
                String alone = org.junit.jupiter.api.Assertions.assertThrows(InvalidInputException.class, () -> model.decode(clips.get(at))).getMessage();
                org.junit.jupiter.api.Assertions.assertNull(got.get(i).audio());
                assertEquals(alone, got.get(i).error().getMessage());
                continue;
            }
            org.junit.jupiter.api.Assertions.assertNull(got.get(i).error());
            assertArrayEquals(model.decode(clips.get(i)), got.get(i).audio(), "clip " + i);
        }
    }
}
