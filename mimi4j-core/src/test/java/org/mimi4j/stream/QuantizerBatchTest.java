package org.mimi4j.stream;

import org.junit.jupiter.api.Test;
import org.mimi4j.InvalidInputException;
import org.mimi4j.Mimi;
import org.mimi4j.nn.Transformer;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * A batch's steps are quantized and dequantized side by side (each codebook read once for all streams): every
 * stream gets exactly what it gets alone, also when the streams use different numbers of codebooks.
 */
class QuantizerBatchTest {
    @Test
    void batchEqualsEachStreamAlone() {
        Mimi m = Fixtures.model("model.safetensors");
        int d = m.config().hiddenSize(), t = 3, n = 5;
        SplittableRandom r = new SplittableRandom(11);
        float[][] emb = new float[n][d * t];
        for (float[] e : emb) for (int i = 0; i < e.length; i++) e[i] = (float) r.nextGaussian();
        int[][][] batch = m.quantize(emb, t, 8);
        for (int b = 0; b < n; b++) assertArrayEquals(m.quantize(new float[][]{emb[b]}, t, 8)[0], batch[b], "stream " + b);
        int[] counts = {8, 4, 8, 1, 4}; // streams with their own codebook counts in one call
        int[][][] mixed = m.quantize(emb, t, counts);
        for (int b = 0; b < n; b++) assertArrayEquals(m.quantize(new float[][]{emb[b]}, t, counts[b])[0], mixed[b], "mixed, stream " + b);
        assertThrows(InvalidInputException.class, () -> m.quantize(emb, t, new int[]{8, 8}), "a count per stream");
        assertThrows(InvalidInputException.class, () -> m.quantize(emb, t, new int[]{8, 8, 0, 8, 8}), "counts >= 1");

        // decode one step of streams with 8, 4, 8 and 1 codebooks at once, and each alone from a fresh state
        int[][][] codes = {batch[0], java.util.Arrays.copyOf(batch[1], 4), batch[2], java.util.Arrays.copyOf(batch[3], 1)};
        Mimi.DecoderState[] st = new Mimi.DecoderState[codes.length];
        for (int b = 0; b < st.length; b++) st[b] = m.newDecoderState(Transformer.CacheMode.UPSTREAM);
        float[][] together = m.decodeStep(codes, t, st, null, new int[]{0, 1, 2, 3});
        for (int b = 0; b < codes.length; b++) {
            Mimi.DecoderState[] solo = {m.newDecoderState(Transformer.CacheMode.UPSTREAM)};
            assertArrayEquals(m.decodeStep(new int[][][]{codes[b]}, t, solo, null, new int[]{0})[0], together[b], "stream " + b);
        }
    }

    /**
     * A long call (its nearest-codebook search and codebook sums split over the compute threads, in parts of whole
     * vectors plus a tail) gives every step the codes that short calls of the same steps give (one part each).
     */
    @Test
    void longCallEqualsShortCallsOfItsSteps() {
        Mimi m = Fixtures.model("model.safetensors");
        int d = m.config().hiddenSize(), t = 10_007, piece = 101;
        SplittableRandom r = new SplittableRandom(5);
        float[] emb = new float[d * t];
        for (int i = 0; i < emb.length; i++) emb[i] = (float) r.nextGaussian();
        int[][] all = m.quantize(new float[][]{emb}, t, 8)[0];
        for (int p0 = 0; p0 < t; p0 += piece) {
            int len = Math.min(piece, t - p0);
            float[] part = new float[d * len];
            for (int c = 0; c < d; c++) System.arraycopy(emb, c * t + p0, part, c * len, len);
            int[][] codes = m.quantize(new float[][]{part}, len, 8)[0];
            for (int k = 0; k < 8; k++) {
                assertArrayEquals(codes[k], java.util.Arrays.copyOfRange(all[k], p0, p0 + len), "codebook " + k + ", steps from " + p0);
            }
        }
    }
}
