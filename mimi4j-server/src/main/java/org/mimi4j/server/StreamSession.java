package org.mimi4j.server;

import org.eclipse.jetty.websocket.api.Callback;
import org.eclipse.jetty.websocket.api.Session;
import org.eclipse.jetty.websocket.api.StatusCode;
import org.eclipse.jetty.websocket.api.exceptions.WebSocketTimeoutException;
import org.mimi4j.io.Json;
import org.mimi4j.stream.DecoderBatch;
import org.mimi4j.stream.EncoderBatch;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayDeque;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One WebSocket stream. Jetty's threads parse the client's messages into {@link #inbox}; the {@link Scheduler}
 * thread moves them into batch slots, steps the batches and hands the results to {@link #send}, which queues them
 * (bounded) and writes one message at a time, so neither a slow reader nor a fast writer ever blocks the scheduler.
 */
public final class StreamSession implements Session.Listener {
    enum Kind {
        ENCODE, DECODE, ROUNDTRIP;

        String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    enum Format {
        F32LE(4), S16LE(2);
        final int bytes;

        Format(int bytes) {
            this.bytes = bytes;
        }

        String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** A unit of client input: PCM, code frames [n][K], or the end of the stream. */
    record Item(float[] pcm, int[][] frames, long arrivedNanos, boolean end) {
    }

    final MimiServer server;
    final Kind kind;
    final long id;
    private Session ws;
    private volatile boolean started, ended;
    private final AtomicBoolean closed = new AtomicBoolean();
    private final AtomicBoolean released = new AtomicBoolean();
    int numQuantizers;
    Format format = Format.F32LE;

    // client -> scheduler
    final ConcurrentLinkedQueue<Item> inbox = new ConcurrentLinkedQueue<>();
    /** Samples (encode, roundtrip) or frames (decode) waiting in the inbox. */
    final AtomicLong inboxUnits = new AtomicLong();
    private final AtomicBoolean paused = new AtomicBoolean();

    // owned by the scheduler thread
    EncoderBatch.Slot enc;
    DecoderBatch.Slot dec;
    boolean attached, endSeen;
    long samplesPushed, framesEncoded, framesDecoded;
    Item partial;        // decode: a message whose frames are being fed one by one
    int partialPos;
    final ArrayDeque<Long> frameReady = new ArrayDeque<>(); // arrival time of the audio completing each pending frame

    // scheduler -> client
    private final ArrayDeque<Object> out = new ArrayDeque<>();
    private boolean inFlight, pumping;

    StreamSession(MimiServer server, Kind kind, long id) {
        this.server = server;
        this.kind = kind;
        this.id = id;
    }

    boolean isClosed() {
        return closed.get();
    }

    boolean isStarted() {
        return started;
    }

    // ------------------------------------------------------------------ Jetty callbacks (Jetty's threads)

    @Override
    public void onWebSocketOpen(Session session) {
        this.ws = session;
        if (!server.admit()) { // lost a race for the last place
            released.set(true);
            closed.set(true);
            server.metrics.rejected("full");
            session.close(StatusCode.TRY_AGAIN_LATER, server.fullReason(), Callback.NOOP);
            return;
        }
        server.metrics.streamsOpened.incrementAndGet();
        active(+1);
        session.demand();
    }

    @Override
    public void onWebSocketText(String text) {
        if (closed.get()) return;
        Map<?, ?> msg;
        try {
            Object o = Json.parse(text);
            if (!(o instanceof Map<?, ?> m)) throw new IllegalArgumentException("not a JSON object");
            msg = m;
        } catch (RuntimeException e) {
            fail(started ? StatusCode.BAD_DATA : StatusCode.BAD_PAYLOAD, started
                    ? "unexpected text message: audio and codes go in binary messages, control messages are JSON"
                    : "bad start message: " + e.getMessage(), "protocol");
            return;
        }
        Object type = msg.get("type");
        if (!started) {
            if (!"start".equals(type)) {
                fail(StatusCode.POLICY_VIOLATION, "the first message must be {\"type\":\"start\",...}", "protocol");
                return;
            }
            String err = start(msg);
            if (err != null) {
                fail(StatusCode.BAD_PAYLOAD, "bad start message: " + err, "protocol");
                return;
            }
            started = true;
            Map<String, Object> ready = new LinkedHashMap<>();
            ready.put("type", "ready");
            ready.put("stream", kind.label());
            ready.put("sample_rate", (long) server.mimi.sampleRate());
            ready.put("frame_size", (long) server.mimi.frameSize());
            ready.put("frame_rate", server.mimi.frameRate());
            ready.put("num_quantizers", (long) numQuantizers);
            ready.put("codebook_size", (long) server.mimi.cardinality());
            ready.put("format", format.label());
            ready.put("mode", server.config.mode().name().toLowerCase(Locale.ROOT));
            ready.put("max_message_bytes", (long) server.config.maxMessageBytes());
            server.scheduler.join(this);
            send(Json.write(ready));
        } else if ("end".equals(type) && !ended) {
            ended = true;
            inbox.add(new Item(null, null, System.nanoTime(), true));
            server.scheduler.wake();
        } else {
            fail(StatusCode.BAD_DATA, "unexpected text message (type " + Json.write(type) + "); only {\"type\":\"end\"} may follow the start", "protocol");
            return;
        }
        ws.demand();
    }

    private String start(Map<?, ?> msg) {
        for (Object k : msg.keySet()) {
            if (!java.util.Set.of("type", "format", "num_quantizers").contains(k)) return "unknown field " + Json.write(k);
        }
        Object f = msg.get("format");
        if (f != null) {
            if (f.equals("f32le")) format = Format.F32LE;
            else if (f.equals("s16le")) format = Format.S16LE;
            else return "format must be \"f32le\" or \"s16le\", got " + Json.write(f);
        }
        Object nq = msg.get("num_quantizers");
        if (nq == null) numQuantizers = Math.min(8, server.mimi.totalCodebooks());
        else if (nq instanceof Long l && l >= 1 && l <= server.mimi.totalCodebooks()) numQuantizers = l.intValue();
        else return "num_quantizers must be an integer in 1.." + server.mimi.totalCodebooks() + ", got " + (nq instanceof Double d ? d.toString() : Json.write(nq)); // 8.0, not "8"
        return null;
    }

    @Override
    public void onWebSocketBinary(ByteBuffer payload, Callback callback) {
        try {
            if (closed.get()) return;
            if (!started) {
                fail(StatusCode.POLICY_VIOLATION, "send the start message (JSON text) before any binary message", "protocol");
                return;
            }
            if (ended) {
                fail(StatusCode.POLICY_VIOLATION, "binary message after the end message", "protocol");
                return;
            }
            long now = System.nanoTime();
            int n = payload.remaining();
            long units;
            if (kind == Kind.DECODE) {
                int fb = 2 * numQuantizers;
                if (n % fb != 0) {
                    fail(StatusCode.BAD_PAYLOAD, "binary message of " + n + " bytes is not a whole number of code frames (" + fb + " bytes: "
                            + numQuantizers + " x uint16)", "protocol");
                    return;
                }
                ByteBuffer b = payload.slice().order(ByteOrder.LITTLE_ENDIAN);
                int[][] frames = new int[n / fb][numQuantizers];
                int card = server.mimi.cardinality();
                for (int t = 0; t < frames.length; t++) {
                    for (int q = 0; q < numQuantizers; q++) {
                        int c = b.getShort() & 0xffff;
                        if (c >= card) {
                            fail(StatusCode.BAD_PAYLOAD, "code " + c + " (frame " + t + ", codebook " + q + ") is outside [0, " + card + ")", "protocol");
                            return;
                        }
                        frames[t][q] = c;
                    }
                }
                if (frames.length == 0) { // an empty message carries no frames: nothing to queue, read on
                    ws.demand();
                    return;
                }
                inbox.add(new Item(null, frames, now, false));
                units = inboxUnits.addAndGet(frames.length);
            } else {
                if (n % format.bytes != 0) {
                    fail(StatusCode.BAD_PAYLOAD, "binary message of " + n + " bytes is not a whole number of " + format.label() + " samples ("
                            + format.bytes + " bytes each)", "protocol");
                    return;
                }
                float[] pcm = decodePcm(payload, format);
                for (int i = 0; i < pcm.length; i++) {
                    if (!Float.isFinite(pcm[i])) {
                        fail(StatusCode.BAD_PAYLOAD, "sample " + i + " of the message is not finite (" + pcm[i] + ")", "protocol");
                        return;
                    }
                }
                if (pcm.length == 0) { // an empty message carries no samples: nothing to queue, read on
                    ws.demand();
                    return;
                }
                inbox.add(new Item(pcm, null, now, false));
                units = inboxUnits.addAndGet(pcm.length);
            }
            server.scheduler.wake();
            if (units > maxBufferedUnits()) {
                paused.set(true); // backpressure: no demand until the scheduler catches up (see resume)
                if (inboxUnits.get() <= maxBufferedUnits() && paused.compareAndSet(true, false)) ws.demand();
            } else {
                ws.demand();
            }
        } finally {
            callback.succeed();
        }
    }

    long maxBufferedUnits() {
        double s = server.config.maxBufferedSeconds();
        return kind == Kind.DECODE ? Math.max(2, (long) (s * server.mimi.frameRate())) : Math.max(server.mimi.frameSize(), (long) (s * server.mimi.sampleRate()));
    }

    /**
     * Called by the scheduler after taking input: reads again if reading was paused. The demand goes through Jetty's
     * pool, since Jetty may parse already buffered frames (and call this listener) on the demanding thread.
     */
    void resumeIfBelowLimit() {
        if (paused.get() && inboxUnits.get() <= maxBufferedUnits() && paused.compareAndSet(true, false) && !closed.get()) {
            Session s = ws;
            server.execute(s::demand);
        }
    }

    static float[] decodePcm(ByteBuffer payload, Format format) {
        ByteBuffer b = payload.slice().order(ByteOrder.LITTLE_ENDIAN);
        float[] pcm = new float[b.remaining() / format.bytes];
        if (format == Format.F32LE) b.asFloatBuffer().get(pcm);
        else for (int i = 0; i < pcm.length; i++) pcm[i] = b.getShort() / 32768f;
        return pcm;
    }

    static ByteBuffer encodePcm(float[] pcm, int off, int len, Format format) {
        ByteBuffer b = ByteBuffer.allocate(len * format.bytes).order(ByteOrder.LITTLE_ENDIAN);
        if (format == Format.F32LE) b.asFloatBuffer().put(pcm, off, len);
        else for (int i = 0; i < len; i++) b.putShort(i * 2, (short) Math.round(Math.clamp(pcm[off + i], -1f, 1f) * 32767f));
        return b;
    }

    static ByteBuffer encodeCodes(int[] frame) {
        ByteBuffer b = ByteBuffer.allocate(2 * frame.length).order(ByteOrder.LITTLE_ENDIAN);
        for (int c : frame) b.putShort((short) c);
        return b.flip();
    }

    @Override
    public void onWebSocketError(Throwable cause) {
        if (Scheduler.DEBUG) System.err.println("[session " + id + "] error " + cause);
        if (cause instanceof WebSocketTimeoutException) server.metrics.error("idle_timeout");
        else if (cause instanceof org.eclipse.jetty.websocket.api.exceptions.MessageTooLargeException) server.metrics.error("too_large");
        else if (!closed.get()) server.metrics.error(isDisconnect(cause) ? "disconnect" : "protocol");
        markClosed();
    }

    /** The connection dropped without a close handshake (the client vanished). */
    private static boolean isDisconnect(Throwable t) {
        for (; t != null; t = t.getCause()) {
            if (t instanceof java.io.IOException || t instanceof java.nio.channels.ClosedChannelException) return true;
        }
        return false;
    }

    @Override
    public void onWebSocketClose(int statusCode, String reason) {
        if (Scheduler.DEBUG) System.err.println("[session " + id + "] close " + statusCode + " " + reason);
        markClosed();
    }

    private void markClosed() {
        if (released.get() && closed.get()) return; // never admitted, or already accounted for
        if (closed.compareAndSet(false, true)) active(-1);
        release();
        server.scheduler.wake();
    }

    private void active(int d) {
        switch (kind) {
            case ENCODE -> server.metrics.activeEncode.addAndGet(d);
            case DECODE -> server.metrics.activeDecode.addAndGet(d);
            case ROUNDTRIP -> server.metrics.activeRoundtrip.addAndGet(d);
        }
    }

    /** Gives the stream's place back to the admission count (once). */
    void release() {
        if (released.compareAndSet(false, true)) server.releaseStream();
    }

    // ------------------------------------------------------------------ closing

    /** Closes the stream for an error of the client's (or ours) with a status code and a reason (at most 123 bytes). */
    void fail(int code, String reason, String metric) {
        if (Scheduler.DEBUG) System.err.println("[session " + id + "] fail " + code + " " + reason);
        if (closed.get()) return;
        if (metric != null) server.metrics.error(metric);
        close(code, reason);
    }

    void close(int code, String reason) {
        if (closed.compareAndSet(false, true)) {
            active(-1);
            synchronized (out) {
                out.clear();
            }
            release();
            server.scheduler.wake();
            Session s = ws;
            if (s != null) {
                s.close(code, truncate(reason), Callback.NOOP);
                // a client that reads nothing never receives the close frame: drop the connection after a grace period
                server.timer.schedule(() -> {
                    if (s.isOpen()) s.disconnect();
                }, 5, java.util.concurrent.TimeUnit.SECONDS);
            }
        }
    }

    /** Closes normally once everything queued has been written. */
    void finish(String doneJson) {
        synchronized (out) {
            out.add(doneJson);
            out.add(CLOSE);
        }
        pump();
    }

    private static final Object CLOSE = new Object();

    static String truncate(String reason) {
        byte[] b = reason.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        if (b.length <= 123) return reason;
        String r = reason;
        while (r.getBytes(java.nio.charset.StandardCharsets.UTF_8).length > 120) r = r.substring(0, r.length() - 1);
        return r + "...";
    }

    // ------------------------------------------------------------------ sending (any thread)

    /** Queues a message (ByteBuffer or String); closes the stream if the client has fallen too far behind. */
    void send(Object msg) {
        if (closed.get()) return;
        int n;
        synchronized (out) {
            out.add(msg);
            n = out.size();
        }
        if (n > server.config.maxQueuedMessages()) {
            fail(StatusCode.POLICY_VIOLATION, "client too slow: " + n + " messages unread", "slow_client");
            return;
        }
        pump();
    }

    /** Writes queued messages one at a time; re-entrant calls (synchronous completions) just let the loop continue. */
    private void pump() {
        synchronized (out) {
            if (pumping) return;
            pumping = true;
        }
        while (true) {
            Object m;
            synchronized (out) {
                if (inFlight || out.isEmpty() || ws == null) {
                    pumping = false;
                    return;
                }
                m = out.poll();
                inFlight = true;
            }
            Callback cb = Callback.from(this::sent, x -> {
                synchronized (out) {
                    inFlight = false;
                    out.clear();
                }
                markClosed();
            });
            if (m == CLOSE) {
                if (closed.compareAndSet(false, true)) {
                    active(-1);
                    release();
                    server.scheduler.wake();
                }
                ws.close(StatusCode.NORMAL, "done", Callback.NOOP);
                synchronized (out) {
                    out.clear();
                    inFlight = false;
                    pumping = false;
                }
                return;
            }
            if (closed.get() && m != null) {
                synchronized (out) {
                    out.clear();
                    inFlight = false;
                    pumping = false;
                }
                return;
            }
            if (m instanceof String s) ws.sendText(s, cb);
            else ws.sendBinary((ByteBuffer) m, cb);
        }
    }

    private void sent() {
        synchronized (out) {
            inFlight = false;
        }
        pump();
    }

    int queuedMessages() {
        synchronized (out) {
            return out.size();
        }
    }
}
