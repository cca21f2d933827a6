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
    public ServerConfig {
        if (maxStreams < 1) throw new IllegalArgumentException("max streams must be at least 1, got " + maxStreams);
        if (port < 0 || port > 65535) throw new IllegalArgumentException("port must be in 0..65535, got " + port);
        if (maxMessageBytes < 4096) throw new IllegalArgumentException("max message bytes must be at least 4096, got " + maxMessageBytes);
        if (maxQueuedMessages < 4) throw new IllegalArgumentException("max queued messages must be at least 4");
        if (maxHttpJobs < 1) throw new IllegalArgumentException("max HTTP jobs must be at least 1");
        if (token != null && token.isEmpty()) token = null;
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
