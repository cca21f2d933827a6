package org.mimi4j.server;

import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/** A test WebSocket client (java.net.http) that queues whole messages and the close. */
final class WsClient implements WebSocket.Listener {
    static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    /** A received message: text, binary, or the close (code, reason), or an error. */
    record Msg(String text, byte[] binary, int closeCode, String closeReason, Throwable error) {
        boolean isClose() {
            return closeCode != 0 || error != null;
        }
    }

    final LinkedBlockingQueue<Msg> messages = new LinkedBlockingQueue<>();
    final CompletableFuture<Msg> closed = new CompletableFuture<>();
    private final ByteArrayOutputStream partBin = new ByteArrayOutputStream();
    private final StringBuilder partText = new StringBuilder();
    volatile boolean autoRequest = true;
    WebSocket ws;

    static WsClient connect(URI uri, Map<String, String> headers) {
        WsClient c = new WsClient();
        WebSocket.Builder b = HTTP.newWebSocketBuilder().connectTimeout(Duration.ofSeconds(5));
        headers.forEach(b::header);
        c.ws = b.buildAsync(uri, c).join();
        return c;
    }

    static WsClient connect(URI uri) {
        return connect(uri, Map.of());
    }

    @Override
    public void onOpen(WebSocket webSocket) {
        webSocket.request(1);
    }

    @Override
    public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
        partText.append(data);
        if (last) {
            messages.add(new Msg(partText.toString(), null, 0, null, null));
            partText.setLength(0);
        }
        if (autoRequest) webSocket.request(1);
        return null;
    }

    @Override
    public CompletionStage<?> onBinary(WebSocket webSocket, ByteBuffer data, boolean last) {
        byte[] b = new byte[data.remaining()];
        data.get(b);
        partBin.writeBytes(b);
        if (last) {
            messages.add(new Msg(null, partBin.toByteArray(), 0, null, null));
            partBin.reset();
        }
        if (autoRequest) webSocket.request(1);
        return null;
    }

    @Override
    public CompletionStage<?> onClose(WebSocket webSocket, int statusCode, String reason) {
        Msg m = new Msg(null, null, statusCode, reason, null);
        messages.add(m);
        closed.complete(m);
        return null;
    }

    @Override
    public void onError(WebSocket webSocket, Throwable error) {
        Msg m = new Msg(null, null, 0, null, error);
        messages.add(m);
        closed.complete(m);
    }

    void text(String s) {
        ws.sendText(s, true).orTimeout(10, TimeUnit.SECONDS).join();
    }

    void binary(byte[] b) {
        ws.sendBinary(ByteBuffer.wrap(b), true).orTimeout(10, TimeUnit.SECONDS).join();
    }

    void start(String format, int nq) {
        text("{\"type\":\"start\",\"format\":\"" + format + "\",\"num_quantizers\":" + nq + "}");
    }

    Msg next() throws InterruptedException {
        Msg m = messages.poll(30, TimeUnit.SECONDS);
        if (m == null) throw new AssertionError("no message within 30 s");
        return m;
    }

    /** Waits for the close and returns it (messages before it are dropped). */
    Msg awaitClose() throws Exception {
        return closed.get(30, TimeUnit.SECONDS);
    }

    /** Everything up to and including the close, in order. */
    List<Msg> all() throws Exception {
        List<Msg> out = new ArrayList<>();
        while (true) {
            Msg m = next();
            out.add(m);
            if (m.isClose()) return out;
        }
    }

    static byte[] f32(float[] x, int off, int len) {
        ByteBuffer b = ByteBuffer.allocate(4 * len).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(x, off, len);
        return b.array();
    }

    static byte[] s16(short[] x, int off, int len) {
        ByteBuffer b = ByteBuffer.allocate(2 * len).order(ByteOrder.LITTLE_ENDIAN);
        b.asShortBuffer().put(x, off, len);
        return b.array();
    }

    static byte[] codes(int[][] frames, int from, int n) {
        int k = frames[0].length;
        ByteBuffer b = ByteBuffer.allocate(2 * k * n).order(ByteOrder.LITTLE_ENDIAN);
        for (int t = from; t < from + n; t++) for (int c : frames[t]) b.putShort((short) c);
        return b.array();
    }

    static int[] frameOf(byte[] msg) {
        ByteBuffer b = ByteBuffer.wrap(msg).order(ByteOrder.LITTLE_ENDIAN);
        int[] f = new int[msg.length / 2];
        for (int i = 0; i < f.length; i++) f[i] = b.getShort() & 0xffff;
        return f;
    }

    static float[] pcmOf(byte[] msg, boolean f32) {
        ByteBuffer b = ByteBuffer.wrap(msg).order(ByteOrder.LITTLE_ENDIAN);
        float[] x = new float[msg.length / (f32 ? 4 : 2)];
        for (int i = 0; i < x.length; i++) x[i] = f32 ? b.getFloat() : b.getShort() / 32768f;
        return x;
    }
}
