package org.mimi4j.server;

import org.mimi4j.stream.StreamMode;

import java.time.Duration;

/**
 * Settings of a {@link MimiServer}. Build with {@link #defaults()} and the {@code with...} methods.
 *
 * @param host               address to bind (loopback by default)
 * @param port               TCP port, 0 for an ephemeral one
 * @param maxStreams         WebSocket streams open at once; further ones are closed with 1013
 * @param token              bearer token required on /v1/* and /metrics, or null for none
 * @param maxMessageBytes    largest WebSocket message accepted (larger: closed with 1009)
 * @param maxUploadBytes     largest HTTP request body (larger: 413)
 * @param maxHttpSeconds     longest audio an HTTP request may encode or decode (longer: 413)
 * @param idleTimeout        a WebSocket with no traffic for this long is closed
 * @param maxBufferedSeconds input audio buffered per stream before the server stops reading (backpressure)
 * @param maxQueuedMessages  outgoing messages queued per stream before it is closed as too slow (1008)
 * @param maxHttpJobs        HTTP encode/decode requests computed at once; further ones get 503
 * @param mode               streaming semantics of every stream
 * @param allowAnyOrigin     accept browser WebSockets from pages of other origins (off: only the server's own)
 */
public record ServerConfig(String host, int port, int maxStreams, String token, int maxMessageBytes, long maxUploadBytes,
                           int maxHttpSeconds, Duration idleTimeout, double maxBufferedSeconds, int maxQueuedMessages,
                           int maxHttpJobs, StreamMode mode, boolean allowAnyOrigin) {
    /** Most streams one server may be configured for (its batches hold a slot array of twice this). */
    public static final int MAX_STREAMS_LIMIT = 100_000;

    /**
     * Checks every setting: a nonsensical one throws an {@link IllegalArgumentException} with a one-line message
     * naming the {@code mimi serve} option and the value, e.g. "--max-http-jobs must be at least 1, got 0".
     */
    public ServerConfig {
        if (host == null || host.isBlank()) throw new IllegalArgumentException("--host must not be empty");
        if (port < 0 || port > 65535) throw new IllegalArgumentException("--port must be in 0..65535, got " + port);
        if (maxStreams < 1 || maxStreams > MAX_STREAMS_LIMIT) {
            throw new IllegalArgumentException("--max-streams must be in 1.." + MAX_STREAMS_LIMIT + ", got " + maxStreams);
        }
        if (token != null && token.isEmpty()) throw new IllegalArgumentException("--token must not be empty (leave it out to require no token)");
        if (maxMessageBytes < 4096) throw new IllegalArgumentException("--max-message-kb must be at least 4, got " + inUnits(maxMessageBytes, 1 << 10));
        if (maxUploadBytes < 1) throw new IllegalArgumentException("--max-upload-mb must be at least 1, got " + inUnits(maxUploadBytes, 1 << 20));
        if (maxHttpSeconds < 1) throw new IllegalArgumentException("--max-http-seconds must be at least 1, got " + maxHttpSeconds);
        if (idleTimeout == null || !idleTimeout.isPositive()) {
            throw new IllegalArgumentException("--idle-timeout must be positive, got " + (idleTimeout == null ? null : seconds(idleTimeout)));
        }
        if (!(maxBufferedSeconds > 0) || Double.isInfinite(maxBufferedSeconds)) {
            throw new IllegalArgumentException("max buffered seconds must be positive and finite, got " + maxBufferedSeconds);
        }
        if (maxQueuedMessages < 4) throw new IllegalArgumentException("max queued messages must be at least 4, got " + maxQueuedMessages);
        if (maxHttpJobs < 1) throw new IllegalArgumentException("--max-http-jobs must be at least 1, got " + maxHttpJobs);
        if (mode == null) throw new IllegalArgumentException("--mode must be given");
    }

    private static String seconds(Duration d) {
        return d.getNano() == 0 ? Long.toString(d.getSeconds()) : Double.toString(d.toNanos() / 1e9);
    }

    /** A byte count in the unit of its option (KiB, MiB) when it is a whole number of them, else in bytes. */
    private static String inUnits(long bytes, long unit) {
        return bytes % unit == 0 ? Long.toString(bytes / unit) : bytes + " bytes";
    }

    public static ServerConfig defaults() {
        return new ServerConfig("127.0.0.1", 8080, 32, null, 256 * 1024, 64L << 20, 600, Duration.ofSeconds(30), 2.0, 256, 1,
                StreamMode.UPSTREAM, false);
    }

    public ServerConfig withHost(String v) {
        return new ServerConfig(v, port, maxStreams, token, maxMessageBytes, maxUploadBytes, maxHttpSeconds, idleTimeout, maxBufferedSeconds, maxQueuedMessages, maxHttpJobs, mode, allowAnyOrigin);
    }

    public ServerConfig withPort(int v) {
        return new ServerConfig(host, v, maxStreams, token, maxMessageBytes, maxUploadBytes, maxHttpSeconds, idleTimeout, maxBufferedSeconds, maxQueuedMessages, maxHttpJobs, mode, allowAnyOrigin);
    }

    public ServerConfig withMaxStreams(int v) {
        return new ServerConfig(host, port, v, token, maxMessageBytes, maxUploadBytes, maxHttpSeconds, idleTimeout, maxBufferedSeconds, maxQueuedMessages, maxHttpJobs, mode, allowAnyOrigin);
    }

    public ServerConfig withToken(String v) {
        return new ServerConfig(host, port, maxStreams, v, maxMessageBytes, maxUploadBytes, maxHttpSeconds, idleTimeout, maxBufferedSeconds, maxQueuedMessages, maxHttpJobs, mode, allowAnyOrigin);
    }

    public ServerConfig withMaxMessageBytes(int v) {
        return new ServerConfig(host, port, maxStreams, token, v, maxUploadBytes, maxHttpSeconds, idleTimeout, maxBufferedSeconds, maxQueuedMessages, maxHttpJobs, mode, allowAnyOrigin);
    }

    public ServerConfig withMaxUploadBytes(long v) {
        return new ServerConfig(host, port, maxStreams, token, maxMessageBytes, v, maxHttpSeconds, idleTimeout, maxBufferedSeconds, maxQueuedMessages, maxHttpJobs, mode, allowAnyOrigin);
    }

    public ServerConfig withMaxHttpSeconds(int v) {
        return new ServerConfig(host, port, maxStreams, token, maxMessageBytes, maxUploadBytes, v, idleTimeout, maxBufferedSeconds, maxQueuedMessages, maxHttpJobs, mode, allowAnyOrigin);
    }

    public ServerConfig withIdleTimeout(Duration v) {
        return new ServerConfig(host, port, maxStreams, token, maxMessageBytes, maxUploadBytes, maxHttpSeconds, v, maxBufferedSeconds, maxQueuedMessages, maxHttpJobs, mode, allowAnyOrigin);
    }

    public ServerConfig withMaxBufferedSeconds(double v) {
        return new ServerConfig(host, port, maxStreams, token, maxMessageBytes, maxUploadBytes, maxHttpSeconds, idleTimeout, v, maxQueuedMessages, maxHttpJobs, mode, allowAnyOrigin);
    }

    public ServerConfig withMaxQueuedMessages(int v) {
        return new ServerConfig(host, port, maxStreams, token, maxMessageBytes, maxUploadBytes, maxHttpSeconds, idleTimeout, maxBufferedSeconds, v, maxHttpJobs, mode, allowAnyOrigin);
    }

    public ServerConfig withMaxHttpJobs(int v) {
        return new ServerConfig(host, port, maxStreams, token, maxMessageBytes, maxUploadBytes, maxHttpSeconds, idleTimeout, maxBufferedSeconds, maxQueuedMessages, v, mode, allowAnyOrigin);
    }

    public ServerConfig withMode(StreamMode v) {
        return new ServerConfig(host, port, maxStreams, token, maxMessageBytes, maxUploadBytes, maxHttpSeconds, idleTimeout, maxBufferedSeconds, maxQueuedMessages, maxHttpJobs, v, allowAnyOrigin);
    }

    public ServerConfig withAllowAnyOrigin(boolean v) {
        return new ServerConfig(host, port, maxStreams, token, maxMessageBytes, maxUploadBytes, maxHttpSeconds, idleTimeout, maxBufferedSeconds, maxQueuedMessages, maxHttpJobs, mode, v);
    }
}
