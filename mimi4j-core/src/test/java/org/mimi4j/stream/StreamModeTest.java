package org.mimi4j.stream;

import org.junit.jupiter.api.Test;
import org.mimi4j.Mimi;
import org.mimi4j.nn.Transformer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.mimi4j.stream.Fixtures.*;

/** The two modes: same results within the transformer context, upstream's streaming vs offline beyond it. */
class StreamModeTest {
    @Test
    void modesMapToTheTransformerCacheSemantics() {
        assertEquals(Transformer.CacheMode.UPSTREAM, StreamMode.UPSTREAM.cacheMode());
        assertEquals(Transformer.CacheMode.OFFLINE_EXACT, StreamMode.OFFLINE_EXACT.cacheMode());
        Mimi m = model("model.safetensors");
        assertEquals(StreamMode.UPSTREAM, m.encoderStream(8).mode());
        assertEquals(StreamMode.UPSTREAM, m.decoderStream().mode());
        assertEquals(StreamMode.OFFLINE_EXACT, m.encoderStream(8, StreamMode.OFFLINE_EXACT).mode());
        assertEquals(StreamMode.OFFLINE_EXACT, m.decoderStream(StreamMode.OFFLINE_EXACT).mode());
    }

    @Test
    void modesAgreeWithinTheContextAndDifferBeyond() {
        Mimi m = model("moshi.safetensors");
        float[] a = audio("long", 0);
        int[][] up = transpose(encode(m.encoderStream(8), a, new int[]{a.length}), 8);
        int[][] off = transpose(encode(m.encoderStream(8, StreamMode.OFFLINE_EXACT), a, new int[]{a.length}), 8);
        int context = m.config().slidingWindow();          // 25 Hz steps
        int within = context / m.config().downsampleStride(); // code frames whose steps all lie within the context
        for (int q = 0; q < 8; q++) {
            assertArrayEquals(java.util.Arrays.copyOf(off[q], within), java.util.Arrays.copyOf(up[q], within), "codebook " + q);
        }
        boolean differ = false;
        for (int q = 0; q < 8; q++) differ |= !java.util.Arrays.equals(up[q], off[q]);
        org.junit.jupiter.api.Assertions.assertTrue(differ, "upstream streaming and offline differ past the context (mimi-facts #10)");
        assertCodes(codes("long.stream_codes_q8", 0), up, "upstream");
        assertCodes(codes("long.codes_q8", 0), off, "offline-exact");
    }
}
