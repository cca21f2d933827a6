package org.mimi4j.server;

import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.eclipse.jetty.websocket.api.Session;
import org.eclipse.jetty.websocket.api.StatusCode;
import org.eclipse.jetty.websocket.server.WebSocketUpgradeHandler;
import org.mimi4j.Mimi;

import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@code mimi serve}: a streaming Mimi codec over WebSockets and HTTP (Jetty 12), with a browser page at {@code /}.
 *
 * <pre>{@code
 * MimiServer server = new MimiServer(mimi, ServerConfig.defaults().withPort(0)).start();
 * URI base = server.uri();          // http://127.0.0.1:PORT/
 * ...
 * server.stop();
 * }</pre>
 *
 * All streams are computed by one {@link Scheduler} thread over shared batches; see docs/server.md for the protocol.
 */
public final class MimiServer implements AutoCloseable {
    final Mimi mimi;
    final ServerConfig config;
    final Metrics metrics = new Metrics();
    final Scheduler scheduler;
    final ScheduledExecutorService timer;
    private final Server jetty;
    private final ServerConnector connector;
    private final WebSocketUpgradeHandler websockets;
    private final AtomicInteger admitted = new AtomicInteger();
    private final AtomicLong ids = new AtomicLong();
    private final byte[] tokenBytes;

    public MimiServer(Mimi mimi, ServerConfig config) {
        this.mimi = mimi;
        this.config = config;
        this.tokenBytes = config.token() == null ? null : config.token().getBytes(StandardCharsets.UTF_8);
        this.scheduler = new Scheduler(this, 2 * config.maxStreams());
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "mimi-timer");
            t.setDaemon(true);
            return t;
        });
        QueuedThreadPool pool = new QueuedThreadPool(Math.max(16, Math.min(200, 2 * config.maxStreams() + 16)), 4);
        pool.setName("mimi-http");
        pool.setDaemon(true);
        jetty = new Server(pool);
        org.eclipse.jetty.server.HttpConfiguration http = new org.eclipse.jetty.server.HttpConfiguration();
        http.setSendServerVersion(false);
        http.setSendXPoweredBy(false);
        connector = new ServerConnector(jetty, new org.eclipse.jetty.server.HttpConnectionFactory(http));
        connector.setHost(config.host());
        connector.setPort(config.port());
        connector.setIdleTimeout(Math.max(1000, config.idleTimeout().toMillis()));
        jetty.addConnector(connector);
        WebSocketUpgradeHandler ws = WebSocketUpgradeHandler.from(jetty, container -> {
            container.setIdleTimeout(config.idleTimeout());
            container.setMaxBinaryMessageSize(config.maxMessageBytes());
            container.setMaxTextMessageSize(4096);
            container.setMaxFrameSize(config.maxMessageBytes());
            for (StreamSession.Kind k : StreamSession.Kind.values()) {
                container.addMapping("/v1/stream/" + k.label(), (req, resp, cb) -> upgrade(k, req, resp, cb));
            }
        });
        ws.setHandler(new HttpApi(this));
        this.websockets = ws;
        jetty.setHandler(ws);
        jetty.setStopTimeout(2000);
    }

    /** Starts listening; returns this. */
    public MimiServer start() throws Exception {
        warmUp(WARMUP_FRAMES);
        scheduler.start();
        jetty.start();
        return this;
    }

    static final int WARMUP_FRAMES = Integer.getInteger("mimi4j.server.warmupFrames", 12);
    static final int WARMUP_SECONDS = Integer.getInteger("mimi4j.server.warmupSeconds", 5);

    /**
     * Runs a few frames of noise through a batched encoder and decoder before listening, so the JIT has compiled the
     * kernels before the first client's frames (cold, a frame costs several times its warm time), then
     * {@link #WARMUP_SECONDS} of noise through the offline encode and decode that POST /v1/encode and /v1/decode run
     * (on the Zen 4 machine a first POST of 10 s took 1.28-1.68 s to encode without it, 0.56-0.62 s with it; warm: 0.37 s).
     */
    private void warmUp(int frames) {
        int nq = Math.min(8, mimi.totalCodebooks());
        java.util.Random r = new java.util.Random(1);
        if (frames > 0) {
            var enc = mimi.encoderBatch(2, nq, config.mode());
            var dec = mimi.decoderBatch(2, config.mode());
            var a = enc.join();
            var b = enc.join();
            var d = dec.join();
            float[] x = new float[mimi.frameSize()];
            for (int f = 0; f < frames; f++) {
                for (int i = 0; i < x.length; i++) x[i] = (float) (0.1 * r.nextGaussian());
                a.push(x);
                if (f % 2 == 0) b.push(x);
                enc.step();
                for (int[] fr : a.poll()) d.push(fr);
                b.poll();
                dec.step();
                d.poll();
            }
        }
        if (WARMUP_SECONDS > 0) {
            float[] y = new float[WARMUP_SECONDS * mimi.sampleRate()];
            for (int i = 0; i < y.length; i++) y[i] = (float) (0.1 * r.nextGaussian());
            mimi.decode(mimi.encode(y, nq));
        }
    }

    /** Closes every stream (1001) and stops. */
    public void stop() throws Exception {
        scheduler.stop(); // closes every stream with 1001 "server shutting down"
        for (Session s : websockets.getServerWebSocketContainer().getOpenSessions()) { // and those not started yet
            if (s.isOpen()) s.close(StatusCode.SHUTDOWN, "server shutting down", org.eclipse.jetty.websocket.api.Callback.NOOP);
        }
        long end = System.nanoTime() + 1_000_000_000L; // let those close handshakes finish before Jetty cuts the rest
        while (jetty.isStarted() && !websockets.getServerWebSocketContainer().getOpenSessions().isEmpty() && System.nanoTime() < end) {
            Thread.sleep(10);
        }
        jetty.stop();
        timer.shutdownNow();
    }

    @Override
    public void close() throws Exception {
        stop();
    }

    /** The port bound (useful with port 0). */
    public int port() {
        return connector.getLocalPort();
    }

    /** http://host:port/ */
    public URI uri() {
        String h = config.host().contains(":") ? "[" + config.host() + "]" : config.host();
        return URI.create("http://" + h + ":" + port() + "/");
    }

    public Metrics metrics() {
        return metrics;
    }

    public ServerConfig config() {
        return config;
    }

    public Mimi model() {
        return mimi;
    }

    /** Streams admitted and not yet closed. */
    public int admittedStreams() {
        return admitted.get();
    }

    /** Runs a (short) task on Jetty's thread pool. */
    void execute(Runnable r) {
        jetty.getThreadPool().execute(r);
    }

    String fullReason() {
        int max = config.maxStreams();
        return "server full: " + max + " of " + max + " streams in use; retry later";
    }

    /** Takes a place for a stream that has just opened; false when all are taken. */
    boolean admit() {
        while (true) {
            int n = admitted.get();
            if (n >= config.maxStreams()) return false;
            if (admitted.compareAndSet(n, n + 1)) return true;
        }
    }

    void releaseStream() {
        admitted.decrementAndGet();
    }

    private Object upgrade(StreamSession.Kind kind, org.eclipse.jetty.websocket.server.ServerUpgradeRequest req,
                           org.eclipse.jetty.websocket.server.ServerUpgradeResponse resp, Callback cb) {
        if (!originAllowed(req)) {
            metrics.rejected("origin");
            reject(resp, cb, 403, "origin not allowed: " + req.getHeaders().get(HttpHeader.ORIGIN));
            return null;
        }
        if (!authorized(req)) {
            metrics.rejected("unauthorized");
            resp.getHeaders().put(HttpHeader.WWW_AUTHENTICATE, "Bearer");
            reject(resp, cb, 401, "missing or wrong bearer token");
            return null;
        }
        try {
            HttpApi.queryParameters(req, HttpApi.TOKEN_ONLY);
        } catch (HttpApi.HttpError e) {
            reject(resp, cb, e.status, e.getMessage());
            return null;
        }
        if (admitted.get() >= config.maxStreams()) { // checked again, atomically, when the socket opens (StreamSession)
            metrics.rejected("full");
            return new Refused(fullReason());
        }
        return new StreamSession(this, kind, ids.incrementAndGet());
    }

    /** Accepts the upgrade only to close at once with 1013 and a reason a browser can show. */
    public static final class Refused implements Session.Listener.AutoDemanding {
        private final String reason;

        Refused(String reason) {
            this.reason = reason;
        }

        @Override
        public void onWebSocketOpen(Session session) {
            session.close(StatusCode.TRY_AGAIN_LATER, reason, org.eclipse.jetty.websocket.api.Callback.NOOP);
        }
    }

    static void reject(Response resp, Callback cb, int status, String message) {
        resp.setStatus(status);
        resp.getHeaders().put(HttpHeader.CONTENT_TYPE, "text/plain; charset=utf-8");
        resp.write(true, ByteBuffer.wrap((message + "\n").getBytes(StandardCharsets.UTF_8)), cb);
    }

    /** Bearer token in the Authorization header, or ?token= (browsers cannot set headers on WebSockets). */
    boolean authorized(Request req) {
        if (tokenBytes == null) return true;
        String h = req.getHeaders().get(HttpHeader.AUTHORIZATION);
        String given = null;
        if (h != null && h.regionMatches(true, 0, "Bearer ", 0, 7)) given = h.substring(7).trim();
        if (given == null) given = Request.extractQueryParameters(req).getValue("token");
        return given != null && MessageDigest.isEqual(tokenBytes, given.getBytes(StandardCharsets.UTF_8));
    }

    /** Browsers send Origin: only pages served by this server (same host:port) may open streams, unless allowed. */
    boolean originAllowed(Request req) {
        if (config.allowAnyOrigin()) return true;
        String origin = req.getHeaders().get(HttpHeader.ORIGIN);
        if (origin == null) return true; // not a browser
        String host = req.getHeaders().get(HttpHeader.HOST);
        try {
            URI o = URI.create(origin);
            return host != null && o.getRawAuthority() != null && o.getRawAuthority().equalsIgnoreCase(host);
        } catch (IllegalArgumentException e) {
            return false;
        }
    }
}
