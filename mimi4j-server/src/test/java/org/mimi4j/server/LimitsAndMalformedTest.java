package org.mimi4j.server;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Limits and malformed input: the offending connection is closed with a status code and a reason, and a victim
 * stream that runs through all of it still gets exactly the library's codes.
 */
class LimitsAndMalformedTest {
    static MimiServer server;

    @BeforeAll
    static void up() throws Exception {
        server = TestServers.start(ServerConfig.defaults().withMaxStreams(6).withMaxMessageBytes(8192).withMaxQueuedMessages(8)
                .withIdleTimeout(Duration.ofSeconds(20)));
    }

    @AfterAll
    static void down() throws Exception {
        server.stop();
    }

    static WsClient open(String kind, String format, int nq) throws Exception {
        WsClient c = WsClient.connect(TestServers.ws(server, "/v1/stream/" + kind));
        if (format != null) {
            c.start(format, nq);
            assertTrue(c.next().text().contains("\"ready\""));
        }
        return c;
    }

    /** Opens a stream, does something wrong, and checks the close code and reason. */
    static void offend(String kind, String format, Consumer<WsClient> wrong, int code, String reasonPart) throws Exception {
        WsClient c = open(kind, format, 8);
        try {
            wrong.accept(c);
        } catch (RuntimeException sendFailed) {
            // the server may close before the whole message is written
        }
        WsClient.Msg m = c.awaitClose();
        assertEquals(code, m.closeCode(), "close code for " + reasonPart + ": " + m);
        assertTrue(m.closeReason().contains(reasonPart), "reason '" + m.closeReason() + "' should contain '" + reasonPart + "'");
    }

    @Test
    void offendersAreClosedAndOthersGoOn() throws Exception {
        StreamEndpointsTest.mimi = TestServers.tiny();
        float[] x = TestServers.audio(24000 * 4, 42);
        WsClient victim = open("encode", "f32le", 8);
        CompletableFuture<List<int[]>> victimFrames = CompletableFuture.supplyAsync(() -> {
            try {
                for (int off = 0; off < x.length; off += 1000) {
                    victim.binary(WsClient.f32(x, off, Math.min(1000, x.length - off)));
                    Thread.sleep(15);
                }
                victim.text("{\"type\":\"end\"}");
                List<int[]> got = new ArrayList<>();
                for (WsClient.Msg m : victim.all()) {
                    if (m.binary() != null) got.add(WsClient.frameOf(m.binary()));
                    else if (m.isClose()) assertEquals(1000, m.closeCode(), m.toString());
                }
                return got;
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        });
        long protocol0 = server.metrics().errorCount("protocol");

        offend("encode", "f32le", c -> c.binary(new byte[7]), 1007, "not a whole number of f32le samples");
        offend("encode", "s16le", c -> c.binary(new byte[3]), 1007, "s16le samples");
        offend("decode", "f32le", c -> c.binary(new byte[10]), 1007, "not a whole number of code frames");
        offend("decode", "f32le", c -> c.binary(WsClient.codes(new int[][]{{1, 2, 3, 4, 5, 6, 7, 64}}, 0, 1)), 1007, "outside [0, 64)");
        offend("encode", "f32le", c -> c.binary(WsClient.f32(new float[]{0.1f, Float.NaN}, 0, 2)), 1007, "not finite");
        offend("encode", "f32le", c -> c.text("hello"), 1003, "unexpected text message");
        offend("roundtrip", "f32le", c -> c.text("{\"type\":\"pause\"}"), 1003, "unexpected text message");
        offend("encode", null, c -> c.text("{not json"), 1007, "bad start message");
        offend("encode", null, c -> c.text("{\"type\":\"start\",\"num_quantizers\":99}"), 1007, "num_quantizers must be an integer in 1..8");
        offend("encode", null, c -> c.text("{\"type\":\"start\",\"num_quantizers\":8.0}"), 1007, "num_quantizers must be an integer in 1..8, got 8.0");
        offend("encode", null, c -> c.text("{\"type\":\"start\",\"format\":\"mp3\"}"), 1007, "format must be");
        offend("encode", null, c -> c.text("{\"type\":\"start\",\"rate\":16000}"), 1007, "unknown field");
        offend("encode", null, c -> c.text("[1,2]"), 1007, "not a JSON object");
        offend("decode", null, c -> c.text("{\"type\":\"hello\"}"), 1008, "first message must be");
        offend("encode", null, c -> c.binary(new byte[8]), 1008, "start message");
        // data after the end: refused, unless the stream already finished (a race the client loses either way)
        WsClient late = open("encode", "f32le", 8);
        late.binary(WsClient.f32(x, 0, 1000));
        late.text("{\"type\":\"end\"}");
        try {
            late.binary(new byte[8]);
        } catch (RuntimeException closedAlready) {
            // fine
        }
        WsClient.Msg lm = late.awaitClose();
        assertTrue(lm.closeCode() == 1008 && lm.closeReason().contains("after the end") || lm.closeCode() == 1000, lm.toString());
        offend("encode", "f32le", c -> c.binary(new byte[8192 + 4]), 1009, "");
        offend("encode", null, c -> c.text("{\"type\":\"start\",\"x\":\"" + "a".repeat(5000) + "\"}"), 1009, "");
        assertTrue(server.metrics().errorCount("protocol") >= protocol0 + 14, "protocol errors counted");

        // abrupt disconnects, mid-stream and before the start: the server cleans up
        for (int i = 0; i < 3; i++) {
            WsClient a = open("roundtrip", i == 0 ? null : "f32le", 8);
            if (i > 0) a.binary(WsClient.f32(x, 0, 2000 * i));
            a.ws.abort();
        }

        List<int[]> got = victimFrames.get(60, TimeUnit.SECONDS);
        assertArrayEquals(StreamEndpointsTest.referenceCodes(x, 8), got.toArray(new int[0][]), "the victim stream is unharmed");
        waitFor(() -> server.admittedStreams() == 0, "every stream released after the aborts");
        waitFor(() -> server.metrics().activeStreams() == 0, "active gauge back to 0");
        System.out.println("errors after the aborts: protocol " + server.metrics().errorCount("protocol") + ", disconnect " + server.metrics().errorCount("disconnect"));
    }

    /** An empty binary message carries no samples or frames: it is skipped, and the stream goes on to its end. */
    @Test
    void emptyBinaryMessagesAreSkipped() throws Exception {
        StreamEndpointsTest.mimi = TestServers.tiny();
        float[] x = TestServers.audio(2 * 1920, 5);
        int[][] codes = StreamEndpointsTest.referenceCodes(x, 8);
        for (String kind : new String[]{"encode", "decode", "roundtrip"}) {
            WsClient c = open(kind, "f32le", 8);
            for (int i = 0; i < 2; i++) {
                c.binary(kind.equals("decode") ? WsClient.codes(codes, i, 1) : WsClient.f32(x, 1920 * i, 1920));
                c.binary(new byte[0]);
            }
            c.text("{\"type\":\"end\"}");
            List<WsClient.Msg> all = c.all();
            int binaries = 0;
            for (WsClient.Msg m : all) if (m.binary() != null) binaries++;
            assertEquals(kind.equals("roundtrip") ? 4 : 2, binaries, kind + ": " + all);
            assertEquals("{\"type\":\"done\",\"frames\":2}", all.get(all.size() - 2).text(), kind);
            assertEquals(1000, all.getLast().closeCode(), kind + ": " + all.getLast());
        }
    }

    @Test
    void nonsensicalSettingsAreRefused() {
        ServerConfig d = ServerConfig.defaults();
        assertEquals("--max-http-jobs must be at least 1, got 0", refused(() -> d.withMaxHttpJobs(0)));
        assertEquals("--max-http-jobs must be at least 1, got -1", refused(() -> d.withMaxHttpJobs(-1)));
        assertEquals("--max-upload-mb must be at least 1, got 0", refused(() -> d.withMaxUploadBytes(0)));
        assertEquals("--max-upload-mb must be at least 1, got -1", refused(() -> d.withMaxUploadBytes(-1L << 20)));
        assertEquals("--max-http-seconds must be at least 1, got 0", refused(() -> d.withMaxHttpSeconds(0)));
        assertEquals("--max-http-seconds must be at least 1, got -1", refused(() -> d.withMaxHttpSeconds(-1)));
        assertEquals("--idle-timeout must be positive, got 0", refused(() -> d.withIdleTimeout(Duration.ZERO)));
        assertEquals("--idle-timeout must be positive, got -1", refused(() -> d.withIdleTimeout(Duration.ofSeconds(-1))));
        assertEquals("--token must not be empty (leave it out to require no token)", refused(() -> d.withToken("")));
        assertEquals("--max-streams must be in 1..100000, got 0", refused(() -> d.withMaxStreams(0)));
        assertEquals("--max-streams must be in 1..100000, got 100001", refused(() -> d.withMaxStreams(100_001)));
        assertEquals("--port must be in 0..65535, got -1", refused(() -> d.withPort(-1)));
        assertEquals("--port must be in 0..65535, got 65536", refused(() -> d.withPort(65536)));
        assertEquals("--max-message-kb must be at least 4, got 3", refused(() -> d.withMaxMessageBytes(3 << 10)));
        assertEquals("--host must not be empty", refused(() -> d.withHost("")));
        assertEquals("max buffered seconds must be positive and finite, got NaN", refused(() -> d.withMaxBufferedSeconds(Double.NaN)));
        // the smallest sensible values, and port 0 (any free port), are fine
        ServerConfig ok = d.withPort(0).withMaxHttpJobs(1).withMaxUploadBytes(1).withMaxHttpSeconds(1).withIdleTimeout(Duration.ofMillis(1)).withToken(null);
        assertEquals(0, ok.port());
        assertNull(ok.token());
    }

    static String refused(org.junit.jupiter.api.function.Executable build) {
        return assertThrows(IllegalArgumentException.class, build).getMessage();
    }

    static void waitFor(java.util.function.BooleanSupplier cond, String what) throws InterruptedException {
        long end = System.nanoTime() + 10_000_000_000L;
        while (!cond.getAsBoolean()) {
            if (System.nanoTime() > end) fail("timed out waiting: " + what + "\n" + server.metrics().render());
            Thread.sleep(20);
        }
    }

    @Test
    void maxStreamsThenRefusedWithReason() throws Exception {
        waitFor(() -> server.admittedStreams() == 0, "idle server");
        List<WsClient> open = new ArrayList<>();
        for (int i = 0; i < 6; i++) open.add(open("encode", "f32le", 4));
        long full0 = server.metrics().rejectedCount("full");
        WsClient extra = WsClient.connect(TestServers.ws(server, "/v1/stream/decode"));
        WsClient.Msg m = extra.awaitClose();
        assertEquals(1013, m.closeCode());
        assertTrue(m.closeReason().startsWith("server full: 6 of 6 streams"), m.closeReason());
        assertEquals(full0 + 1, server.metrics().rejectedCount("full"));
        // the open ones still work
        WsClient first = open.get(0);
        first.binary(WsClient.f32(TestServers.audio(1920, 1), 0, 1920));
        WsClient.Msg fm = first.next();
        assertNotNull(fm.binary(), fm.toString());
        assertEquals(8, fm.binary().length);
        // one leaves: a new one gets in
        first.text("{\"type\":\"end\"}");
        assertEquals(1000, first.awaitClose().closeCode());
        waitFor(() -> server.admittedStreams() == 5, "a place freed");
        WsClient again = open("encode", "f32le", 4);
        again.binary(WsClient.f32(TestServers.audio(2000, 2), 0, 2000));
        WsClient.Msg am = again.next();
        assertNotNull(am.binary(), am.toString());
        assertEquals(8, am.binary().length);
        again.ws.abort();
        for (WsClient c : open.subList(1, 6)) c.ws.abort();
    }

    @Test
    void concurrentConnectionsNeverExceedTheLimit() throws Exception {
        waitFor(() -> server.admittedStreams() == 0, "idle server");
        List<CompletableFuture<WsClient>> all = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            all.add(CompletableFuture.supplyAsync(() -> WsClient.connect(TestServers.ws(server, "/v1/stream/roundtrip"))));
        }
        int ready = 0, refused = 0;
        List<WsClient> clients = new ArrayList<>();
        for (CompletableFuture<WsClient> f : all) {
            WsClient c = f.get(30, TimeUnit.SECONDS);
            clients.add(c);
            try {
                c.start("f32le", 8);
                WsClient.Msg m = c.next();
                if (m.text() != null && m.text().contains("\"ready\"")) ready++;
                else if (m.closeCode() == 1013) refused++;
            } catch (RuntimeException closedBeforeStart) {
                WsClient.Msg m = c.awaitClose();
                if (m.closeCode() == 1013) refused++;
            }
        }
        assertEquals(6, ready, "exactly max-streams admitted");
        assertEquals(14, refused);
        assertEquals(6, server.admittedStreams());
        for (WsClient c : clients) c.ws.abort();
        waitFor(() -> server.admittedStreams() == 0, "all released");
    }

    @Test
    void stoppingClosesStreamsWithAReason() throws Exception {
        MimiServer s = TestServers.start(ServerConfig.defaults());
        WsClient c = WsClient.connect(TestServers.ws(s, "/v1/stream/encode"));
        c.start("f32le", 8);
        assertTrue(c.next().text().contains("\"ready\""));
        s.stop();
        WsClient.Msg m = c.awaitClose();
        assertEquals(1001, m.closeCode(), m.toString());
        assertEquals("server shutting down", m.closeReason());
    }

    @Test
    void idleStreamsTimeOut() throws Exception {
        try (MimiServer idle = TestServers.start(ServerConfig.defaults().withIdleTimeout(Duration.ofMillis(1500)))) {
            idleStreamTimesOut(idle);
        }
    }

    static void idleStreamTimesOut(MimiServer server) throws Exception {
        WsClient quiet = WsClient.connect(TestServers.ws(server, "/v1/stream/encode"));
        quiet.start("f32le", 8);
        assertTrue(quiet.next().text().contains("\"ready\""));
        long t0 = System.nanoTime();
        WsClient.Msg m = quiet.awaitClose();
        double s = (System.nanoTime() - t0) / 1e9;
        assertTrue(s > 1.0 && s < 10, "closed after " + s + " s");
        assertEquals(1001, m.closeCode(), m.toString());
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (server.metrics().errorCount("idle_timeout") < 1 && System.nanoTime() < deadline) Thread.sleep(20);
        assertEquals(1, server.metrics().errorCount("idle_timeout"));
    }

    @Test
    void slowReaderIsClosedNotTheScheduler() throws Exception {
        StreamEndpointsTest.mimi = TestServers.tiny();
        long slow0 = server.metrics().errorCount("slow_client");
        RawWs slow = new RawWs(server.port(), "/v1/stream/decode");
        slow.text("{\"type\":\"start\",\"format\":\"f32le\",\"num_quantizers\":8}");
        int[][] frames = new int[100][8];
        CompletableFuture<Void> writer = new CompletableFuture<>();
        Thread.ofPlatform().daemon().start(() -> {
            try {
                for (int i = 0; i < 100; i++) slow.binary(WsClient.codes(frames, 0, 100)); // 10000 frames (13 min of audio), never reading
            } catch (IOException closed) {
                // expected once the server gives up on this client
            }
            writer.complete(null);
        });
        // meanwhile a well-behaved decode stream gets all its audio
        int[][] f = StreamEndpointsTest.referenceCodes(TestServers.audio(24000 * 2, 9), 8);
        float[] got = StreamEndpointsTest.streamDecode(f, true, 9, server);
        StreamEndpointsTest.assertAudio(StreamEndpointsTest.referenceAudio(f), got);
        waitFor(() -> server.metrics().errorCount("slow_client") > slow0, "the slow reader is detected");
        waitFor(() -> server.admittedStreams() == 0, "its place is released");
        writer.get(30, TimeUnit.SECONDS);
        slow.close();
    }
}
