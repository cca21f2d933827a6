package org.mimi4j.server;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.mimi4j.Mimi;
import org.mimi4j.audio.AudioIO;
import org.mimi4j.io.CodesFile;
import org.mimi4j.io.Json;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** POST /v1/encode and /v1/decode, /healthz, /metrics, the page, HTTP errors. */
class HttpEndpointsTest {
    static MimiServer server;
    static Mimi mimi;
    static final HttpClient HTTP = HttpClient.newHttpClient();

    @BeforeAll
    static void up() throws Exception {
        mimi = TestServers.tiny();
        server = TestServers.start(ServerConfig.defaults().withMaxUploadBytes(400_000).withMaxHttpSeconds(5));
    }

    @AfterAll
    static void down() throws Exception {
        server.stop();
    }

    static HttpResponse<byte[]> post(String path, byte[] body) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(server.uri().resolve(path)).POST(HttpRequest.BodyPublishers.ofByteArray(body)).build(),
                HttpResponse.BodyHandlers.ofByteArray());
    }

    static HttpResponse<String> get(String path) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(server.uri().resolve(path)).build(), HttpResponse.BodyHandlers.ofString());
    }

    /** A 16 kHz 16-bit WAV file (so the server resamples, as the CLI does). */
    static byte[] wav16k(float[] x) {
        return HttpApi.wav16(x, x.length, 16000);
    }

    @Test
    void encodeSafetensorsEqualsOfflineEncode() throws Exception {
        byte[] wav = wav16k(TestServers.audio(16000 * 2 + 123, 11));
        Path f = Files.createTempFile("in", ".wav");
        Files.write(f, wav);
        float[] ref24 = AudioIO.readMono(f, 24000).samples();
        HttpResponse<byte[]> r = post("v1/encode?num_quantizers=5", wav);
        assertEquals(200, r.statusCode(), new String(r.body()));
        Path out = Files.createTempFile("codes", ".safetensors");
        Files.write(out, r.body());
        CodesFile.Codes c = CodesFile.read(out);
        assertArrayEquals(mimi.encode(ref24, 5), c.codes());
        assertEquals(Integer.toString(ref24.length), c.metadata().get("input_samples"));
        assertEquals("16000", c.metadata().get("source_sample_rate"));

        // and back: POST the codes file to /v1/decode -> WAV trimmed to input_samples
        HttpResponse<byte[]> d = post("v1/decode", r.body());
        assertEquals(200, d.statusCode(), new String(d.body()));
        assertEquals("audio/wav", d.headers().firstValue("content-type").orElse(""));
        Path w = Files.createTempFile("out", ".wav");
        Files.write(w, d.body());
        float[] got = AudioIO.readMono(w).samples();
        float[] want = mimi.decode(c.codes());
        assertEquals(ref24.length, got.length);
        for (int i = 0; i < got.length; i++) assertEquals(Math.round(Math.clamp(want[i], -1f, 1f) * 32767) / 32768f, got[i], 1.01 / 32768);
        Files.delete(f);
        Files.delete(out);
        Files.delete(w);
    }

    @Test
    @SuppressWarnings("unchecked")
    void encodeJsonAndDecodeJson() throws Exception {
        float[] x = TestServers.audio(24000, 12);
        HttpResponse<byte[]> r = post("v1/encode?format=json&num_quantizers=8", HttpApi.wav16(x, x.length, 24000));
        assertEquals(200, r.statusCode());
        Map<String, Object> m = (Map<String, Object>) Json.parse(new String(r.body()));
        List<List<Long>> rows = (List<List<Long>>) m.get("codes");
        float[] dq = new float[x.length];
        for (int i = 0; i < x.length; i++) dq[i] = Math.round(Math.clamp(x[i], -1f, 1f) * 32767) / 32768f;
        int[][] want = mimi.encode(dq, 8);
        assertEquals(8, rows.size());
        for (int k = 0; k < 8; k++) for (int t = 0; t < want[0].length; t++) assertEquals(want[k][t], rows.get(k).get(t).intValue());
        assertEquals(13L, m.get("frames"));
        HttpResponse<byte[]> d = post("v1/decode", Json.write(Map.of("codes", rows, "input_samples", 1000L)).getBytes());
        assertEquals(200, d.statusCode(), new String(d.body()));
        assertEquals(44 + 2 * 1000, d.body().length);
    }

    @Test
    void badRequests() throws Exception {
        assertEquals(400, post("v1/encode", "this is not audio at all".getBytes()).statusCode());
        HttpResponse<byte[]> bad = post("v1/encode", "garbage!".repeat(100).getBytes());
        assertTrue(new String(bad.body()).contains("\"error\""), new String(bad.body()));
        assertEquals(400, post("v1/encode?num_quantizers=99", wav16k(TestServers.audio(1600, 1))).statusCode());
        assertEquals(400, post("v1/encode?format=xml", wav16k(TestServers.audio(1600, 1))).statusCode());
        assertEquals(400, post("v1/encode", new byte[0]).statusCode());
        assertEquals(413, post("v1/encode", new byte[500_000]).statusCode(), "upload limit");
        // a client still sending a refused body gets the 413, not a reset connection (the server drains the body)
        for (int i = 0; i < 10; i++) assertEquals(413, post("v1/encode", new byte[4_000_000]).statusCode(), "upload limit, 4 MB");
        assertEquals(413, post("v1/encode", HttpApi.wav16(new float[24000 * 6], 24000 * 6, 24000)).statusCode(), "duration limit");
        assertEquals(400, post("v1/decode", "{\"codes\": [[1, 2], [3]]}".getBytes()).statusCode(), "ragged codes");
        assertEquals(400, post("v1/decode", "{\"codes\": [[1, 64]]}".getBytes()).statusCode(), "code out of range");
        assertEquals(400, post("v1/decode", "{\"codes\": ".getBytes()).statusCode(), "bad JSON");
        assertEquals(400, post("v1/decode", "not a codes file".getBytes()).statusCode());
        assertEquals(405, get("v1/encode").statusCode());
        assertEquals(404, get("nope").statusCode());
        assertEquals(404, get("v1/nope").statusCode());
    }

    static String error(HttpResponse<byte[]> r) {
        assertEquals(400, r.statusCode(), new String(r.body()));
        String e = (String) ((Map<?, ?>) Json.parse(new String(r.body()))).get("error");
        assertFalse(e.contains("\n"), "one line: " + e);
        return e;
    }

    @Test
    void decodeRefusesBadInputSamplesAndEmptyCodes() throws Exception {
        String codes = "\"codes\": [[1, 2, 3], [4, 5, 6]]";
        String[][] bad = {{"-5", "-5"}, {"\"100\"", "\"100\""}, {"100.7", "100.7"}, {"1e3", "1000.0"}, {"null", "null"}, {"[100]", "[100]"}};
        for (String[] given : bad) {
            assertEquals("input_samples must be a non-negative integer, got " + given[1],
                    error(post("v1/decode", ("{" + codes + ", \"input_samples\": " + given[0] + "}").getBytes())));
        }
        Path f = Files.createTempFile("codes", ".safetensors");
        CodesFile.write(f, new int[][]{{1, 2, 3}}, Map.of("input_samples", "-5"), CodesFile.Format.SAFETENSORS);
        assertEquals("the codes file's metadata input_samples is not a non-negative integer: -5", error(post("v1/decode", Files.readAllBytes(f))));
        Files.delete(f);
        for (String empty : new String[]{"[[]]", "[[], []]"}) { // the server's words, or Mimi.checkCodes's where it checks first
            String e = error(post("v1/decode", ("{\"codes\": " + empty + "}").getBytes()));
            assertTrue(e.matches("codes of shape \\[\\d, 0] are empty|codes have no frames"), e);
        }
        // in range: trimmed; 0: no samples; past the decoded length: every sample, as mimi decode does
        assertEquals(44 + 2 * 100, post("v1/decode", ("{" + codes + ", \"input_samples\": 100}").getBytes()).body().length);
        assertEquals(44, post("v1/decode", ("{" + codes + ", \"input_samples\": 0}").getBytes()).body().length);
        assertEquals(44 + 2 * 3 * 1920, post("v1/decode", ("{" + codes + ", \"input_samples\": 999999}").getBytes()).body().length);
        assertEquals(44 + 2 * 3 * 1920, post("v1/decode", ("{" + codes + "}").getBytes()).body().length);
    }

    @Test
    void unknownOrRepeatedParametersAndFieldsAreRefused() throws Exception {
        byte[] wav = wav16k(TestServers.audio(1600, 1));
        assertEquals("unknown query parameter \"padding\" (/v1/encode takes num_quantizers, format, token)",
                error(post("v1/encode?padding=transformers&format=json", wav)));
        assertTrue(error(post("v1/encode?num_quantisers=2", wav)).startsWith("unknown query parameter \"num_quantisers\""));
        assertEquals("query parameter \"num_quantizers\" given 2 times", error(post("v1/encode?num_quantizers=2&num_quantizers=4", wav)));
        assertEquals(200, post("v1/encode?num_quantizers=2&format=json&token=ignored", wav).statusCode(), "token: allowed (no token required here)");
        assertEquals("unknown query parameter \"input_samples\" (/v1/decode takes token)",
                error(post("v1/decode?input_samples=10", "{\"codes\": [[1, 2]]}".getBytes())));
        assertEquals("unknown field \"input_sample\" in the JSON body (it takes \"codes\" and \"input_samples\")",
                error(post("v1/decode", "{\"codes\": [[1, 2]], \"input_sample\": 10}".getBytes())));
        assertEquals(400, get("healthz?verbose=1").statusCode());
        assertEquals(400, get("metrics?x=1").statusCode());
        assertEquals(200, get("metrics?token=t").statusCode());
        assertEquals(200, get("?utm_source=x").statusCode(), "the page ignores its query string");
        try {
            WsClient.connect(TestServers.ws(server, "/v1/stream/encode?num_quantizers=2"));
            fail("the upgrade should be refused");
        } catch (java.util.concurrent.CompletionException e) {
            assertEquals(400, ((java.net.http.WebSocketHandshakeException) e.getCause()).getResponse().statusCode());
        }
    }

    @Test
    void errorsNameTheRequestBodyNotATemporaryFile() throws Exception {
        assertEquals("request body: unrecognized audio format (supported: WAV, FLAC, MP3, Ogg Vorbis)", error(post("v1/encode", "garbage!".repeat(100).getBytes())));
        String e = error(post("v1/decode", "not a codes file".getBytes()));
        assertTrue(e.startsWith("request body: ") && !e.contains("mimi-serve-"), e);
        HttpResponse<byte[]> form = HTTP.send(HttpRequest.newBuilder(server.uri().resolve("v1/encode"))
                .header("Content-Type", "multipart/form-data; boundary=xyz")
                .POST(HttpRequest.BodyPublishers.ofString("--xyz\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.wav\"\r\n\r\nRIFF\r\n--xyz--\r\n")).build(),
                HttpResponse.BodyHandlers.ofByteArray());
        assertEquals("the body must be the raw file (curl --data-binary @file), not a multipart/form-data form (curl -F)", error(form));
    }

    @Test
    void busyWhenTheJobLimitIsReached() throws Exception {
        byte[] wav = HttpApi.wav16(TestServers.audio(24000, 3), 24000, 24000);
        java.util.concurrent.CountDownLatch started = new java.util.concurrent.CountDownLatch(1), release = new java.util.concurrent.CountDownLatch(1);
        // a slow upload holds the one job slot while its body trickles in
        java.io.InputStream slow = new java.io.InputStream() {
            int pos;

            @Override
            public int read() throws java.io.IOException {
                if (pos == 40_000) { // past the first chunks the client sends, so the server is inside the job, reading
                    started.countDown();
                    try {
                        release.await();
                    } catch (InterruptedException e) {
                        throw new java.io.IOException(e);
                    }
                }
                return pos < wav.length ? wav[pos++] & 0xff : -1;
            }
        };
        var first = HTTP.sendAsync(HttpRequest.newBuilder(server.uri().resolve("v1/encode"))
                .POST(HttpRequest.BodyPublishers.ofInputStream(() -> slow)).build(), HttpResponse.BodyHandlers.ofByteArray());
        assertTrue(started.await(10, java.util.concurrent.TimeUnit.SECONDS));
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (server.metrics().httpJobsRunning() < 1 && System.nanoTime() < deadline) Thread.sleep(10);
        assertEquals(1, server.metrics().httpJobsRunning(), "the first request is inside its job");
        long busy0 = server.metrics().rejectedCount("busy");
        HttpResponse<byte[]> second = post("v1/encode", wav);
        assertEquals(503, second.statusCode(), new String(second.body()));
        assertEquals("1", second.headers().firstValue("retry-after").orElse(""));
        assertEquals(busy0 + 1, server.metrics().rejectedCount("busy"));
        release.countDown();
        assertEquals(200, first.get(30, java.util.concurrent.TimeUnit.SECONDS).statusCode());
        assertEquals(0, server.metrics().httpJobsRunning());
        assertEquals(200, post("v1/encode", wav).statusCode(), "free again");
    }

    @Test
    void healthMetricsAndPage() throws Exception {
        HttpResponse<String> h = get("healthz");
        assertEquals(200, h.statusCode());
        assertTrue(h.body().contains("\"status\":\"ok\""), h.body());
        HttpResponse<String> m = get("metrics");
        assertEquals(200, m.statusCode());
        assertTrue(m.headers().firstValue("content-type").orElse("").startsWith("text/plain; version=0.0.4"));
        for (String name : new String[]{"mimi_active_streams{kind=\"encode\"}", "mimi_frames_per_second", "mimi_step_seconds_bucket{batch=\"encoder\",le=\"0.08\"}",
                "mimi_rejected_connections_total{reason=\"full\"}", "mimi_errors_total{kind=\"protocol\"}", "mimi_frame_latency_seconds_count",
                "# TYPE mimi_step_seconds histogram"}) {
            assertTrue(m.body().contains(name), name + " in\n" + m.body());
        }
        HttpResponse<String> page = get("");
        assertEquals(200, page.statusCode());
        assertTrue(page.body().contains("<html"), "the page");
        assertTrue(page.headers().firstValue("content-security-policy").isPresent());
        assertEquals(200, get("app.js").statusCode());
        assertEquals(200, get("capture-worklet.js").statusCode());
        // HEAD: a GET's headers, its length included, and no body
        HttpResponse<String> head = HTTP.send(HttpRequest.newBuilder(server.uri()).method("HEAD", HttpRequest.BodyPublishers.noBody()).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, head.statusCode());
        assertEquals("", head.body());
        assertEquals(page.body().getBytes(java.nio.charset.StandardCharsets.UTF_8).length,
                Long.parseLong(head.headers().firstValue("content-length").orElse("-1")));
        assertEquals(page.headers().firstValue("content-type"), head.headers().firstValue("content-type"));
    }
}
