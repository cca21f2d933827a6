package org.mimi4j.server;

import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.Fields;
import org.mimi4j.MimiException;
import org.mimi4j.Padding;
import org.mimi4j.audio.AudioFormatException;
import org.mimi4j.audio.AudioIO;
import org.mimi4j.audio.AudioSource;
import org.mimi4j.io.CodesFile;
import org.mimi4j.io.Json;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Semaphore;

/** The HTTP side: the page, /healthz, /metrics, POST /v1/encode and /v1/decode. */
final class HttpApi extends Handler.Abstract {
    private final MimiServer server;
    private final Semaphore jobs;
    private final Map<String, byte[]> assets = new HashMap<>();

    /** An HTTP error with its status. */
    static final class HttpError extends RuntimeException {
        final int status;

        HttpError(int status, String message) {
            super(message);
            this.status = status;
        }
    }

    HttpApi(MimiServer server) {
        this.server = server;
        this.jobs = new Semaphore(server.config.maxHttpJobs());
        for (String a : new String[]{"index.html", "app.js", "capture-worklet.js", "style.css"}) {
            try (InputStream in = HttpApi.class.getResourceAsStream("web/" + a)) {
                if (in != null) assets.put(a, in.readAllBytes());
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }
    }

    @Override
    public boolean handle(Request req, Response resp, Callback cb) {
        String path = Request.getPathInContext(req);
        String method = req.getMethod();
        String endpoint = switch (path) {
            case "/v1/encode", "/v1/decode", "/healthz", "/metrics" -> path;
            default -> path.startsWith("/v1/") ? "other" : "page";
        };
        int status;
        try {
            status = route(path, method, req, resp, cb);
        } catch (HttpError e) {
            status = e.status;
            error(req, resp, cb, e.status, e.getMessage());
        } catch (AudioFormatException | MimiException | IllegalArgumentException e) {
            status = 400;
            error(req, resp, cb, 400, e.getMessage());
        } catch (Throwable e) {
            status = 500;
            server.metrics.error("internal");
            error(req, resp, cb, 500, "internal error: " + e);
        }
        server.metrics.http(endpoint, status);
        return true;
    }

    private int route(String path, String method, Request req, Response resp, Callback cb) throws Exception {
        switch (path) {
            case "/healthz" -> {
                queryParameters(req, TOKEN_ONLY);
                Map<String, Object> h = new LinkedHashMap<>();
                h.put("status", "ok");
                h.put("model", server.mimi.source());
                h.put("sample_rate", (long) server.mimi.sampleRate());
                h.put("frame_rate", server.mimi.frameRate());
                h.put("codebooks", (long) server.mimi.totalCodebooks());
                h.put("codebook_size", (long) server.mimi.cardinality());
                h.put("active_streams", (long) server.admittedStreams());
                h.put("max_streams", (long) server.config.maxStreams());
                h.put("token_required", server.config.token() != null);
                return write(resp, cb, 200, "application/json", Json.write(h).getBytes(StandardCharsets.UTF_8));
            }
            case "/metrics" -> {
                auth(req, resp);
                queryParameters(req, TOKEN_ONLY);
                return write(resp, cb, 200, "text/plain; version=0.0.4; charset=utf-8", server.metrics.render().getBytes(StandardCharsets.UTF_8));
            }
            case "/v1/encode" -> {
                requirePost(method);
                auth(req, resp);
                Fields q = queryParameters(req, ENCODE_PARAMETERS);
                return job(resp, cb, () -> encode(req, q));
            }
            case "/v1/decode" -> {
                requirePost(method);
                auth(req, resp);
                queryParameters(req, TOKEN_ONLY);
                return job(resp, cb, () -> decode(req));
            }
            default -> {
                String name = path.equals("/") ? "index.html" : path.substring(1);
                byte[] asset = path.startsWith("/v1/") ? null : assets.get(name);
                if (asset == null) throw new HttpError(404, "not found: " + path);
                if (!method.equals("GET") && !method.equals("HEAD")) throw new HttpError(405, "method not allowed");
                String type = name.endsWith(".html") ? "text/html; charset=utf-8" : name.endsWith(".js") ? "text/javascript; charset=utf-8" : "text/css; charset=utf-8";
                resp.getHeaders().put("Content-Security-Policy", "default-src 'self'; connect-src 'self' ws: wss:; media-src 'self' blob:; img-src 'self' data: blob:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'");
                return write(resp, cb, 200, type, asset, method.equals("HEAD"));
            }
        }
    }

    /** A computed reply, written after the job's place is given back (so the next request finds it free). */
    private record Reply(String type, byte[] body, String disposition) {
    }

    private interface Job {
        Reply run() throws Exception;
    }

    private int job(Response resp, Callback cb, Job j) throws Exception {
        if (!jobs.tryAcquire()) {
            server.metrics.rejected("busy");
            throw new HttpError(503, "busy: " + server.config.maxHttpJobs() + " HTTP job(s) already running; retry later");
        }
        Reply r;
        server.metrics.httpJobs.incrementAndGet();
        try {
            r = j.run();
        } finally {
            server.metrics.httpJobs.decrementAndGet();
            jobs.release();
        }
        if (r.disposition() != null) resp.getHeaders().put(HttpHeader.CONTENT_DISPOSITION, r.disposition());
        return write(resp, cb, 200, r.type(), r.body());
    }

    /** Query parameters of /healthz, /metrics, /v1/decode and the WebSocket endpoints: only the token. */
    static final List<String> TOKEN_ONLY = List.of("token");
    static final List<String> ENCODE_PARAMETERS = List.of("num_quantizers", "format", "token");

    /** The query parameters, each at most once and all among those the endpoint takes; else a 400 naming the culprit. */
    static Fields queryParameters(Request req, List<String> allowed) {
        Fields q = Request.extractQueryParameters(req);
        for (Fields.Field f : q) {
            if (!allowed.contains(f.getName())) {
                throw new HttpError(400, "unknown query parameter " + Json.write(f.getName()) + " (" + Request.getPathInContext(req) + " takes "
                        + String.join(", ", allowed) + ")");
            }
            if (f.getValues().size() > 1) throw new HttpError(400, "query parameter " + Json.write(f.getName()) + " given " + f.getValues().size() + " times");
        }
        return q;
    }

    private static void requirePost(String method) {
        if (!method.equals("POST")) throw new HttpError(405, "use POST");
    }

    private void auth(Request req, Response resp) {
        if (!server.originAllowed(req)) { // a page of another site posting through the user's browser
            server.metrics.rejected("origin");
            throw new HttpError(403, "origin not allowed: " + req.getHeaders().get(HttpHeader.ORIGIN));
        }
        if (!server.authorized(req)) {
            server.metrics.rejected("unauthorized");
            resp.getHeaders().put(HttpHeader.WWW_AUTHENTICATE, "Bearer");
            throw new HttpError(401, "missing or wrong bearer token");
        }
    }

    /** Bytes of a refused body read and dropped before the error goes out (see {@link #drain}). */
    private static final long DRAIN_BYTES = 16L << 20;

    /**
     * Reads and drops what is left of a refused body, up to {@link #DRAIN_BYTES}. Unread, Jetty closes the
     * connection after the error reply: a client still sending its body gets a TCP reset and may never see the
     * error, and one that already sent it may reuse the kept-alive connection for its next request and get no reply.
     * Longer bodies are cut (the connection closes).
     */
    private static void drain(InputStream in) {
        byte[] buf = new byte[65536];
        try {
            for (long left = DRAIN_BYTES; left > 0; ) {
                int n = in.read(buf, 0, (int) Math.min(buf.length, left));
                if (n < 0) return;
                left -= n;
            }
        } catch (IOException e) {
            // the client went away: nothing to drain
        }
    }

    /** The request body in a temporary file, at most maxUploadBytes. */
    private Path body(Request req, String suffix) throws IOException {
        long max = server.config.maxUploadBytes();
        long declared = req.getLength();
        if (declared > max) throw new HttpError(413, "body of " + declared + " bytes exceeds the limit of " + max);
        String type = req.getHeaders().get(HttpHeader.CONTENT_TYPE);
        if (type != null && type.regionMatches(true, 0, "multipart/", 0, 10)) {
            throw new HttpError(400, "the body must be the raw file (curl --data-binary @file), not a " + type.split(";")[0].trim() + " form (curl -F)");
        }
        Path tmp = Files.createTempFile("mimi-serve-", suffix);
        try (InputStream in = Request.asInputStream(req); OutputStream out = Files.newOutputStream(tmp)) {
            byte[] buf = new byte[65536];
            long total = 0;
            int n;
            while ((n = in.read(buf)) >= 0) {
                total += n;
                if (total > max) {
                    drain(in); // here, not only in error(): closing this stream with data unread fails the request's content
                    throw new HttpError(413, "body exceeds the limit of " + max + " bytes");
                }
                out.write(buf, 0, n);
            }
            if (total == 0) throw new HttpError(400, "empty body");
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
        return tmp;
    }

    /** A 400 for an unreadable upload, its message without the temporary file's path. */
    private static HttpError badBody(Exception e, Path tmp) {
        String m = String.valueOf(e.getMessage()).replace(tmp.toString(), "request body").replace(tmp.getFileName().toString(), "request body");
        return new HttpError(400, m);
    }

    private Reply encode(Request req, Fields q) throws Exception {
        int nq = intParam(q, "num_quantizers", Math.min(8, server.mimi.totalCodebooks()));
        if (nq < 1 || nq > server.mimi.totalCodebooks()) throw new HttpError(400, "num_quantizers must be in 1.." + server.mimi.totalCodebooks() + ", got " + nq);
        String format = q.getValue("format") == null ? "safetensors" : q.getValue("format");
        if (!format.equals("safetensors") && !format.equals("json")) throw new HttpError(400, "format must be safetensors or json, got " + format);
        Path in = body(req, ".audio");
        Path out = null;
        try {
            long maxSamples = (long) server.config.maxHttpSeconds() * server.mimi.sampleRate();
            long[] count = {0};
            int[][] codes;
            int sourceRate;
            try (AudioSource src = AudioIO.open(in); AudioSource rs = AudioIO.resample(src, server.mimi.sampleRate())) {
                sourceRate = src.sampleRate();
                if (src.durationSamples() > 0 && src.durationSamples() / (double) src.sampleRate() > server.config.maxHttpSeconds()) {
                    throw new HttpError(413, "audio longer than the limit of " + server.config.maxHttpSeconds() + " s");
                }
                codes = server.mimi.encode((buf, off, len) -> {
                    int n = rs.read(buf, off, len);
                    if (n > 0 && (count[0] += n) > maxSamples) throw new HttpError(413, "audio longer than the limit of " + server.config.maxHttpSeconds() + " s");
                    return n;
                }, nq, Padding.MOSHI);
            } catch (AudioFormatException | MimiException | IllegalArgumentException e) {
                throw badBody(e, in);
            }
            if (format.equals("json")) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("num_quantizers", (long) nq);
                m.put("frames", (long) codes[0].length);
                m.put("sample_rate", (long) server.mimi.sampleRate());
                m.put("frame_rate", server.mimi.frameRate());
                m.put("input_samples", count[0]);
                m.put("source_sample_rate", (long) sourceRate);
                List<Object> rows = new ArrayList<>();
                for (int[] row : codes) {
                    List<Object> r = new ArrayList<>(row.length);
                    for (int c : row) r.add((long) c);
                    rows.add(r);
                }
                m.put("codes", rows);
                return new Reply("application/json", Json.write(m).getBytes(StandardCharsets.UTF_8), null);
            }
            Map<String, String> meta = new LinkedHashMap<>();
            meta.put("model", server.mimi.source());
            meta.put("num_quantizers", Integer.toString(nq));
            meta.put("sample_rate", Integer.toString(server.mimi.sampleRate()));
            meta.put("frame_rate", Double.toString(server.mimi.frameRate()));
            meta.put("input_samples", Long.toString(count[0]));
            meta.put("source_sample_rate", Integer.toString(sourceRate));
            meta.put("padding", "moshi");
            meta.put("format", "mimi4j-codes-1");
            out = Files.createTempFile("mimi-serve-", ".safetensors");
            CodesFile.write(out, codes, meta, CodesFile.Format.SAFETENSORS);
            return new Reply("application/octet-stream", Files.readAllBytes(out), "attachment; filename=\"codes.safetensors\"");
        } finally {
            Files.deleteIfExists(in);
            if (out != null) Files.deleteIfExists(out);
        }
    }

    private Reply decode(Request req) throws Exception {
        Path in = body(req, ".codes");
        try {
            int[][] codes;
            long keep;
            byte[] head = new byte[1];
            try (InputStream s = Files.newInputStream(in)) {
                s.read(head);
            }
            if (head[0] == '{') { // JSON {"codes": [[...] x K], "input_samples": N?}
                Object o;
                try {
                    o = Json.parse(Files.readString(in));
                } catch (java.nio.charset.MalformedInputException e) {
                    throw new HttpError(400, "body is not UTF-8 JSON");
                }
                if (!(o instanceof Map<?, ?> m) || !(m.get("codes") instanceof List<?> rows) || rows.isEmpty()) {
                    throw new HttpError(400, "JSON body needs \"codes\": [[...], ...] (codebooks x frames)");
                }
                for (Object k : m.keySet()) {
                    if (!k.equals("codes") && !k.equals("input_samples")) {
                        throw new HttpError(400, "unknown field " + Json.write(k) + " in the JSON body (it takes \"codes\" and \"input_samples\")");
                    }
                }
                codes = new int[rows.size()][];
                for (int k = 0; k < codes.length; k++) {
                    if (!(rows.get(k) instanceof List<?> row)) throw new HttpError(400, "codes[" + k + "] is not an array");
                    codes[k] = new int[row.size()];
                    for (int t = 0; t < row.size(); t++) {
                        if (!(row.get(t) instanceof Long v) || v < 0 || v > Integer.MAX_VALUE) throw new HttpError(400, "codes[" + k + "][" + t + "] is not a non-negative integer");
                        codes[k][t] = v.intValue();
                    }
                }
                Object n = m.get("input_samples");
                if (!m.containsKey("input_samples")) keep = Long.MAX_VALUE;
                else if (n instanceof Long l && l >= 0) keep = l;
                else throw new HttpError(400, "input_samples must be a non-negative integer, got " + (n instanceof Double d ? d.toString() : Json.write(n)));
            } else {
                CodesFile.Codes c;
                try {
                    c = CodesFile.read(in);
                } catch (MimiException | IllegalArgumentException e) {
                    throw badBody(e, in);
                }
                codes = c.codes();
                String rec = c.metadata().get("input_samples");
                keep = Long.MAX_VALUE;
                try {
                    if (rec != null) keep = Long.parseLong(rec);
                } catch (NumberFormatException e) {
                    keep = -1;
                }
                if (keep < 0) throw new HttpError(400, "the codes file's metadata input_samples is not a non-negative integer: " + rec);
            }
            int frames = server.mimi.checkCodes(new int[][][]{codes});
            if (frames == 0) throw new HttpError(400, "codes of shape [" + codes.length + ", 0] are empty");
            if (frames / server.mimi.frameRate() > server.config.maxHttpSeconds()) {
                throw new HttpError(413, "codes longer than the limit of " + server.config.maxHttpSeconds() + " s");
            }
            float[] audio = server.mimi.decode(codes);
            int n = (int) Math.min(audio.length, keep); // a larger input_samples keeps every sample, as mimi decode does
            return new Reply("audio/wav", wav16(audio, n, server.mimi.sampleRate()), null);
        } finally {
            Files.deleteIfExists(in);
        }
    }

    static byte[] wav16(float[] x, int n, int rate) {
        ByteBuffer b = ByteBuffer.allocate(44 + 2 * n).order(ByteOrder.LITTLE_ENDIAN);
        b.put("RIFF".getBytes(StandardCharsets.US_ASCII)).putInt(36 + 2 * n).put("WAVE".getBytes(StandardCharsets.US_ASCII));
        b.put("fmt ".getBytes(StandardCharsets.US_ASCII)).putInt(16).putShort((short) 1).putShort((short) 1).putInt(rate).putInt(rate * 2)
                .putShort((short) 2).putShort((short) 16);
        b.put("data".getBytes(StandardCharsets.US_ASCII)).putInt(2 * n);
        for (int i = 0; i < n; i++) b.putShort((short) Math.round(Math.clamp(x[i], -1f, 1f) * 32767f));
        return b.array();
    }

    private static int intParam(Fields q, String name, int def) {
        String v = q.getValue(name);
        if (v == null) return def;
        try {
            return Integer.parseInt(v);
        } catch (NumberFormatException e) {
            throw new HttpError(400, name + " must be an integer, got " + v);
        }
    }

    private static int write(Response resp, Callback cb, int status, String type, byte[] body) {
        return write(resp, cb, status, type, body, false);
    }

    /** The response; for a HEAD request ({@code head}) the headers a GET gets, its Content-Length included, and no body. */
    private static int write(Response resp, Callback cb, int status, String type, byte[] body, boolean head) {
        resp.setStatus(status);
        resp.getHeaders().put(HttpHeader.CONTENT_TYPE, type);
        resp.getHeaders().put("X-Content-Type-Options", "nosniff");
        resp.getHeaders().put("Referrer-Policy", "no-referrer");
        resp.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-store");
        resp.getHeaders().put(HttpHeader.CONTENT_LENGTH, body.length);
        resp.write(true, head ? ByteBuffer.allocate(0) : ByteBuffer.wrap(body), cb);
        return status;
    }

    private static void error(Request req, Response resp, Callback cb, int status, String message) {
        drain(Request.asInputStream(req));
        if (resp.isCommitted()) {
            cb.failed(new IOException(message));
            return;
        }
        if (status == 503) resp.getHeaders().put(HttpHeader.RETRY_AFTER, "1");
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("error", message == null ? "error" : message);
        m.put("status", (long) status);
        write(resp, cb, status, "application/json", Json.write(m).getBytes(StandardCharsets.UTF_8));
    }
}
