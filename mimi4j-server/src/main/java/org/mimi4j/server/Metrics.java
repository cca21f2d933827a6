package org.mimi4j.server;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;

/** The server's counters, rendered in the Prometheus text exposition format (version 0.0.4). Thread-safe. */
public final class Metrics {
    /** A cumulative histogram of durations in seconds. */
    public static final class Histogram {
        private static final double[] BOUNDS = {0.001, 0.0025, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.16, 0.25, 0.5, 1, 2.5};
        private final AtomicLongArray counts = new AtomicLongArray(BOUNDS.length + 1);
        private final AtomicLong sumNanos = new AtomicLong();

        public void observeNanos(long nanos) {
            double s = nanos / 1e9;
            int i = 0;
            while (i < BOUNDS.length && s > BOUNDS[i]) i++;
            counts.incrementAndGet(i);
            sumNanos.addAndGet(nanos);
        }

        public long count() {
            long n = 0;
            for (int i = 0; i < counts.length(); i++) n += counts.get(i);
            return n;
        }

        void render(StringBuilder sb, String name, String labels) {
            String sep = labels.isEmpty() ? "" : ",";
            long cum = 0;
            for (int i = 0; i < BOUNDS.length; i++) {
                cum += counts.get(i);
                sb.append(name).append("_bucket{").append(labels).append(sep).append("le=\"").append(fmt(BOUNDS[i])).append("\"} ").append(cum).append('\n');
            }
            cum += counts.get(BOUNDS.length);
            sb.append(name).append("_bucket{").append(labels).append(sep).append("le=\"+Inf\"} ").append(cum).append('\n');
            String l = labels.isEmpty() ? "" : "{" + labels + "}";
            sb.append(name).append("_sum").append(l).append(' ').append(fmt(sumNanos.get() / 1e9)).append('\n');
            sb.append(name).append("_count").append(l).append(' ').append(cum).append('\n');
        }
    }

    final AtomicInteger activeEncode = new AtomicInteger(), activeDecode = new AtomicInteger(), activeRoundtrip = new AtomicInteger();
    final AtomicLong framesEncoded = new AtomicLong(), framesDecoded = new AtomicLong();
    final Histogram encoderStep = new Histogram(), decoderStep = new Histogram(), frameLatency = new Histogram();
    final AtomicLong encoderStreamsStepped = new AtomicLong(), decoderStreamsStepped = new AtomicLong();
    final ConcurrentHashMap<String, AtomicLong> rejected = new ConcurrentHashMap<>();
    final ConcurrentHashMap<String, AtomicLong> errors = new ConcurrentHashMap<>();
    final ConcurrentHashMap<String, AtomicLong> http = new ConcurrentHashMap<>();
    final AtomicLong streamsOpened = new AtomicLong();
    final AtomicInteger httpJobs = new AtomicInteger();
    // frames per second over the last 10 s: per-second snapshots of the frame counters
    private final long[] ringTime = new long[11], ringFrames = new long[11];
    private int ringPos, ringFill;
    private final long startNanos = System.nanoTime();

    public void rejected(String reason) {
        rejected.computeIfAbsent(reason, k -> new AtomicLong()).incrementAndGet();
    }

    public void error(String kind) {
        errors.computeIfAbsent(kind, k -> new AtomicLong()).incrementAndGet();
    }

    void http(String endpoint, int status) {
        http.computeIfAbsent(endpoint + "\u0000" + status, k -> new AtomicLong()).incrementAndGet();
    }

    public long rejectedCount(String reason) {
        AtomicLong a = rejected.get(reason);
        return a == null ? 0 : a.get();
    }

    public long errorCount(String kind) {
        AtomicLong a = errors.get(kind);
        return a == null ? 0 : a.get();
    }

    public int activeStreams() {
        return activeEncode.get() + activeDecode.get() + activeRoundtrip.get();
    }

    /** POST /v1/encode and /v1/decode requests inside their job (reading the body, computing or replying). */
    public int httpJobsRunning() {
        return httpJobs.get();
    }

    public long framesEncoded() {
        return framesEncoded.get();
    }

    public long framesDecoded() {
        return framesDecoded.get();
    }

    /** Called about once a second by the scheduler. */
    synchronized void tick(long now) {
        if (ringFill > 0 && now - ringTime[(ringPos + 10) % 11] < 1_000_000_000L) return;
        ringTime[ringPos] = now;
        ringFrames[ringPos] = framesEncoded.get() + framesDecoded.get();
        ringPos = (ringPos + 1) % 11;
        ringFill = Math.min(11, ringFill + 1);
    }

    /** Code frames encoded plus decoded per second, over the last (up to) 10 s. */
    public synchronized double framesPerSecond() {
        if (ringFill < 2) return 0;
        int newest = (ringPos + 10) % 11, oldest = ringFill < 11 ? 0 : ringPos;
        long dt = ringTime[newest] - ringTime[oldest];
        return dt <= 0 ? 0 : (ringFrames[newest] - ringFrames[oldest]) * 1e9 / dt;
    }

    public String render() {
        StringBuilder sb = new StringBuilder(4096);
        head(sb, "mimi_active_streams", "gauge", "WebSocket streams currently open, by endpoint.");
        sb.append("mimi_active_streams{kind=\"encode\"} ").append(activeEncode.get()).append('\n');
        sb.append("mimi_active_streams{kind=\"decode\"} ").append(activeDecode.get()).append('\n');
        sb.append("mimi_active_streams{kind=\"roundtrip\"} ").append(activeRoundtrip.get()).append('\n');
        head(sb, "mimi_http_jobs_running", "gauge", "POST /v1/encode and /v1/decode requests being served.");
        sb.append("mimi_http_jobs_running ").append(httpJobs.get()).append('\n');
        head(sb, "mimi_streams_opened_total", "counter", "WebSocket streams accepted since start.");
        sb.append("mimi_streams_opened_total ").append(streamsOpened.get()).append('\n');
        head(sb, "mimi_frames_total", "counter", "Code frames (80 ms each) computed, by direction.");
        sb.append("mimi_frames_total{direction=\"encode\"} ").append(framesEncoded.get()).append('\n');
        sb.append("mimi_frames_total{direction=\"decode\"} ").append(framesDecoded.get()).append('\n');
        head(sb, "mimi_frames_per_second", "gauge", "Frames encoded plus decoded per second over the last 10 s.");
        sb.append("mimi_frames_per_second ").append(fmt(framesPerSecond())).append('\n');
        head(sb, "mimi_step_seconds", "histogram", "Duration of one batched step of all ready streams.");
        encoderStep.render(sb, "mimi_step_seconds", "batch=\"encoder\"");
        decoderStep.render(sb, "mimi_step_seconds", "batch=\"decoder\"");
        head(sb, "mimi_batch_streams_total", "counter", "Stream-frames computed by batched steps (divide by step count for the mean batch size).");
        sb.append("mimi_batch_streams_total{batch=\"encoder\"} ").append(encoderStreamsStepped.get()).append('\n');
        sb.append("mimi_batch_streams_total{batch=\"decoder\"} ").append(decoderStreamsStepped.get()).append('\n');
        head(sb, "mimi_frame_latency_seconds", "histogram", "From the arrival of the audio completing a frame to its code frame being queued for sending.");
        frameLatency.render(sb, "mimi_frame_latency_seconds", "");
        head(sb, "mimi_rejected_connections_total", "counter", "Connections and requests refused, by reason.");
        for (String r : new String[]{"full", "unauthorized", "origin", "busy"}) rejected.computeIfAbsent(r, k -> new AtomicLong());
        rejected.entrySet().stream().sorted(java.util.Map.Entry.comparingByKey()).forEach(e ->
                sb.append("mimi_rejected_connections_total{reason=\"").append(e.getKey()).append("\"} ").append(e.getValue().get()).append('\n'));
        head(sb, "mimi_errors_total", "counter", "Streams closed for an error, by kind.");
        for (String r : new String[]{"protocol", "too_large", "slow_client", "idle_timeout", "disconnect", "internal"}) errors.computeIfAbsent(r, k -> new AtomicLong());
        errors.entrySet().stream().sorted(java.util.Map.Entry.comparingByKey()).forEach(e ->
                sb.append("mimi_errors_total{kind=\"").append(e.getKey()).append("\"} ").append(e.getValue().get()).append('\n'));
        head(sb, "mimi_http_requests_total", "counter", "HTTP requests by endpoint and status.");
        http.entrySet().stream().sorted(java.util.Map.Entry.comparingByKey()).forEach(e -> {
            String[] p = e.getKey().split("\u0000");
            sb.append("mimi_http_requests_total{endpoint=\"").append(p[0]).append("\",status=\"").append(p[1]).append("\"} ").append(e.getValue().get()).append('\n');
        });
        head(sb, "mimi_uptime_seconds", "gauge", "Seconds since the server started.");
        sb.append("mimi_uptime_seconds ").append(fmt((System.nanoTime() - startNanos) / 1e9)).append('\n');
        return sb.toString();
    }

    private static void head(StringBuilder sb, String name, String type, String help) {
        sb.append("# HELP ").append(name).append(' ').append(help).append('\n');
        sb.append("# TYPE ").append(name).append(' ').append(type).append('\n');
    }

    static String fmt(double v) {
        if (v == Math.rint(v) && Math.abs(v) < 1e15) return Long.toString((long) v);
        return Double.toString(v);
    }
}
