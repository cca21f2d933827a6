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

/** Streaming encode against upstream moshi's streaming goldens (stream_codes_q4/q8, stream_emb), any chunking. */
class MimiEncoderStreamTest {

    @ParameterizedTest(name = "{0} {1} item {2}")
    @MethodSource("org.mimi4j.stream.Fixtures#streams")
    void anyChunkingGivesUpstreamStreamingResults(String weights, String c, int item) {
        Mimi m = model(weights);
        float[] audio = audio(c, item);
        float[] wantEmb = item(c + ".stream_emb", item);
        for (String chunking : CHUNKINGS) {
            int[] sizes = schedule(chunking, audio.length);
            for (int k : new int[]{4, 8}) {
                String what = weights + " " + c + "[" + item + "] chunks " + chunking + " q" + k;
                Latents lat = new Latents();
                MimiEncoderStream s = m.encoderStream(k).latentListener(lat);
                assertEquals(StreamMode.UPSTREAM, s.mode());
                int[][] frames = encode(s, audio, sizes);
                assertCodes(codes(c + ".stream_codes_q" + k, item), transpose(frames, k), what);
                assertClose(lat.channelMajor(), wantEmb, what + " stream_emb");
                assertEquals(frames.length, s.framesOut());
                assertEquals(audio.length, s.samplesIn());
            }
        }
    }

    @ParameterizedTest(name = "{0} {1} item {2}")
    @MethodSource("org.mimi4j.stream.Fixtures#streams")
    void offlineExactModeGivesOfflineCodes(String weights, String c, int item) {
        Mimi m = model(weights);
        float[] audio = audio(c, item);
        for (String chunking : List.of("1920", "5000", "mix3")) {
            for (int k : new int[]{4, 8}) {
                String what = weights + " " + c + "[" + item + "] offline-exact chunks " + chunking + " q" + k;
                Latents lat = new Latents();
                MimiEncoderStream s = m.encoderStream(k, StreamMode.OFFLINE_EXACT).latentListener(lat);
                int[][] frames = encode(s, audio, schedule(chunking, audio.length));
                assertCodes(codes(c + ".codes_q" + k, item), transpose(frames, k), what);
                assertClose(lat.channelMajor(), item(c + ".emb", item), what + " emb");
                // and the same as Mimi.encode of the same audio
                assertCodes(m.encode(audio, k), transpose(frames, k), what + " vs Mimi.encode");
            }
        }
    }

    @Test
    void chunkingDoesNotChangeTheResults() {
        for (StreamMode mode : StreamMode.values()) {
            Mimi m = model("moshi.safetensors");
            float[] audio = audio("odd", 0);
            float[] ref = null;
            int[][] refCodes = null;
            for (String chunking : List.of("100000", "1", "1920", "5000", "mix5")) {
                Latents lat = new Latents();
                int[][] codes = transpose(encode(m.encoderStream(8, mode).latentListener(lat), audio, schedule(chunking, audio.length)), 8);
                float[] got = lat.channelMajor();
                if (ref == null) {
                    ref = got;
                    refCodes = codes;
                } else {
                    assertSameRun(ref, got, mode + " latents with chunks " + chunking);
                    assertCodes(refCodes, codes, mode + " codes with chunks " + chunking);
                }
            }
        }
    }

    @Test
    void endPadsThePartialFrameWithZerosLikeOfflineEncode() {
        Mimi m = model("model.safetensors");
        float[] audio = java.util.Arrays.copyOf(audio("odd", 0), 1920 * 2 + 5);
        MimiEncoderStream s = m.encoderStream(8, StreamMode.OFFLINE_EXACT);
        assertEquals(2, s.push(audio).length);
        assertEquals(5, s.pendingSamples());
        int[][] last = s.end();
        assertEquals(1, last.length);
        int[][] offline = m.encode(audio, 8);
        assertEquals(3, offline[0].length);
        for (int q = 0; q < 8; q++) assertEquals(offline[q][2], last[0][q]);
        assertEquals(0, s.end().length, "a second end() returns nothing");
        assertThrows(IllegalStateException.class, () -> s.push(new float[1]));
        s.reset();
        assertCodes(offline, transpose(encode(s, audio, new int[]{audio.length}), 8), "after reset");
    }

    @Test
    void edgeCases() {
        Mimi m = model("moshi.safetensors");
        MimiEncoderStream s = m.encoderStream(8);
        assertEquals(0, s.push(new float[0]).length);
        assertEquals(0, s.end().length, "no samples: no frame");
        s.reset();
        assertEquals(0, s.push(new float[1919]).length);
        assertEquals(1, s.push(new float[1]).length);
        assertEquals(0, s.end().length, "whole frames: end adds nothing");
        s.reset();
        float[] bad = new float[10];
        bad[3] = Float.NaN;
        assertThrows(InvalidInputException.class, () -> s.push(bad));
        assertThrows(IndexOutOfBoundsException.class, () -> s.push(new float[10], 5, 6));
        assertThrows(InvalidInputException.class, () -> m.encoderStream(0));
        assertThrows(InvalidInputException.class, () -> m.encoderStream(m.totalCodebooks() + 1));
        // a single frame from single samples
        float[] one = audio("frame1", 0);
        MimiEncoderStream t = m.encoderStream(8);
        int[][] got = encode(t, one, schedule("1", one.length));
        assertCodes(codes("frame1.stream_codes_q8", 0), transpose(got, 8), "frame1 sample by sample");
    }

    @Test
    void copyContinuesIdentically() {
        for (String w : WEIGHTS) {
            Mimi m = model(w);
            float[] audio = audio("long", 0);
            int[][] want = codes("long.stream_codes_q8", 0);
            for (int cut : new int[]{0, 1, 1919, 1920, 50_001, 100_000, audio.length}) {
                MimiEncoderStream a = m.encoderStream(8);
                List<int[]> head = new ArrayList<>(List.of(a.push(audio, 0, cut)));
                MimiEncoderStream b = a.copy();
                assertEquals(a.stateBytes(), b.stateBytes());
                // continue both, with different chunkings, interleaved
                List<int[]> ta = new ArrayList<>(head), tb = new ArrayList<>(head);
                int[] sa = schedule("mix" + cut, audio.length - cut), sb = schedule("777", audio.length - cut);
                int pa = cut, pb = cut;
                for (int i = 0; i < Math.max(sa.length, sb.length); i++) {
                    if (i < sa.length) { ta.addAll(List.of(a.push(audio, pa, sa[i]))); pa += sa[i]; }
                    if (i < sb.length) { tb.addAll(List.of(b.push(audio, pb, sb[i]))); pb += sb[i]; }
                }
                ta.addAll(List.of(a.end()));
                tb.addAll(List.of(b.end()));
                assertCodes(want, transpose(ta.toArray(new int[0][]), 8), w + " original after copy at " + cut);
                assertCodes(want, transpose(tb.toArray(new int[0][]), 8), w + " copy at " + cut);
            }
        }
    }

    @Test
    void manyThreadsShareOneModel() throws Exception {
        Mimi m = model("model.safetensors");
        List<String[]> jobs = new ArrayList<>();
        for (String c : G.caseNames()) for (int i = 0; i < G.shape(c + ".audio")[0]; i++) jobs.add(new String[]{c, "" + i});
        ExecutorService ex = Executors.newFixedThreadPool(8);
        try {
            List<Future<?>> fs = new ArrayList<>();
            for (int rep = 0; rep < 3; rep++) {
                for (String[] j : jobs) {
                    String c = j[0];
                    int item = Integer.parseInt(j[1]);
                    String chunking = List.of("480", "5000", "mix" + rep).get(rep);
                    fs.add(ex.submit(() -> {
                        float[] audio = audio(c, item);
                        MimiEncoderStream s = m.encoderStream(8);
                        int[][] frames = encode(s, audio, schedule(chunking, audio.length));
                        assertCodes(codes(c + ".stream_codes_q8", item), transpose(frames, 8), "thread " + c + "[" + item + "] " + chunking);
                        return null;
                    }));
                }
            }
            for (Future<?> f : fs) f.get();
        } finally {
            ex.shutdownNow();
        }
    }

    /** One hour of audio through one upstream stream (5 minutes offline-exact): the state stops growing after the first push, the codes stay defined. */
    @Test
    void oneHourInBoundedState() {
        Mimi m = model("moshi.safetensors");
        for (StreamMode mode : StreamMode.values()) {
            MimiEncoderStream s = m.encoderStream(8, mode);
            long bytes0 = s.stateBytes(), bytes1 = 0;
            assertTrue(bytes0 > 0);
            int chunk = 1920 * 25 + 7; // ~2 s, not a whole number of frames
            float[] x = new float[chunk];
            long total = (mode == StreamMode.UPSTREAM ? 3600L : 300L) * 24_000, pos = 0, frames = 0;
            java.util.SplittableRandom r = new java.util.SplittableRandom(5);
            int[] firstFrame = null, lastFrame = null;
            while (pos < total) {
                int n = (int) Math.min(chunk, total - pos);
                for (int i = 0; i < n; i++) {
                    double t = (pos + i) / 24_000.0;
                    x[i] = (float) (0.3 * Math.sin(2 * Math.PI * (220 + 40 * Math.sin(t / 7)) * t) + 0.05 * (r.nextDouble() - 0.5));
                }
                for (int[] f : s.push(x, 0, n)) {
                    for (int code : f) assertTrue(code >= 0 && code < m.cardinality());
                    if (firstFrame == null) firstFrame = f;
                    lastFrame = f;
                    frames++;
                }
                // the first push of many frames makes room for that many beside the window, then nothing grows
                if (pos == 0) bytes1 = s.stateBytes();
                pos += n;
                assertEquals(bytes1, s.stateBytes(), mode + ": state bytes after " + pos + " samples");
            }
            frames += s.end().length;
            assertEquals(total / 1920, frames);
            assertEquals(bytes1, s.stateBytes());
            assertTrue(bytes1 < 3 * bytes0, mode + ": " + bytes1 + " bytes of state, " + bytes0 + " at the start");
            assertEquals(8, lastFrame.length);
        }
    }
}
