package org.mimi4j.server;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.mimi4j.Mimi;
import org.mimi4j.stream.MimiDecoderStream;
import org.mimi4j.stream.MimiEncoderStream;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.*;

/** The three streaming endpoints against the library's streams, alone and many at once. */
class StreamEndpointsTest {
    static MimiServer server;
    static Mimi mimi;

    @BeforeAll
    static void up() throws Exception {
        mimi = TestServers.tiny();
        server = TestServers.start(ServerConfig.defaults().withMaxStreams(16));
    }

    @AfterAll
    static void down() throws Exception {
        server.stop();
    }

    static int[][] referenceCodes(float[] x, int nq) {
        MimiEncoderStream enc = mimi.encoderStream(nq);
        List<int[]> out = new ArrayList<>(List.of(enc.push(x)));
        out.addAll(List.of(enc.end()));
        return out.toArray(new int[0][]);
    }

    /**
     * Audio equality up to 1e-5: the kernels' float rounding changes while the JIT warms up (interpreted/C1 vs C2
     * Vector API code differ by up to ~3e-7 for the very same calls), so bit-exact comparison between two runs in one
     * JVM is not meaningful; codes are compared exactly.
     */
    static void assertAudio(float[] want, float[] got) {
        assertEquals(want.length, got.length, "samples");
        for (int i = 0; i < want.length; i++) {
            if (Math.abs(want[i] - got[i]) > 1e-5f) fail("sample " + i + ": want " + want[i] + ", got " + got[i]);
        }
    }

    /** The library's streaming decode, one frame per push as frames arrive in real time. */
    static float[] referenceAudio(int[][] frames) {
        MimiDecoderStream dec = mimi.decoderStream();
        float[] out = new float[frames.length * 1920];
        for (int t = 0; t < frames.length; t++) System.arraycopy(dec.push(frames[t]), 0, out, t * 1920, 1920);
        return out;
    }

    /** Streams x in random chunks to /v1/stream/encode; returns the code frames. */
    static int[][] streamEncode(float[] x, int nq, boolean s16, long seed) throws Exception {
        WsClient c = WsClient.connect(TestServers.ws(server, "/v1/stream/encode"));
        c.start(s16 ? "s16le" : "f32le", nq);
        String ready = c.next().text();
        assertTrue(ready.contains("\"type\":\"ready\"") && ready.contains("\"num_quantizers\":" + nq), ready);
        Random r = new Random(seed);
        short[] q = new short[x.length];
        for (int i = 0; i < x.length; i++) q[i] = (short) Math.round(x[i] * 32767);
        for (int off = 0; off < x.length; ) {
            int n = Math.min(x.length - off, 1 + r.nextInt(5000));
            c.binary(s16 ? WsClient.s16(q, off, n) : WsClient.f32(x, off, n));
            off += n;
        }
        c.text("{\"type\":\"end\"}");
        List<int[]> frames = new ArrayList<>();
        String done = null;
        for (WsClient.Msg m : c.all()) {
            if (m.binary() != null) frames.add(WsClient.frameOf(m.binary()));
            else if (m.text() != null) done = m.text();
            else assertEquals(1000, m.closeCode(), "close: " + m);
        }
        assertEquals("{\"type\":\"done\",\"frames\":" + frames.size() + "}", done);
        return frames.toArray(new int[0][]);
    }

    @Test
    void encodeEqualsLibraryStream() throws Exception {
        float[] x = TestServers.audio(24000 * 3 + 777, 1);
        int[][] got = streamEncode(x, 8, false, 7);
        assertEquals((x.length + 1919) / 1920, got.length);
        assertArrayEquals(referenceCodes(x, 8), got);
    }

    @Test
    void encodeS16AndFewerCodebooks() throws Exception {
        float[] x = TestServers.audio(24000 * 2, 2);
        float[] dq = new float[x.length];
        for (int i = 0; i < x.length; i++) dq[i] = (short) Math.round(x[i] * 32767) / 32768f;
        assertArrayEquals(referenceCodes(dq, 3), streamEncode(x, 3, true, 8));
    }

    static float[] streamDecode(int[][] frames, boolean f32, long seed) throws Exception {
        return streamDecode(frames, f32, seed, server);
    }

    static float[] streamDecode(int[][] frames, boolean f32, long seed, MimiServer server) throws Exception {
        WsClient c = WsClient.connect(TestServers.ws(server, "/v1/stream/decode"));
        c.start(f32 ? "f32le" : "s16le", frames[0].length);
        assertTrue(c.next().text().contains("\"ready\""));
        Random r = new Random(seed);
        for (int t = 0; t < frames.length; ) {
            int n = Math.min(frames.length - t, 1 + r.nextInt(4));
            c.binary(WsClient.codes(frames, t, n));
            t += n;
        }
        c.text("{\"type\":\"end\"}");
        float[] out = new float[0];
        int msgs = 0;
        for (WsClient.Msg m : c.all()) {
            if (m.binary() != null) {
                float[] y = WsClient.pcmOf(m.binary(), f32);
                assertEquals(1920, y.length, "one PCM message per frame");
                out = java.util.Arrays.copyOf(out, out.length + y.length);
                System.arraycopy(y, 0, out, out.length - y.length, y.length);
                msgs++;
            } else if (m.isClose()) assertEquals(1000, m.closeCode(), m.toString());
        }
        assertEquals(frames.length, msgs);
        return out;
    }

    @Test
    void decodeEqualsLibraryStream() throws Exception {
        int[][] frames = referenceCodes(TestServers.audio(24000 * 2 + 5, 3), 8);
        assertAudio(referenceAudio(frames), streamDecode(frames, true, 3));
        float[] s16 = streamDecode(frames, false, 4);
        float[] ref = referenceAudio(frames);
        for (int i = 0; i < ref.length; i++) assertEquals(Math.round(Math.clamp(ref[i], -1f, 1f) * 32767) / 32768f, s16[i], 1.01 / 32768);
    }

    static void roundtrip(float[] x, int nq, long seed) throws Exception {
        WsClient c = WsClient.connect(TestServers.ws(server, "/v1/stream/roundtrip"));
        c.start("f32le", nq);
        assertTrue(c.next().text().contains("\"stream\":\"roundtrip\""));
        Random r = new Random(seed);
        for (int off = 0; off < x.length; ) {
            int n = Math.min(x.length - off, 1 + r.nextInt(3000));
            c.binary(WsClient.f32(x, off, n));
            off += n;
        }
        c.text("{\"type\":\"end\"}");
        List<int[]> codes = new ArrayList<>();
        List<float[]> pcm = new ArrayList<>();
        for (WsClient.Msg m : c.all()) {
            if (m.binary() != null) {
                if (m.binary().length == 2 * nq) {
                    assertEquals(codes.size(), pcm.size(), "each frame's codes come before its audio");
                    codes.add(WsClient.frameOf(m.binary()));
                } else {
                    assertEquals(4 * 1920, m.binary().length);
                    pcm.add(WsClient.pcmOf(m.binary(), true));
                }
            } else if (m.isClose()) assertEquals(1000, m.closeCode(), m.toString());
        }
        int[][] ref = referenceCodes(x, nq);
        assertArrayEquals(ref, codes.toArray(new int[0][]));
        float[] audio = new float[pcm.size() * 1920];
        for (int i = 0; i < pcm.size(); i++) System.arraycopy(pcm.get(i), 0, audio, i * 1920, 1920);
        assertAudio(referenceAudio(ref), audio);
    }

    @Test
    void roundtripEqualsLibraryStreams() throws Exception {
        roundtrip(TestServers.audio(24000 * 2 + 100, 5), 8, 5);
    }

    @Test
    void offlineExactModeGivesOfflineCodes() throws Exception {
        MimiServer main = server;
        float[] x = TestServers.audio(24000 * 3 + 50, 21); // 38 frames: far past the tiny model's context (8 steps)
        try (MimiServer exact = TestServers.start(ServerConfig.defaults().withMode(org.mimi4j.stream.StreamMode.OFFLINE_EXACT))) {
            server = exact;
            int[][] got = streamEncode(x, 8, false, 21);
            int[][] offline = mimi.encode(x, 8); // [K][T]
            for (int t = 0; t < got.length; t++) for (int q = 0; q < 8; q++) assertEquals(offline[q][t], got[t][q], "frame " + t + " codebook " + q);
            assertFalse(java.util.Arrays.deepEquals(referenceCodes(x, 8), got), "upstream streaming differs past the context");
        } finally {
            server = main;
        }
    }

    /**
     * Encode streams of 8, 3 and 1 codebooks at once share the encoder's steps (one batch for every count: with a
     * batch per count, each step held one stream here), and each gets the library's codes for its count.
     */
    @Test
    void streamsOfDifferentCodebookCountsShareTheEncoderSteps() throws Exception {
        int[] counts = {8, 3, 1};
        float[][] x = new float[counts.length][];
        WsClient[] c = new WsClient[counts.length];
        for (int i = 0; i < counts.length; i++) {
            x[i] = TestServers.audio(24000 * 4 + 100 * i, 200 + i);
            c[i] = WsClient.connect(TestServers.ws(server, "/v1/stream/encode"));
            c[i].start("f32le", counts[i]);
            assertTrue(c[i].next().text().contains("\"num_quantizers\":" + counts[i]));
        }
        long steps0 = server.metrics().encoderStep.count();
        long items0 = server.metrics().encoderStreamsStepped.get();
        for (int off = 0; off < x[0].length; off += 9600) { // the three streams' audio side by side, 0.4 s at a time
            for (int i = 0; i < counts.length; i++) {
                int n = Math.min(9600, x[i].length - off);
                if (n > 0) c[i].binary(WsClient.f32(x[i], off, n));
            }
        }
        for (int i = 0; i < counts.length; i++) {
            if (x[i].length > x[0].length) c[i].binary(WsClient.f32(x[i], x[0].length, x[i].length - x[0].length));
            c[i].text("{\"type\":\"end\"}");
        }
        for (int i = 0; i < counts.length; i++) {
            List<int[]> frames = new ArrayList<>();
            for (WsClient.Msg m : c[i].all()) if (m.binary() != null) frames.add(WsClient.frameOf(m.binary()));
            assertArrayEquals(referenceCodes(x[i], counts[i]), frames.toArray(new int[0][]), counts[i] + " codebooks");
        }
        long steps = server.metrics().encoderStep.count() - steps0, items = server.metrics().encoderStreamsStepped.get() - items0;
        assertTrue(items > steps, "streams of different counts were batched: " + items + " stream-frames in " + steps + " steps");
    }

    @Test
    void manyStreamsAtOnceAreBatchedAndExact() throws Exception {
        long steps0 = server.metrics().encoderStep.count();
        long items0 = server.metrics().encoderStreamsStepped.get();
        ExecutorService pool = Executors.newFixedThreadPool(9);
        try {
            List<Future<?>> fs = new ArrayList<>();
            for (int i = 0; i < 9; i++) {
                int k = i;
                fs.add(pool.submit((Callable<Void>) () -> {
                    float[] x = TestServers.audio(24000 * 2 + 333 * k, 100 + k);
                    switch (k % 3) {
                        case 0 -> assertArrayEquals(referenceCodes(x, 8), streamEncode(x, 8, false, k));
                        case 1 -> {
                            int[][] f = referenceCodes(x, 8);
                            assertAudio(referenceAudio(f), streamDecode(f, true, k));
                        }
                        default -> roundtrip(x, 8, k);
                    }
                    return null;
                }));
            }
            for (Future<?> f : fs) f.get();
        } finally {
            pool.shutdownNow();
        }
        long steps = server.metrics().encoderStep.count() - steps0, items = server.metrics().encoderStreamsStepped.get() - items0;
        assertTrue(items > steps, "streams were batched: " + items + " stream-frames in " + steps + " steps");
        String m = server.metrics().render();
        assertTrue(server.metrics().framesEncoded() > 0 && server.metrics().framesDecoded() > 0);
        assertTrue(m.contains("mimi_frames_total{direction=\"encode\"} " + server.metrics().framesEncoded()), m);
        assertTrue(server.metrics().frameLatency.count() > 0, "frame latencies observed");
    }
}
