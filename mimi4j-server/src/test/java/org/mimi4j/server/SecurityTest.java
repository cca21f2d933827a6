package org.mimi4j.server;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocketHandshakeException;
import java.util.Map;
import java.util.concurrent.CompletionException;

import static org.junit.jupiter.api.Assertions.*;

/** --token: 401 without the bearer token on /v1/* and /metrics; browsers' cross-origin WebSockets refused. */
class SecurityTest {
    static MimiServer server;
    static final HttpClient HTTP = HttpClient.newHttpClient();

    @BeforeAll
    static void up() throws Exception {
        server = TestServers.start(ServerConfig.defaults().withToken("s3cret"));
    }

    @AfterAll
    static void down() throws Exception {
        server.stop();
    }

    static int status(String path, String auth, boolean post) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(server.uri().resolve(path));
        if (auth != null) b.header("Authorization", auth);
        if (post) b.POST(HttpRequest.BodyPublishers.ofByteArray(HttpApi.wav16(new float[4000], 4000, 24000)));
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.discarding()).statusCode();
    }

    static int handshake(String path, Map<String, String> headers) {
        try {
            WsClient c = WsClient.connect(TestServers.ws(server, path), headers);
            c.ws.abort();
            return 101;
        } catch (CompletionException e) {
            if (e.getCause() instanceof WebSocketHandshakeException h) return h.getResponse().statusCode();
            throw e;
        }
    }

    @Test
    void httpNeedsToken() throws Exception {
        assertEquals(200, status("healthz", null, false), "health is public");
        assertEquals(200, status("", null, false), "the page is public");
        assertEquals(401, status("metrics", null, false));
        assertEquals(401, status("metrics", "Bearer wrong", false));
        assertEquals(200, status("metrics", "Bearer s3cret", false));
        assertEquals(401, status("v1/encode", null, true));
        assertEquals(401, status("v1/encode", "Basic czNjcmV0", true));
        assertEquals(200, status("v1/encode", "Bearer s3cret", true));
        assertEquals(200, status("v1/encode?token=s3cret", null, true));
        assertTrue(server.metrics().rejectedCount("unauthorized") >= 4);
    }

    /**
     * A refused POST (its body never read by the handler) must not leave a kept-alive connection the server then
     * closes: the client's next request on it would get no reply ("header parser received no bytes").
     */
    @Test
    void refusedPostsLeaveConnectionsUsable() throws Exception {
        byte[] body = HttpApi.wav16(new float[96000], 48000, 24000);
        for (int i = 0; i < 40; i++) {
            HttpRequest.Builder refused = HttpRequest.newBuilder(server.uri().resolve("v1/encode"))
                    .POST(HttpRequest.BodyPublishers.ofByteArray(body));
            if (i % 2 == 1) refused.header("Origin", "http://evil.example");
            assertEquals(i % 2 == 1 ? 403 : 401, HTTP.send(refused.build(), HttpResponse.BodyHandlers.discarding()).statusCode(), "round " + i);
            assertEquals(200, status("healthz", null, false), "round " + i);
        }
    }

    @Test
    void websocketNeedsToken() throws Exception {
        assertEquals(401, handshake("/v1/stream/encode", Map.of()));
        assertEquals(401, handshake("/v1/stream/decode?token=nope", Map.of()));
        assertEquals(401, handshake("/v1/stream/roundtrip", Map.of("Authorization", "Bearer s3cre")));
        WsClient ok = WsClient.connect(TestServers.ws(server, "/v1/stream/encode"), Map.of("Authorization", "Bearer s3cret"));
        ok.start("f32le", 2);
        assertTrue(ok.next().text().contains("ready"));
        ok.text("{\"type\":\"end\"}");
        assertEquals(1000, ok.awaitClose().closeCode());
        WsClient q = WsClient.connect(TestServers.ws(server, "/v1/stream/encode?token=s3cret"));
        q.start("f32le", 2);
        assertTrue(q.next().text().contains("ready"));
        q.ws.abort();
    }

    @Test
    void tokenIsTheOnlyQueryParameterOfTheSockets() throws Exception {
        assertEquals(400, handshake("/v1/stream/encode?token=s3cret&num_quantizers=2", Map.of()), "unknown parameter");
        assertEquals(400, handshake("/v1/stream/decode?token=s3cret&token=s3cret", Map.of()), "repeated token");
        assertEquals(401, handshake("/v1/stream/decode?num_quantizers=2", Map.of()), "the token is checked first");
        assertEquals(200, status("metrics?token=s3cret", null, false));
        assertEquals(400, status("metrics?token=s3cret&token=s3cret", null, false));
    }

    @Test
    void crossOriginBrowserSocketsRefused() {
        assertEquals(403, handshake("/v1/stream/encode?token=s3cret", Map.of("Origin", "http://evil.example")));
        assertEquals(101, handshake("/v1/stream/encode?token=s3cret", Map.of("Origin", "http://127.0.0.1:" + server.port())));
    }

    @Test
    void crossOriginPostsRefused() throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(server.uri().resolve("v1/encode?token=s3cret"))
                .POST(HttpRequest.BodyPublishers.ofByteArray(HttpApi.wav16(new float[4000], 4000, 24000)));
        assertEquals(403, HTTP.send(b.header("Origin", "http://evil.example").build(), HttpResponse.BodyHandlers.discarding()).statusCode());
        HttpRequest.Builder same = HttpRequest.newBuilder(server.uri().resolve("v1/encode?token=s3cret"))
                .POST(HttpRequest.BodyPublishers.ofByteArray(HttpApi.wav16(new float[4000], 4000, 24000)));
        assertEquals(200, HTTP.send(same.header("Origin", "http://127.0.0.1:" + server.port()).build(), HttpResponse.BodyHandlers.discarding()).statusCode());
    }

    @Test
    void bindsLoopbackByDefault() {
        assertEquals("127.0.0.1", ServerConfig.defaults().host());
        assertEquals(URI.create("http://127.0.0.1:" + server.port() + "/"), server.uri());
    }
}
