package org.mimi4j.server;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Loopback load test of a running {@code mimi serve}: N clients each stream audio in real time (one 1920-sample
 * chunk every 80 ms, random phases) and measure each frame's latency, from sending the chunk that completes it to
 * receiving its codes. With {@code --kind duplex} each of the N clients is a voice agent's two streams: an encode
 * stream (its microphone) and a decode stream sent one code frame every 80 ms at the same ticks (its replies), whose
 * latency runs from sending a code frame to receiving its audio; both kinds of frames count. N grows (doubling, then
 * bisecting) to find the most clients held with p99 latency under the budget (80 ms) and no lost frames; "speed" is
 * the frames each stream got back per frame it sent in the level's time (1.00x: the server kept up). With
 * {@code --decoders K}, K decode streams (a code frame every 80 ms each) run beside the N clients at every level, their
 * frames counted too: a mixed load, such as many microphones and a few speakers. With {@code --nq 8,32} the streams
 * take the codebook counts in turn (a duplex client's two streams the same). JDK only, so it
 * runs as a source file:
 *
 * <pre>
 * bin/mimi serve --model random --max-streams 128 --port 8090 &amp;
 * java mimi4j-server/src/test/java/org/mimi4j/server/LoadTest.java --url http://127.0.0.1:8090/ [--kind encode|roundtrip|duplex]
 * </pre>
 *
 * Bounded: at most --max streams, --seconds per level, --budget seconds in all; only loopback addresses.
 */
public final class LoadTest {
    static final int FRAME = 1920;

    record Level(int streams, long frames, long lost, double p50, double p95, double p99, double max, int errors, String firstError, double speed) {
        boolean ok(double budgetMs) {
            return errors == 0 && lost == 0 && p99 < budgetMs;
        }
    }

    public static void main(String[] args) throws Exception {
        String url = "http://127.0.0.1:8090/", kind = "encode", token = null;
        int[] nq = {8};
        int max = 128, start = 1, retries = 1, decoders = 0;
        double seconds = 20, warmup = 4, budgetMs = 80, totalBudget = 900;
        for (int i = 0; i < args.length; i++) {
            String option = args[i];
            try {
                switch (option) {
                    case "--url" -> url = args[++i];
                    case "--kind" -> {
                        kind = args[++i];
                        if (!kind.matches("encode|roundtrip|duplex")) fail("--kind is encode, roundtrip or duplex, not " + kind);
                    }
                    case "--nq" -> nq = java.util.Arrays.stream(args[++i].split(",", -1)).mapToInt(Integer::parseInt).toArray();
                    case "--max" -> max = Integer.parseInt(args[++i]);
                    case "--start" -> start = Integer.parseInt(args[++i]);
                    case "--seconds" -> seconds = Double.parseDouble(args[++i]);
                    case "--warmup" -> warmup = Double.parseDouble(args[++i]);
                    case "--p99-ms" -> budgetMs = Double.parseDouble(args[++i]);
                    case "--budget" -> totalBudget = Double.parseDouble(args[++i]);
                    case "--token" -> token = args[++i];
                    case "--retries" -> retries = Integer.parseInt(args[++i]);
                    case "--decoders" -> decoders = Integer.parseInt(args[++i]);
                    default -> {
                        System.err.println("usage: LoadTest [--url http://127.0.0.1:8090/] [--kind encode|roundtrip|duplex] [--nq 8 or 8,32,...] [--start 1] [--max 128] "
                                + "[--seconds 20] [--warmup 4] [--p99-ms 80] [--budget 900] [--retries 1] [--decoders 0] [--token T]");
                        System.exit(2);
                    }
                }
            } catch (NumberFormatException e) {
                fail(option + " needs a number, got " + args[i]);
            } catch (ArrayIndexOutOfBoundsException e) {
                fail(option + " needs a value");
            }
        }
        URI base = URI.create(url.endsWith("/") ? url : url + "/");
        String host = base.getHost();
        if (host == null || !(host.equals("127.0.0.1") || host.equals("localhost") || host.equals("[::1]") || host.equals("::1"))) {
            fail("the load test only targets loopback (127.0.0.1), not " + host);
        }
        if (max > 512) fail("--max is capped at 512");
        if (decoders < 0 || decoders > 512) fail("--decoders is 0 to 512, not " + decoders);
        for (int q : nq) if (q < 1) fail("--nq takes codebook counts of at least 1, not " + q);
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        String health = http.send(HttpRequest.newBuilder(base.resolve("healthz")).build(), HttpResponse.BodyHandlers.ofString()).body();
        System.out.println("server: " + health);
        String what = (kind.equals("duplex") ? "duplex clients (an encode and a decode stream each)" : kind + " streams")
                + (decoders > 0 ? " beside " + decoders + " decode stream" + (decoders > 1 ? "s" : "") : "");
        System.out.printf(Locale.ROOT, "%s, %s codebooks, %.0f s per level (first %.0f s not measured), p99 budget %.0f ms, %d cores here%n",
                what, java.util.Arrays.stream(nq).mapToObj(Integer::toString).collect(java.util.stream.Collectors.joining(" or ")), seconds, warmup, budgetMs, Runtime.getRuntime().availableProcessors());
        System.out.println("streams  frames   lost   p50 ms   p95 ms   p99 ms   max ms  errors  speed");
        long deadline = System.nanoTime() + (long) (totalBudget * 1e9);
        int good = 0, bad = -1, n = Math.max(1, start);
        List<Level> levels = new ArrayList<>();
        while (System.nanoTime() < deadline) {
            Level l = null;
            for (int attempt = 0; attempt <= retries && (l == null || !l.ok(budgetMs)); attempt++) { // a shared machine has hiccups: retry a failed level
                if (attempt > 0) Thread.sleep(2000);
                l = run(http, base, kind, nq, n, decoders, seconds, warmup, token);
                levels.add(l);
                System.out.printf(Locale.ROOT, "%7d %7d %6d %8.1f %8.1f %8.1f %8.1f %7d %5.2fx %s%n", l.streams, l.frames, l.lost, l.p50, l.p95, l.p99, l.max, l.errors, l.speed,
                        l.ok(budgetMs) ? "ok" : "FAIL" + (l.firstError == null ? "" : " (" + l.firstError + ")"));
            }
            if (l.ok(budgetMs)) good = Math.max(good, n);
            else bad = bad < 0 ? n : Math.min(bad, n);
            int next = bad < 0 ? Math.min(max, n * 2) : (good + bad) / 2;
            if (next <= good || next == n || (bad >= 0 && next >= bad) || (bad < 0 && n == max)) break;
            n = next;
            Thread.sleep(2000); // let the server settle
        }
        System.out.printf(Locale.ROOT, "RESULT: %d concurrent real-time %s with p99 frame latency < %.0f ms%s%n", good, what, budgetMs,
                bad < 0 ? " (the most tried)" : " (" + bad + " failed)");
    }

    /** One level: n clients streaming in real time for {@code seconds}, and {@code decoders} decode streams beside them. */
    static Level run(HttpClient http, URI base, String kind, int[] nqs, int n, int decoders, double seconds, double warmup, String token) throws Exception {
        ScheduledExecutorService timer = Executors.newScheduledThreadPool(2, r -> {
            Thread t = new Thread(r, "load-sender");
            t.setDaemon(true);
            return t;
        });
        ConcurrentLinkedQueue<Double> lat = new ConcurrentLinkedQueue<>();
        AtomicInteger errors = new AtomicInteger();
        ConcurrentLinkedQueue<String> errorTexts = new ConcurrentLinkedQueue<>();
        List<Client> clients = new ArrayList<>();
        long t0 = System.nanoTime();
        long measureFrom = t0 + (long) (warmup * 1e9);
        boolean duplex = kind.equals("duplex");
        int clientStreams = duplex ? 2 * n : n;
        for (int i = 0; i < clientStreams + decoders; i++) {
            // a duplex client: its encode stream, then its decode stream; after the clients, the lone decode streams
            boolean decode = i >= clientStreams || duplex && i % 2 == 1;
            String endpoint = decode ? "decode" : duplex ? "encode" : kind;
            URI ws = URI.create("ws://" + base.getRawAuthority() + "/v1/stream/" + endpoint + (token == null ? "" : "?token=" + token));
            int nq = nqs[(duplex && i < clientStreams ? i / 2 : i) % nqs.length]; // the counts in turn
            Client c = new Client(nq, lat, measureFrom, errors, errorTexts, decode);
            try {
                c.ws = http.newWebSocketBuilder().connectTimeout(Duration.ofSeconds(5)).buildAsync(ws, c).get(10, TimeUnit.SECONDS);
                c.ws.sendText("{\"type\":\"start\",\"format\":\"f32le\",\"num_quantizers\":" + nq + "}", true).get(5, TimeUnit.SECONDS);
                c.ready.get(10, TimeUnit.SECONDS);
            } catch (Exception e) {
                errors.incrementAndGet();
                errorTexts.add("connect: " + e);
                continue;
            }
            clients.add(c);
        }
        Random r = new Random(n);
        List<ScheduledFuture<?>> tasks = new ArrayList<>();
        long frames = (long) (seconds * 12.5);
        long phase = 0;
        for (int i = 0; i < clients.size(); i++) {
            Client c = clients.get(i);
            if (!duplex || !c.decode || i >= clientStreams) phase = (long) (r.nextDouble() * 80_000); // a duplex client's two streams tick together
            tasks.add(timer.scheduleAtFixedRate(() -> c.sendFrame(frames), phase, 80_000, TimeUnit.MICROSECONDS));
        }
        Thread.sleep((long) (seconds * 1000) + 200);
        for (ScheduledFuture<?> t : tasks) t.cancel(false);
        Thread.sleep(1000); // the last frames
        long sentMeasured = 0, got = 0, received = 0;
        for (Client c : clients) {
            sentMeasured += c.sentMeasured.get();
            got += c.gotMeasured.get();
            received += c.receivedFrames();
            c.ws.abort();
        }
        timer.shutdownNow();
        double[] a = lat.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        return new Level(n, a.length, Math.max(0, sentMeasured - got), pct(a, 0.50), pct(a, 0.95), pct(a, 0.99), a.length == 0 ? Double.NaN : a[a.length - 1],
                errors.get(), errorTexts.peek(), clients.isEmpty() ? 0 : received / (double) clients.size() / (seconds * 12.5));
    }

    /** A mistake in the arguments: one line, exit 2. */
    static void fail(String message) {
        System.err.println("LoadTest: " + message);
        System.exit(2);
    }

    static double pct(double[] sorted, double p) {
        if (sorted.length == 0) return Double.NaN;
        return sorted[Math.min(sorted.length - 1, (int) Math.ceil(p * sorted.length) - 1)];
    }

    /**
     * One streaming client: sends a frame per tick (1920 samples; a decode stream's: one code frame), matches the frames
     * coming back (code frames; a decode stream's: audio frames) to their send times.
     */
    static final class Client implements WebSocket.Listener {
        final int nq;
        final boolean decode;
        final ConcurrentLinkedQueue<Double> lat;
        final long measureFrom;
        final AtomicInteger errors;
        final ConcurrentLinkedQueue<String> errorTexts;
        final CompletableFuture<Void> ready = new CompletableFuture<>();
        final AtomicInteger sentMeasured = new AtomicInteger(), gotMeasured = new AtomicInteger();
        final long[] sentAt = new long[1 << 14];
        final byte[] payload;
        volatile WebSocket ws;
        int sent;
        volatile int received;
        private int partBytes;
        CompletableFuture<WebSocket> pending = CompletableFuture.completedFuture(null);

        Client(int nq, ConcurrentLinkedQueue<Double> lat, long measureFrom, AtomicInteger errors, ConcurrentLinkedQueue<String> errorTexts, boolean decode) {
            this.nq = nq;
            this.lat = lat;
            this.measureFrom = measureFrom;
            this.errors = errors;
            this.errorTexts = errorTexts;
            this.decode = decode;
            Random r = new Random();
            ByteBuffer b = ByteBuffer.allocate(decode ? 2 * nq : 4 * FRAME).order(ByteOrder.LITTLE_ENDIAN);
            if (decode) for (int i = 0; i < nq; i++) b.putShort((short) r.nextInt(2048));
            else for (int i = 0; i < FRAME; i++) b.putFloat((float) (0.1 * r.nextGaussian()));
            payload = b.array();
        }

        int receivedFrames() {
            return received;
        }

        void sendFrame(long limit) {
            if (sent >= limit || sent >= sentAt.length) return;
            if (!pending.isDone()) { // the previous send has not gone out: the server is not reading fast enough
                errors.incrementAndGet();
                errorTexts.add("send backlog");
                return;
            }
            long now = System.nanoTime();
            sentAt[sent] = now;
            if (now >= measureFrom) sentMeasured.incrementAndGet();
            sent++;
            pending = ws.sendBinary(ByteBuffer.wrap(payload), true);
        }

        @Override
        public void onOpen(WebSocket webSocket) {
            webSocket.request(1);
        }

        @Override
        public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
            if (data.toString().contains("\"ready\"")) ready.complete(null);
            webSocket.request(1);
            return null;
        }

        @Override
        public CompletionStage<?> onBinary(WebSocket webSocket, ByteBuffer data, boolean last) {
            partBytes += data.remaining();
            if (last) {
                int size = partBytes;
                partBytes = 0;
                if (size == (decode ? 4 * FRAME : 2 * nq)) { // the frame this stream waits for (roundtrip also sends PCM: not counted)
                    long now = System.nanoTime();
                    int f = received++;
                    if (f < sent && sentAt[f] >= measureFrom) {
                        lat.add((now - sentAt[f]) / 1e6);
                        gotMeasured.incrementAndGet();
                    }
                }
            }
            webSocket.request(1);
            return null;
        }

        @Override
        public CompletionStage<?> onClose(WebSocket webSocket, int statusCode, String reason) {
            errors.incrementAndGet();
            errorTexts.add("closed " + statusCode + " " + reason);
            ready.complete(null);
            return null;
        }

        @Override
        public void onError(WebSocket webSocket, Throwable error) {
            errors.incrementAndGet();
            errorTexts.add("error " + error);
            ready.complete(null);
        }
    }
}
