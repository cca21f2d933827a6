package org.mimi4j.io;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

class HfHubTest {
    static final String REPO = "kyutai/mimi";
    static final String COMMIT = "0123456789abcdef0123456789abcdef01234567";
    static final String TOKEN = "hf_test_token";

    @TempDir
    Path tmp;
    Path cache;
    FakeHub server;
    byte[] weights;
    byte[] config;

    @BeforeEach
    void start() throws IOException {
        cache = tmp.resolve("hub");
        server = new FakeHub();
        weights = random(300_000, 1);
        config = "{\"sample_rate\": 24000}\n".getBytes(StandardCharsets.UTF_8);
        FakeHub.Repo repo = server.repo(REPO, COMMIT);
        repo.lfs("model.safetensors", weights);
        repo.small("config.json", config);
        repo.small("sub/dir/notes.txt", "hello".getBytes(StandardCharsets.UTF_8));
    }

    @AfterEach
    void stop() {
        server.close();
    }

    /** A hub on the fake server; HF_HOME in the temp dir, so no token or cache of the real user is read. */
    HfHub hub() {
        return HfHub.fromEnvironment(env("HF_ENDPOINT", server.url(), "HF_HUB_CACHE", cache.toString()));
    }

    Map<String, String> env(String... keyValues) {
        Map<String, String> env = new HashMap<>(Map.of("HF_HOME", tmp.resolve("hf-home").toString()));
        for (int i = 0; i < keyValues.length; i += 2) env.put(keyValues[i], keyValues[i + 1]);
        return env;
    }

    Path storage() {
        return cache.resolve("models--kyutai--mimi");
    }

    @Test
    void freshDownloadHasPythonsLayout() throws Exception {
        Path p = hub().download(REPO, "model.safetensors");

        String sha = sha256(weights);
        assertEquals(storage().resolve("snapshots/" + COMMIT + "/model.safetensors"), p);
        assertTrue(Files.isSymbolicLink(p));
        assertEquals(Path.of("../../blobs/" + sha), Files.readSymbolicLink(p));
        assertArrayEquals(weights, Files.readAllBytes(storage().resolve("blobs/" + sha)));
        assertArrayEquals(weights, Files.readAllBytes(p));
        assertEquals(COMMIT, Files.readString(storage().resolve("refs/main")));
        assertTrue(Files.readString(cache.resolve("CACHEDIR.TAG")).startsWith("Signature: 8a477f597d28d172789f06886806bc55\n"));
        try (Stream<Path> blobs = Files.list(storage().resolve("blobs"))) {
            assertEquals(List.of(sha), blobs.map(b -> b.getFileName().toString()).toList());
        }
        // HEAD on the hub answered by a redirect to the CDN, then one GET there.
        assertEquals(List.of("hub HEAD /kyutai/mimi/resolve/main/model.safetensors", "cdn GET /cdn/" + sha),
                server.summary());

        // A git (non-LFS) file is named by its quoted git sha1 ETag; a nested one links three levels up.
        Path c = hub().download(REPO, "config.json");
        assertEquals(Path.of("../../blobs/" + gitSha1(config)), Files.readSymbolicLink(c));
        assertArrayEquals(config, Files.readAllBytes(c));
        Path n = hub().download(REPO, "sub/dir/notes.txt");
        assertEquals(storage().resolve("snapshots/" + COMMIT + "/sub/dir/notes.txt"), n);
        assertEquals(Path.of("../../../../blobs/" + gitSha1("hello".getBytes(StandardCharsets.UTF_8))),
                Files.readSymbolicLink(n));
    }

    @Test
    void cachedFileIsNotDownloadedAgain() {
        Path first = hub().download(REPO, "model.safetensors");
        server.requests.clear();

        // A branch costs one HEAD (to see whether it moved), as in Python; no GET.
        assertEquals(first, hub().download(REPO, "model.safetensors", "main"));
        assertEquals(List.of("hub HEAD /kyutai/mimi/resolve/main/model.safetensors"), server.summary());

        // A commit hash that is cached costs no request at all.
        server.requests.clear();
        assertEquals(first, hub().download(REPO, "model.safetensors", COMMIT));
        assertEquals(List.of(), server.requests);
    }

    @Test
    void tokenGoesToTheHubOnlyAndPrivateRepoNeedsIt() throws Exception {
        server.repo("kyutai/secret", COMMIT).lfs("model.safetensors", weights).isPrivate = true;

        HubException e = assertThrows(HubException.class, () -> hub().download("kyutai/secret", "model.safetensors"));
        assertEquals("access to kyutai/secret denied (HTTP 401): the repo is private or gated (or does not exist);"
                + " set HF_TOKEN to a token that has access", e.getMessage());
        assertNull(server.requests.getFirst().auth());

        server.requests.clear();
        Path p = hub().withToken(TOKEN).download("kyutai/secret", "model.safetensors");
        assertArrayEquals(weights, Files.readAllBytes(p));
        assertEquals("hub", server.requests.get(0).server());
        assertEquals("Bearer " + TOKEN, server.requests.get(0).auth());
        assertEquals("cdn", server.requests.get(1).server());
        assertNull(server.requests.get(1).auth(), "token must not follow the redirect to another host");
    }

    @Test
    void gatedRepoSaysSo() {
        server.repo("kyutai/gated", COMMIT).small("config.json", config).gated = true;
        HubException e = assertThrows(HubException.class,
                () -> hub().withToken(TOKEN).download("kyutai/gated", "config.json"));
        assertTrue(e.getMessage().startsWith("access to kyutai/gated denied (HTTP 403): the repo is gated"), e.getMessage());
    }

    @Test
    void missingFileOrRepoIsNotFound() {
        HubException e = assertThrows(HubException.class, () -> hub().download(REPO, "nope.bin"));
        assertEquals("repo or file not found: kyutai/mimi/nope.bin@main", e.getMessage());
        // Python records the absence at that commit.
        assertTrue(Files.isRegularFile(storage().resolve(".no_exist/" + COMMIT + "/nope.bin")));

        e = assertThrows(HubException.class, () -> hub().download("kyutai/ghost", "model.safetensors", "v1"));
        assertEquals("repo or file not found: kyutai/ghost/model.safetensors@v1", e.getMessage());
        e = assertThrows(HubException.class, () -> hub().download(REPO, "config.json", "no-such-branch"));
        assertEquals("repo or file not found: kyutai/mimi/config.json@no-such-branch", e.getMessage());
    }

    @Test
    void connectionCutMidFileIsResumedWithRange() throws Exception {
        server.cuts.set(1);
        Path p = hub().download(REPO, "model.safetensors");

        assertArrayEquals(weights, Files.readAllBytes(p));
        List<FakeHub.Request> gets = server.gets();
        assertEquals(2, gets.size());
        assertNull(gets.get(0).range());
        // resumes where the received bytes end: at most where the server cut (the kernel may drop the last segments)
        String range = gets.get(1).range();
        assertTrue(range != null && range.matches("bytes=\\d+-"), "resumed with a Range header: " + range);
        long from = Long.parseLong(range.substring(6, range.length() - 1));
        assertTrue(from > 0 && from <= weights.length / 2, "resumed from " + from);
        assertFalse(Files.exists(storage().resolve("blobs/" + sha256(weights) + ".incomplete")));
    }

    @Test
    void incompleteFileFromAnEarlierRunIsResumed() throws Exception {
        Path part = storage().resolve("blobs/" + sha256(weights) + ".incomplete");
        Files.createDirectories(part.getParent());
        Files.write(part, Arrays.copyOf(weights, 100_000));

        Path p = hub().download(REPO, "model.safetensors");

        assertArrayEquals(weights, Files.readAllBytes(p));
        assertEquals(List.of("bytes=100000-"), server.gets().stream().map(FakeHub.Request::range).toList());
        assertFalse(Files.exists(part));
    }

    @Test
    void serverIgnoringRangeRestartsFromZero() throws Exception {
        server.ignoreRange = true;
        Path part = storage().resolve("blobs/" + sha256(weights) + ".incomplete");
        Files.createDirectories(part.getParent());
        Files.write(part, random(100_000, 99)); // wrong bytes: would corrupt the file if appended to

        Path p = hub().download(REPO, "model.safetensors");

        assertArrayEquals(weights, Files.readAllBytes(p));
        assertEquals(List.of("bytes=100000-"), server.gets().stream().map(FakeHub.Request::range).toList());
    }

    @Test
    void stalledDownloadTimesOutAndResumes() throws Exception {
        server.stalls.set(1);
        HfHub hub = HfHub.fromEnvironment(env("HF_ENDPOINT", server.url(), "HF_HUB_CACHE", cache.toString(),
                "HF_HUB_DOWNLOAD_TIMEOUT", "1"));

        // The server stalls for 30 s: only the client's 1 s idle timeout makes this quick.
        Path p = assertTimeoutPreemptively(Duration.ofSeconds(15), () -> hub.download(REPO, "model.safetensors"));

        assertArrayEquals(weights, Files.readAllBytes(p));
        assertEquals("bytes=" + weights.length / 2 + "-", server.gets().get(1).range());
    }

    @Test
    void sha256MismatchIsAnErrorAndLeavesNoBlob() throws Exception {
        String wrong = sha256(random(10, 5));
        server.repo(REPO, COMMIT).lfs("bad.safetensors", weights, wrong);

        HubException e = assertThrows(HubException.class, () -> hub().download(REPO, "bad.safetensors"));
        assertEquals("download of kyutai/mimi/bad.safetensors@main is corrupt (sha256 " + sha256(weights)
                + " instead of " + wrong + "); try again", e.getMessage());
        assertFalse(Files.exists(storage().resolve("blobs/" + wrong)));
        assertFalse(Files.exists(storage().resolve("blobs/" + wrong + ".incomplete")));
        assertFalse(Files.exists(storage().resolve("snapshots/" + COMMIT + "/bad.safetensors")));
    }

    @Test
    void offlineUsesTheCacheAndOtherwiseSaysSo() {
        Path p = hub().download(REPO, "config.json");
        server.requests.clear();

        HfHub offline = hub().withOffline(true);
        assertEquals(p, offline.download(REPO, "config.json"));
        HubException e = assertThrows(HubException.class, () -> offline.download(REPO, "model.safetensors"));
        assertEquals("kyutai/mimi/model.safetensors@main is not in the cache (" + cache
                + ") and HF_HUB_OFFLINE is set", e.getMessage());
        assertEquals(List.of(), server.requests);
    }

    @Test
    void unreachableHubFallsBackToTheCache() throws Exception {
        Path p = hub().download(REPO, "config.json");
        String dead = "http://127.0.0.1:" + freePort();

        assertEquals(p, hub().withEndpoint(dead).download(REPO, "config.json"));
        HubException e = assertThrows(HubException.class,
                () -> hub().withEndpoint(dead).download(REPO, "model.safetensors"));
        assertTrue(e.getMessage().startsWith("cannot download kyutai/mimi/model.safetensors@main: " + dead
                + " is unreachable ("), e.getMessage());
        assertTrue(e.getMessage().endsWith(") and the file is not in the cache"), e.getMessage());
    }

    @Test
    void serverErrorFallsBackToTheCache() {
        Path p = hub().download(REPO, "config.json");
        server.hubStatus = 503;

        assertEquals(p, hub().download(REPO, "config.json"));
        HubException e = assertThrows(HubException.class, () -> hub().download(REPO, "model.safetensors"));
        assertEquals("cannot download kyutai/mimi/model.safetensors@main: " + server.url()
                + " answered HTTP 503 and the file is not in the cache", e.getMessage());
    }

    @Test
    void environmentIsHonoured() throws Exception {
        server.repo("kyutai/secret", COMMIT).small("config.json", config).isPrivate = true;
        Path hfHome = tmp.resolve("hf-home");
        Files.createDirectories(hfHome);
        Files.writeString(hfHome.resolve("token"), TOKEN + "\n"); // as `hf auth login` leaves it

        HfHub hub = HfHub.fromEnvironment(env("HF_ENDPOINT", server.url() + "/", "HF_HOME", hfHome.toString()));
        assertEquals(hfHome.resolve("hub"), hub.cacheDir());
        Path p = hub.download("kyutai/secret", "config.json");
        assertEquals(hfHome.resolve("hub/models--kyutai--secret/snapshots/" + COMMIT + "/config.json"), p);
        assertEquals("Bearer " + TOKEN, server.requests.getFirst().auth());

        // HF_TOKEN beats the token file, HF_TOKEN_PATH moves it.
        server.requests.clear();
        assertThrows(HubException.class, () -> HfHub.fromEnvironment(env("HF_ENDPOINT", server.url(), "HF_HOME",
                hfHome.toString(), "HF_TOKEN", "wrong")).download("kyutai/secret", "model.bin", COMMIT));
        assertEquals("Bearer wrong", server.requests.getFirst().auth());
        Files.writeString(tmp.resolve("elsewhere"), TOKEN);
        assertEquals(p, HfHub.fromEnvironment(env("HF_ENDPOINT", server.url(), "HF_HUB_CACHE", hub.cacheDir().toString(),
                "HF_TOKEN_PATH", tmp.resolve("elsewhere").toString())).download("kyutai/secret", "config.json"));
        assertEquals("Bearer " + TOKEN, server.requests.getLast().auth());

        // HF_HUB_CACHE beats HF_HOME, XDG_CACHE_HOME and HOME place the default, HF_HUB_OFFLINE=1 means no request.
        assertEquals(tmp.resolve("c"), HfHub.fromEnvironment(Map.of("HF_HOME", tmp.toString(), "HF_HUB_CACHE",
                tmp.resolve("c").toString())).cacheDir());
        assertEquals(tmp.resolve("xdg/huggingface/hub"), HfHub.fromEnvironment(Map.of("XDG_CACHE_HOME",
                tmp.resolve("xdg").toString())).cacheDir());
        assertEquals(tmp.resolve("home/.cache/huggingface/hub"),
                HfHub.fromEnvironment(Map.of("HOME", tmp.resolve("home").toString())).cacheDir());
        server.requests.clear();
        HfHub off = HfHub.fromEnvironment(env("HF_ENDPOINT", server.url(), "HF_HUB_CACHE", cache.toString(),
                "HF_HUB_OFFLINE", "1"));
        assertTrue(assertThrows(HubException.class, () -> off.download(REPO, "config.json"))
                .getMessage().endsWith("HF_HUB_OFFLINE is set"));
        assertEquals(List.of(), server.requests);
        assertThrows(HubException.class, () -> hub().withEndpoint("ftp://example.com"));
    }

    @Test
    void commitHashRevisionWritesNoRef() throws Exception {
        Path p = hub().download(REPO, "config.json", COMMIT);

        assertEquals(storage().resolve("snapshots/" + COMMIT + "/config.json"), p);
        assertArrayEquals(config, Files.readAllBytes(p));
        assertFalse(Files.exists(storage().resolve("refs")));
        assertEquals("hub HEAD /kyutai/mimi/resolve/" + COMMIT + "/config.json", server.summary().getFirst());
    }

    @Test
    void revisionWithSlashIsEncodedAndStoredAsPython() throws Exception {
        Path p = hub().download(REPO, "config.json", "refs/pr/1");

        assertArrayEquals(config, Files.readAllBytes(p));
        assertEquals("hub HEAD /kyutai/mimi/resolve/refs%2Fpr%2F1/config.json", server.summary().getFirst());
        assertEquals(COMMIT, Files.readString(storage().resolve("refs/refs/pr/1")));
    }

    @Test
    void cacheLaidOutByPythonIsUsedWithoutNetwork() throws Exception {
        String commit = "fedcba9876543210fedcba9876543210fedcba98";
        String etag = gitSha1(config);
        Path store = cache.resolve("models--kyutai--other");
        Files.createDirectories(store.resolve("blobs"));
        Files.write(store.resolve("blobs/" + etag), config);
        Files.createDirectories(store.resolve("snapshots/" + commit));
        Files.createSymbolicLink(store.resolve("snapshots/" + commit + "/config.json"), Path.of("../../blobs/" + etag));
        Files.createDirectories(store.resolve("refs"));
        Files.writeString(store.resolve("refs/main"), commit);
        Path expected = store.resolve("snapshots/" + commit + "/config.json");
        String dead = "http://127.0.0.1:" + freePort();

        assertEquals(expected, hub().withOffline(true).download("kyutai/other", "config.json"));
        assertEquals(expected, hub().withEndpoint(dead).download("kyutai/other", "config.json"));
        assertEquals(expected, hub().download("kyutai/other", "config.json", commit));
        assertEquals(List.of(), server.requests);
    }

    @Test
    void renamedRepoIsFollowedByRelativeRedirect() throws Exception {
        server.renamed.put("kyutai/old-mimi", REPO);

        Path p = hub().withToken(TOKEN).download("kyutai/old-mimi", "config.json");

        assertEquals(cache.resolve("models--kyutai--old-mimi/snapshots/" + COMMIT + "/config.json"), p);
        assertArrayEquals(config, Files.readAllBytes(p));
        assertEquals(List.of("hub HEAD /kyutai/old-mimi/resolve/main/config.json",
                "hub HEAD /kyutai/mimi/resolve/main/config.json", "hub GET /kyutai/mimi/resolve/main/config.json"),
                server.summary());
        assertTrue(server.requests.stream().allMatch(r -> ("Bearer " + TOKEN).equals(r.auth())));
    }

    @Test
    void concurrentDownloadsOfOneBlobDownloadOnce() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<Path>> results = new ArrayList<>();
            for (int i = 0; i < 4; i++) results.add(pool.submit(() -> hub().download(REPO, "model.safetensors")));
            for (Future<Path> f : results) assertArrayEquals(weights, Files.readAllBytes(f.get(60, TimeUnit.SECONDS)));
        } finally {
            pool.shutdownNow();
        }
        assertEquals(1, server.gets().size());
    }

    @Test
    void badNamesAreRefused() {
        assertThrows(HubException.class, () -> hub().download("kyutai--x/mimi", "config.json"));
        assertThrows(HubException.class, () -> hub().download("a/b/c", "config.json"));
        assertThrows(HubException.class, () -> hub().download(REPO, "../../etc/passwd"));
        assertThrows(HubException.class, () -> hub().download(REPO, "/etc/passwd"));
        assertThrows(HubException.class, () -> hub().download(REPO, "config.json", "../x"));
        assertEquals(List.of(), server.requests);
    }

    // ---- helpers ----

    static byte[] random(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    static String sha256(byte[] b) {
        return digest("SHA-256", b);
    }

    /** The id git gives a file's contents, which the Hub sends as the ETag of non-LFS files. */
    static String gitSha1(byte[] b) {
        return digest("SHA-1", ("blob " + b.length + "\0").getBytes(StandardCharsets.US_ASCII), b);
    }

    static String digest(String algorithm, byte[]... parts) {
        try {
            MessageDigest md = MessageDigest.getInstance(algorithm);
            for (byte[] p : parts) md.update(p);
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    /**
     * A hub-like server on loopback: HEAD/GET /{repo}/resolve/{rev}/{file}; LFS files redirect to a second server
     * (another port, so another origin) at /cdn/{sha256}. Knobs cut, stall or un-range the next body.
     */
    static final class FakeHub implements AutoCloseable {
        record Request(String server, String method, String path, String auth, String range) {
        }

        final class Repo {
            final String commit;
            final Map<String, byte[]> files = new HashMap<>();
            final Map<String, String> lfsEtags = new HashMap<>();
            boolean isPrivate;
            boolean gated;

            Repo(String commit) {
                this.commit = commit;
            }

            Repo small(String name, byte[] bytes) {
                files.put(name, bytes);
                return this;
            }

            Repo lfs(String name, byte[] bytes) {
                return lfs(name, bytes, sha256(bytes));
            }

            /** An LFS file announced under {@code etag}, which a test may make wrong. */
            Repo lfs(String name, byte[] bytes, String etag) {
                files.put(name, bytes);
                lfsEtags.put(name, etag);
                cdnBlobs.put(etag, bytes);
                return this;
            }
        }

        final HttpServer hub;
        final HttpServer cdn;
        final ExecutorService threads = Executors.newCachedThreadPool();
        final Map<String, Repo> repos = new ConcurrentHashMap<>();
        final Map<String, String> renamed = new ConcurrentHashMap<>();
        final Map<String, byte[]> cdnBlobs = new ConcurrentHashMap<>();
        final List<Request> requests = new CopyOnWriteArrayList<>();
        final AtomicInteger cuts = new AtomicInteger();
        final AtomicInteger stalls = new AtomicInteger();
        final CountDownLatch closing = new CountDownLatch(1);
        volatile boolean ignoreRange;
        volatile int hubStatus;

        FakeHub() throws IOException {
            hub = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
            cdn = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
            hub.createContext("/", ex -> handle("hub", ex));
            cdn.createContext("/", ex -> handle("cdn", ex));
            hub.setExecutor(threads);
            cdn.setExecutor(threads);
            hub.start();
            cdn.start();
        }

        String url() {
            return "http://127.0.0.1:" + hub.getAddress().getPort();
        }

        Repo repo(String id, String commit) {
            return repos.computeIfAbsent(id, k -> new Repo(commit));
        }

        List<String> summary() {
            return requests.stream().map(r -> r.server() + " " + r.method() + " " + r.path()).toList();
        }

        List<Request> gets() {
            return requests.stream().filter(r -> r.method().equals("GET")).toList();
        }

        private void handle(String server, HttpExchange ex) throws IOException {
            var h = ex.getRequestHeaders();
            requests.add(new Request(server, ex.getRequestMethod(), ex.getRequestURI().getRawPath(),
                    h.getFirst("Authorization"), h.getFirst("Range")));
            try (ex) {
                if (server.equals("cdn")) {
                    byte[] b = cdnBlobs.get(ex.getRequestURI().getPath().substring("/cdn/".length()));
                    if (b == null) ex.sendResponseHeaders(404, -1);
                    else body(ex, b);
                } else {
                    resolve(ex);
                }
            }
        }

        private void resolve(HttpExchange ex) throws IOException {
            // /{org}/{name}/resolve/{rev}/{file...}
            String[] parts = ex.getRequestURI().getRawPath().split("/", 6);
            String repoId = parts[1] + "/" + parts[2];
            String rev = URLDecoder.decode(parts[4], StandardCharsets.UTF_8);
            String file = URLDecoder.decode(parts[5], StandardCharsets.UTF_8);
            var out = ex.getResponseHeaders();
            if (hubStatus != 0) {
                ex.sendResponseHeaders(hubStatus, -1);
                return;
            }
            if (renamed.containsKey(repoId)) {
                out.set("Location", "/" + renamed.get(repoId) + "/resolve/" + parts[4] + "/" + parts[5]);
                ex.sendResponseHeaders(307, -1);
                return;
            }
            Repo repo = repos.get(repoId);
            boolean authorized = ("Bearer " + TOKEN).equals(ex.getRequestHeaders().getFirst("Authorization"));
            if (repo == null || (repo.isPrivate && !authorized)) {
                out.set("X-Error-Code", "RepoNotFound");
                ex.sendResponseHeaders(repo == null ? 404 : 401, -1);
                return;
            }
            if (repo.gated) {
                out.set("X-Error-Code", "GatedRepo");
                ex.sendResponseHeaders(403, -1);
                return;
            }
            if (!rev.equals("main") && !rev.equals("refs/pr/1") && !rev.equals(repo.commit)) {
                out.set("X-Error-Code", "RevisionNotFound");
                ex.sendResponseHeaders(404, -1);
                return;
            }
            out.set("X-Repo-Commit", repo.commit);
            byte[] b = repo.files.get(file);
            if (b == null) {
                out.set("X-Error-Code", "EntryNotFound");
                ex.sendResponseHeaders(404, -1);
            } else if (repo.lfsEtags.containsKey(file)) {
                String sha = repo.lfsEtags.get(file);
                out.set("ETag", "\"" + "a".repeat(40) + "\""); // the pointer file's; X-Linked-Etag wins
                out.set("X-Linked-Etag", "\"" + sha + "\"");
                out.set("X-Linked-Size", Integer.toString(b.length));
                out.set("Location", "http://127.0.0.1:" + cdn.getAddress().getPort() + "/cdn/" + sha);
                ex.sendResponseHeaders(302, -1);
            } else {
                out.set("ETag", "W/\"" + gitSha1(b) + "\"");
                body(ex, b);
            }
        }

        /** The bytes with Range support, unless a knob says to ignore the range, cut or stall halfway. */
        private void body(HttpExchange ex, byte[] b) throws IOException {
            var out = ex.getResponseHeaders();
            if (ex.getRequestMethod().equals("HEAD")) {
                out.set("Content-Length", Integer.toString(b.length));
                ex.sendResponseHeaders(200, -1);
                return;
            }
            String range = ex.getRequestHeaders().getFirst("Range");
            int from = 0;
            if (range != null && !ignoreRange) {
                from = Integer.parseInt(range.substring("bytes=".length(), range.length() - 1));
                out.set("Content-Range", "bytes " + from + "-" + (b.length - 1) + "/" + b.length);
            }
            ex.sendResponseHeaders(from > 0 ? 206 : 200, b.length - from);
            OutputStream os = ex.getResponseBody();
            boolean stall = stalls.getAndUpdate(n -> Math.max(n - 1, 0)) > 0;
            if (stall || cuts.getAndUpdate(n -> Math.max(n - 1, 0)) > 0) {
                os.write(b, from, (b.length - from) / 2);
                os.flush();
                if (stall) {
                    try {
                        closing.await(30, TimeUnit.SECONDS);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
                return; // the exchange closes short of its announced length, which drops the connection
            }
            os.write(b, from, b.length - from);
        }

        @Override
        public void close() {
            closing.countDown();
            hub.stop(0);
            cdn.stop(0);
            threads.shutdownNow();
        }
    }
}
