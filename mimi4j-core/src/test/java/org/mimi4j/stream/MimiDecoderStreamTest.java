package org.mimi4j.stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.mimi4j.InvalidInputException;
import org.mimi4j.Mimi;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.mimi4j.stream.Fixtures.*;

/** Streaming decode of the golden offline codes against upstream's streaming decode (stream_decoded_q4/q8). */
class MimiDecoderStreamTest {

    /** Codes [K][T] to frames [T][K]. */
    static int[][] frames(int[][] kt) {
        int k = kt.length, t = kt[0].length;
        int[][] out = new int[t][k];
        for (int i = 0; i < t; i++) for (int q = 0; q < k; q++) out[i][q] = kt[q][i];
        return out;
    }

    /** Decodes frames in groups of {@code per} frames per push. */
    static float[] decode(MimiDecoderStream s, int[][] frames, int per) {
        List<float[]> out = new ArrayList<>();
        for (int t = 0; t < frames.length; t += per) {
            int n = Math.min(per, frames.length - t);
            float[] y = n == 1 ? s.push(frames[t]) : s.push(java.util.Arrays.copyOfRange(frames, t, t + n));
            assertEquals(n * 1920, y.length);
            out.add(y);
        }
        return concat(out);
    }

    @ParameterizedTest(name = "{0} {1} item {2}")
    @MethodSource("org.mimi4j.stream.Fixtures#streams")
    void decodesLikeUpstreamStreaming(String weights, String c, int item) {
        Mimi m = model(weights);
        for (int k : new int[]{4, 8}) {
            int[][] fr = frames(codes(c + ".codes_q" + k, item));
            float[] want = item(c + ".stream_decoded_q" + k, item);
            for (int per : new int[]{1, 3, 40}) {
                MimiDecoderStream s = m.decoderStream();
                assertEquals(StreamMode.UPSTREAM, s.mode());
                assertClose(decode(s, fr, per), want, weights + " " + c + "[" + item + "] q" + k + " " + per + " frames per push");
                assertEquals(fr.length, s.framesIn());
            }
        }
    }

    /** Decoding into the caller's buffer, at an offset, gives upstream's streaming audio and leaves the rest alone. */
    @ParameterizedTest(name = "{0} {1} item {2}")
    @MethodSource("org.mimi4j.stream.Fixtures#streams")
    void decodesIntoACallersBuffer(String weights, String c, int item) {
        Mimi m = model(weights);
        int[][] fr = frames(codes(c + ".codes_q8", item));
        float[] want = item(c + ".stream_decoded_q8", item);
        int off = 7;
        float[] buf = new float[off + fr.length * 1920 + 5];
        java.util.Arrays.fill(buf, 42f);
        MimiDecoderStream s = m.decoderStream();
        for (int t = 0; t < fr.length; t += 2) {
            if (t + 1 < fr.length) s.push(new int[][]{fr[t], fr[t + 1]}, buf, off + t * 1920);
            else s.push(fr[t], buf, off + t * 1920);
        }
        assertClose(java.util.Arrays.copyOfRange(buf, off, off + fr.length * 1920), want, weights + " " + c + "[" + item + "] into a buffer");
        for (int i = 0; i < off; i++) assertEquals(42f, buf[i]);
        for (int i = off + fr.length * 1920; i < buf.length; i++) assertEquals(42f, buf[i]);
        assertThrows(IndexOutOfBoundsException.class, () -> m.decoderStream().push(fr[0], new float[1919], 0));
    }

    @ParameterizedTest(name = "{0} {1} item {2}")
    @MethodSource("org.mimi4j.stream.Fixtures#streams")
    void offlineExactModeDecodesLikeOffline(String weights, String c, int item) {
        Mimi m = model(weights);
        for (int k : new int[]{4, 8}) {
            int[][] fr = frames(codes(c + ".codes_q" + k, item));
            MimiDecoderStream s = m.decoderStream(StreamMode.OFFLINE_EXACT);
            assertClose(decode(s, fr, 1), item(c + ".decoded_q" + k, item), weights + " " + c + "[" + item + "] q" + k + " offline-exact");
        }
    }

    @Test
    void framesMayChangeTheirCodebookCount() {
        Mimi m = model("model.safetensors");
        int[][] f8 = frames(codes("long.codes_q8", 0));
        // frames of 8, then 4 (a prefix), then 8 codebooks: pushing them one by one or together gives the same audio
        int[][] mixed = new int[f8.length][];
        for (int t = 0; t < f8.length; t++) mixed[t] = t % 3 == 1 ? java.util.Arrays.copyOf(f8[t], 4) : f8[t];
        float[] one = decode(m.decoderStream(), mixed, 1);
        float[] all = decode(m.decoderStream(), mixed, mixed.length);
        assertSameRun(one, all, "one by one vs all at once");
    }

    @Test
    void rejectsInvalidFrames() {
        Mimi m = model("moshi.safetensors");
        MimiDecoderStream s = m.decoderStream();
        assertThrows(InvalidInputException.class, () -> s.push(new int[0]));
        assertThrows(InvalidInputException.class, () -> s.push(new int[]{0, m.cardinality()}));
        assertThrows(InvalidInputException.class, () -> s.push(new int[]{-1}));
        assertThrows(InvalidInputException.class, () -> s.push(new int[m.totalCodebooks() + 1]));
        assertEquals(0, s.framesIn(), "rejected frames leave the state untouched");
        assertEquals(0, s.push(new int[0][]).length);
    }

    @Test
    void copyContinuesIdentically() {
        for (String w : WEIGHTS) {
            Mimi m = model(w);
            int[][] fr = frames(codes("long.codes_q8", 0));
            float[] want = decode(m.decoderStream(), fr, 1);
            for (int cut : new int[]{0, 1, 4, 37, fr.length}) {
                MimiDecoderStream a = m.decoderStream();
                float[] head = decode(a, java.util.Arrays.copyOf(fr, cut), 1);
                MimiDecoderStream b = a.copy();
                assertEquals(a.stateBytes(), b.stateBytes());
                int[][] rest = java.util.Arrays.copyOfRange(fr, cut, fr.length);
                float[] ta = concat(List.of(head, decode(a, rest, 1)));
                float[] tb = concat(List.of(head, decode(b, rest, 5)));
                assertSameRun(want, ta, w + " original after copy at " + cut);
                assertSameRun(want, tb, w + " copy at " + cut);
                a.reset();
                assertSameRun(want, decode(a, fr, 1), w + " after reset");
            }
        }
    }

    @Test
    void manyThreadsShareOneModel() throws Exception {
        Mimi m = model("moshi.safetensors");
        ExecutorService ex = Executors.newFixedThreadPool(8);
        try {
            List<Future<?>> fs = new ArrayList<>();
            for (int rep = 0; rep < 4; rep++) {
                for (String c : G.caseNames()) {
                    for (int item = 0; item < G.shape(c + ".audio")[0]; item++) {
                        int it = item, per = 1 + rep * 2;
                        fs.add(ex.submit(() -> {
                            int[][] fr = frames(codes(c + ".codes_q8", it));
                            assertClose(decode(m.decoderStream(), fr, per), item(c + ".stream_decoded_q8", it), "thread " + c + "[" + it + "]");
                            return null;
                        }));
                    }
                }
            }
            for (Future<?> f : fs) f.get();
        } finally {
            ex.shutdownNow();
        }
    }

    /** Ten minutes of frames: the state stops growing after the first push and the audio stays finite. */
    @Test
    void longStreamInBoundedState() {
        Mimi m = model("model.safetensors");
        int[][] fr = frames(codes("long.codes_q8", 0));
        MimiDecoderStream s = m.decoderStream();
        long bytes0 = s.stateBytes(), bytes1 = 0;
        for (int rep = 0; rep < 10 * 60 * 25 / 2 / fr.length + 1; rep++) {
            float[] y = s.push(fr);
            for (float v : y) assertTrue(Float.isFinite(v));
            // the first push of many frames makes room for that many beside the window, then nothing grows
            if (rep == 0) bytes1 = s.stateBytes();
            assertEquals(bytes1, s.stateBytes());
        }
        assertTrue(bytes1 < 3 * bytes0, bytes1 + " bytes of state, " + bytes0 + " at the start");
        assertTrue(s.framesIn() >= 7500);
    }
}
