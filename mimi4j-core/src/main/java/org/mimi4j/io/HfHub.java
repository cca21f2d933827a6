package org.mimi4j.io;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.http.HttpClient;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import java.util.regex.Pattern;

/**
 * Downloads model files from the Hugging Face Hub into the cache that Python's {@code huggingface_hub} uses
 * ({@code hf_hub_download}), laid out the same way so that each side reuses what the other fetched:
 * <pre>
 * {cache}/models--{org}--{name}/
 *   blobs/{etag}                   the bytes; etag = sha256 for LFS files, git blob sha1 otherwise
 *   snapshots/{commit}/{filename}  relative symlink to ../../blobs/{etag} (a real file where symlinks fail)
 *   refs/{revision}                the commit a branch or tag pointed to at the last lookup
 * </pre>
 * As in Python, a branch or tag costs one HEAD request per call (to see whether it moved) and no download when the
 * file is cached; a commit hash that is cached costs nothing. When offline, or when the Hub cannot be reached or
 * refuses, the cached file of the last known commit is used.
 * <p>
 * Concurrency: downloads of one blob are serialised within the JVM and, through an OS lock on
 * {@code .locks/models--{org}--{name}/{etag}.lock}, across JVMs (Python locks the same file with flock, which Java's
 * fcntl locks do not see; Python writes its own uniquely named temporary files, so the two never share one).
 * Bytes go to {@code blobs/{etag}.incomplete}, which a later attempt resumes, and become the blob only by an
 * atomic rename once size and, for LFS files, sha256 are checked: a reader never sees a partial blob.
 */
public final class HfHub {
    private static final String DEFAULT_ENDPOINT = "https://huggingface.co";
    private static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(10);
    private static final Pattern COMMIT = Pattern.compile("[0-9a-f]{40}");
    private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");
    private static final Pattern REPO_ID = Pattern.compile("(?:\\w(?:[\\w.-]*\\w)?/)?\\w(?:[\\w.-]{0,94}\\w)?");
    /** What an etag or commit from a server must look like before it becomes a file name. */
    private static final Pattern SAFE_NAME = Pattern.compile("\\w[\\w.-]*");
    private static final Set<String> TRUE = Set.of("1", "ON", "YES", "TRUE");
    private static final int MAX_REDIRECTS = 10;
    private static final int MAX_FAILURES = 5;
    private static final String CACHEDIR_TAG = """
            Signature: 8a477f597d28d172789f06886806bc55
            # This file is a cache directory tag created by huggingface_hub.
            # For information about cache directory tags, see:
            #\thttps://bford.info/cachedir/
            """;
    private static final String USER_AGENT = "mimi4j; java/" + Runtime.version().feature();
    private static final System.Logger LOG = System.getLogger(HfHub.class.getName());
    private static final HttpClient HTTP = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NEVER).build();
    private static final ConcurrentHashMap<Path, ReentrantLock> JVM_LOCKS = new ConcurrentHashMap<>();
    private static final ScheduledExecutorService WATCHDOG = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "mimi4j-hub-watchdog");
        t.setDaemon(true);
        return t;
    });

    private final String endpoint;
    private final URI endpointUri;
    private final String token;
    private final Path cacheDir;
    private final boolean offline;
    private final Duration etagTimeout;
    private final Duration downloadTimeout;

    private HfHub(String endpoint, String token, Path cacheDir, boolean offline, Duration etagTimeout,
                  Duration downloadTimeout) {
        this.endpoint = stripSlashes(endpoint);
        this.endpointUri = checkEndpoint(this.endpoint);
        this.token = token == null || token.isBlank() ? null : token.strip();
        this.cacheDir = cacheDir.toAbsolutePath().normalize();
        this.offline = offline;
        this.etagTimeout = etagTimeout;
        this.downloadTimeout = downloadTimeout;
    }

    /**
     * Configured like Python's huggingface_hub: HF_ENDPOINT; HF_TOKEN (or HUGGING_FACE_HUB_TOKEN, else the file
     * HF_TOKEN_PATH, default $HF_HOME/token); HF_HUB_OFFLINE (or TRANSFORMERS_OFFLINE); HF_HUB_CACHE (or
     * HUGGINGFACE_HUB_CACHE, default $HF_HOME/hub, HF_HOME defaulting to $XDG_CACHE_HOME/huggingface or
     * ~/.cache/huggingface); HF_HUB_ETAG_TIMEOUT and HF_HUB_DOWNLOAD_TIMEOUT in seconds (default 10).
     */
    public static HfHub fromEnvironment() {
        return fromEnvironment(System.getenv());
    }

    static HfHub fromEnvironment(Map<String, String> env) {
        boolean windows = System.getProperty("os.name", "").startsWith("Windows");
        String home = Optional.ofNullable(env(env, windows ? "USERPROFILE" : "HOME"))
                .orElse(System.getProperty("user.home"));
        String cacheHome = Optional.ofNullable(env(env, "XDG_CACHE_HOME")).orElse(Path.of(home, ".cache").toString());
        Path hfHome = expandHome(Optional.ofNullable(env(env, "HF_HOME"))
                .orElse(Path.of(cacheHome, "huggingface").toString()), home);
        String cache = env(env, "HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE");
        String token = cleanToken(env(env, "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"));
        if (token == null) {
            String tokenPath = env(env, "HF_TOKEN_PATH");
            try {
                token = cleanToken(Files.readString(tokenPath == null ? hfHome.resolve("token") : expandHome(tokenPath, home)));
            } catch (IOException e) {
                token = null; // not logged in
            }
        }
        String offline = env(env, "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE");
        return new HfHub(Optional.ofNullable(env(env, "HF_ENDPOINT")).orElse(DEFAULT_ENDPOINT), token,
                cache == null ? hfHome.resolve("hub") : expandHome(cache, home),
                offline != null && TRUE.contains(offline.toUpperCase(Locale.ROOT)),
                seconds(env(env, "HF_HUB_ETAG_TIMEOUT")), seconds(env(env, "HF_HUB_DOWNLOAD_TIMEOUT")));
    }

    public HfHub withEndpoint(String endpoint) {
        return new HfHub(endpoint, token, cacheDir, offline, etagTimeout, downloadTimeout);
    }

    /** {@code null} or blank: send no token. */
    public HfHub withToken(String token) {
        return new HfHub(endpoint, token, cacheDir, offline, etagTimeout, downloadTimeout);
    }

    public HfHub withCacheDir(Path cacheDir) {
        return new HfHub(endpoint, token, cacheDir, offline, etagTimeout, downloadTimeout);
    }

    public HfHub withOffline(boolean offline) {
        return new HfHub(endpoint, token, cacheDir, offline, etagTimeout, downloadTimeout);
    }

    public Path cacheDir() {
        return cacheDir;
    }

    public Path download(String repoId, String filename) {
        return download(repoId, filename, null);
    }

    /**
     * Returns the snapshot path of {@code filename} in model repo {@code repoId} at {@code revision} (a branch, tag
     * or commit hash; {@code null} means "main"), downloading it into the cache if needed.
     */
    public Path download(String repoId, String filename, String revision) {
        String rev = revision == null ? "main" : revision;
        validate(repoId, filename, rev);
        Path storage = cacheDir.resolve("models--" + repoId.replace("/", "--"));
        String what = repoId + "/" + filename + "@" + rev;
        if (COMMIT.matcher(rev).matches() && Files.exists(pointer(storage, rev, filename))) {
            return pointer(storage, rev, filename); // a commit never changes: no need to ask
        }
        Meta meta;
        try {
            if (offline) {
                throw new NoMetadata(new HubException(
                        what + " is not in the cache (" + cacheDir + ") and HF_HUB_OFFLINE is set"));
            }
            meta = metadata(repoId, filename, rev, what, storage);
        } catch (NoMetadata e) {
            Path cached = cached(storage, rev, filename);
            if (cached == null) throw e.error;
            if (!offline) LOG.log(System.Logger.Level.INFO, "using the cached " + what + ": " + e.getMessage());
            return cached;
        }
        Path pointer = pointer(storage, meta.commit, filename);
        try {
            if (Files.exists(pointer)) {
                try {
                    writeRef(storage, rev, meta.commit);
                } catch (IOException e) {
                    LOG.log(System.Logger.Level.DEBUG, "cannot update ref " + rev + ": " + e); // read-only cache
                }
                return pointer;
            }
            Path blob = storage.resolve("blobs").resolve(meta.etag);
            Files.createDirectories(blob.getParent());
            Files.createDirectories(pointer.getParent());
            tagCacheDir();
            writeRef(storage, rev, meta.commit);
            withLock(cacheDir.resolve(".locks").resolve(storage.getFileName()).resolve(meta.etag + ".lock"), () -> {
                boolean newBlob = Files.notExists(blob); // else another download finished it while we waited
                if (newBlob) fetch(meta, blob, what);
                if (Files.notExists(pointer)) link(blob, pointer, newBlob);
            });
            return pointer;
        } catch (IOException e) {
            throw new HubException("cannot store " + what + " in " + cacheDir + ": " + describe(e), e);
        }
    }

    /** What the HEAD request told: the commit, the blob name, its size, and where to GET it. */
    private record Meta(String commit, String etag, long size, URI location) {
    }

    /** The metadata is unavailable: use the cache if it has the file, else throw {@link #error}. */
    private static final class NoMetadata extends Exception {
        final HubException error;

        NoMetadata(HubException error) {
            super(error.getMessage(), null, false, false);
            this.error = error;
        }
    }

    private Meta metadata(String repoId, String filename, String rev, String what, Path storage) throws NoMetadata {
        URI url = URI.create(endpoint + "/" + repoId + "/resolve/" + encode(rev, false) + "/" + encode(filename, true));
        HttpResponse<Void> r;
        try {
            for (int hops = 0; ; hops++) {
                r = HTTP.send(request(url, etagTimeout).HEAD().build(), HttpResponse.BodyHandlers.discarding());
                Optional<String> location = r.headers().firstValue("Location");
                // Follow relative redirects only (a renamed repo); an absolute one points at the file's bytes (a CDN).
                if (r.statusCode() / 100 != 3 || location.isEmpty() || !isRelative(location.get())
                        || hops == MAX_REDIRECTS) break;
                url = url.resolve(location.get());
            }
        } catch (IOException e) {
            throw new NoMetadata(new HubException("cannot download " + what + ": " + endpoint
                    + " is unreachable (" + describe(e) + ") and the file is not in the cache", e));
        } catch (InterruptedException e) {
            throw interrupted(what);
        }
        HttpHeaders h = r.headers();
        int status = r.statusCode();
        if (status >= 400) {
            String code = h.firstValue("X-Error-Code").orElse("");
            if (status == 404 && code.equals("EntryNotFound")) rememberMissing(storage, rev, filename, h);
            HubException error = statusError(status, code, repoId, what);
            // As in Python: a missing file or revision is final; any other refusal may still be served from cache.
            if (code.equals("EntryNotFound") || code.equals("RevisionNotFound")) throw error;
            throw new NoMetadata(error);
        }
        String commit = h.firstValue("X-Repo-Commit").orElse(null);
        String etag = normalizeEtag(h.firstValue("X-Linked-Etag").or(() -> h.firstValue("ETag")).orElse(null));
        Optional<String> size = h.firstValue("X-Linked-Size")
                .or(() -> status / 100 == 3 ? Optional.empty() : h.firstValue("Content-Length"));
        if (commit == null || etag == null || size.isEmpty()) {
            throw new NoMetadata(new HubException("cannot download " + what + ": " + endpoint
                    + " did not answer like a Hugging Face Hub (no X-Repo-Commit, ETag or size)"));
        }
        if (!SAFE_NAME.matcher(commit).matches() || !SAFE_NAME.matcher(etag).matches()) {
            throw new HubException("cannot download " + what + ": unexpected commit '" + commit + "' or etag '" + etag + "'");
        }
        try {
            URI location = url.resolve(h.firstValue("Location").orElse(url.toString()));
            long n = Long.parseLong(size.get().strip());
            if (n < 0) throw new NumberFormatException();
            return new Meta(commit, etag, n, location);
        } catch (IllegalArgumentException e) { // includes NumberFormatException
            throw new HubException("cannot download " + what + ": bad Location or size header from " + endpoint);
        }
    }

    private HubException statusError(int status, String code, String repoId, String what) {
        return switch (status) {
            case 401, 403 -> new HubException("access to " + repoId + " denied (HTTP " + status + "): "
                    + (code.equals("GatedRepo")
                    ? "the repo is gated, accept its conditions at " + endpoint + "/" + repoId + " and "
                    : "the repo is private or gated (or does not exist); ")
                    + (token == null ? "set HF_TOKEN to a token that has access" : "check that your HF_TOKEN has access"));
            case 404 -> new HubException("repo or file not found: " + what);
            default -> new HubException("cannot download " + what + ": " + endpoint + " answered HTTP " + status
                    + " and the file is not in the cache");
        };
    }

    /** Python records a file missing at a commit as an empty {@code .no_exist/{commit}/{filename}}. */
    private static void rememberMissing(Path storage, String rev, String filename, HttpHeaders h) {
        String commit = h.firstValue("X-Repo-Commit").orElse(null);
        if (commit == null || !SAFE_NAME.matcher(commit).matches()) return;
        try {
            Path marker = resolveSegments(storage.resolve(".no_exist").resolve(commit), filename);
            Files.createDirectories(marker.getParent());
            if (Files.notExists(marker)) Files.createFile(marker);
            writeRef(storage, rev, commit);
        } catch (IOException e) {
            LOG.log(System.Logger.Level.DEBUG, "cannot record missing " + filename + ": " + e);
        }
    }

    /** The cached snapshot file for {@code rev} (through refs/ unless it is a commit hash), or null. */
    private static Path cached(Path storage, String rev, String filename) {
        String commit = rev;
        if (!COMMIT.matcher(rev).matches()) {
            try {
                commit = Files.readString(resolveSegments(storage.resolve("refs"), rev)).strip();
            } catch (IOException e) {
                return null;
            }
            if (!SAFE_NAME.matcher(commit).matches()) return null;
        }
        Path p = pointer(storage, commit, filename);
        return Files.exists(p) ? p : null;
    }

    private static Path pointer(Path storage, String commit, String filename) {
        return resolveSegments(storage.resolve("snapshots").resolve(commit), filename);
    }

    private static Path resolveSegments(Path dir, String relative) {
        for (String s : relative.split("/")) dir = dir.resolve(s);
        return dir;
    }

    private static void writeRef(Path storage, String rev, String commit) throws IOException {
        if (rev.equals(commit)) return;
        Path ref = resolveSegments(storage.resolve("refs"), rev);
        if (Files.isRegularFile(ref) && Files.readString(ref).equals(commit)) return;
        Files.createDirectories(ref.getParent());
        AtomicFiles.write(ref, out -> out.write(commit.getBytes(StandardCharsets.US_ASCII)));
    }

    private void tagCacheDir() {
        Path tag = cacheDir.resolve("CACHEDIR.TAG");
        try {
            if (Files.notExists(tag)) Files.writeString(tag, CACHEDIR_TAG);
        } catch (IOException e) {
            LOG.log(System.Logger.Level.DEBUG, "cannot write " + tag + ": " + e);
        }
    }

    @FunctionalInterface
    private interface IoAction {
        void run() throws IOException;
    }

    private static void withLock(Path lockFile, IoAction action) throws IOException {
        Files.createDirectories(lockFile.getParent());
        // One JVM may hold one OS lock per file, so threads queue here first, keyed by the real path.
        Path key = lockFile.getParent().toRealPath().resolve(lockFile.getFileName());
        ReentrantLock jvmLock = JVM_LOCKS.computeIfAbsent(key, k -> new ReentrantLock());
        jvmLock.lock();
        try {
            try (FileChannel ch = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
                try {
                    ch.lock(); // released when the channel closes
                } catch (IOException e) { // e.g. a file system without locks: the atomic rename still keeps blobs whole
                    LOG.log(System.Logger.Level.WARNING, "cannot lock " + lockFile + " (" + describe(e) + "); going on without");
                }
                action.run();
            }
        } finally {
            jvmLock.unlock();
        }
    }

    /** Downloads into {@code blob}.incomplete (resuming what is there), checks it, renames it to {@code blob}. */
    private void fetch(Meta meta, Path blob, String what) throws IOException {
        Path part = blob.resolveSibling(blob.getFileName() + ".incomplete");
        LOG.log(System.Logger.Level.INFO, "downloading " + what + " (" + meta.size + " bytes)");
        for (int failures = 0; ; ) {
            long have = Files.exists(part) ? Files.size(part) : -1;
            if (have == meta.size) break; // complete, e.g. left by a run that stopped before the rename
            if (have > meta.size) Files.delete(part); // not this blob's bytes
            if (have < 0 || have > meta.size) have = 0;
            try {
                get(meta.location, part, have, what);
                break;
            } catch (IOException e) { // the network failed: retry, resuming from what arrived
                long now = Files.exists(part) ? Files.size(part) : 0;
                failures = now > have ? 1 : failures + 1;
                if (failures > MAX_FAILURES) throw new HubException("download of " + what + " failed: " + describe(e), e);
                LOG.log(System.Logger.Level.WARNING, "download of " + what + " interrupted (" + describe(e) + "); resuming");
                try {
                    Thread.sleep(1000);
                } catch (InterruptedException ie) {
                    throw interrupted(what);
                }
            }
        }
        verify(part, meta, what);
        Files.move(part, blob, StandardCopyOption.ATOMIC_MOVE);
    }

    /**
     * One GET of {@code url} from byte {@code have} on, following redirects, into {@code part}.
     * An IOException means a network failure worth retrying; a HubException means give up.
     */
    private void get(URI url, Path part, long have, String what) throws IOException {
        for (int hops = 0; ; hops++) {
            HttpRequest.Builder b = request(url, downloadTimeout).GET();
            if (have > 0) b.header("Range", "bytes=" + have + "-");
            HttpResponse<InputStream> r;
            try {
                r = HTTP.send(b.build(), HttpResponse.BodyHandlers.ofInputStream());
            } catch (InterruptedException e) {
                throw interrupted(what);
            }
            int status = r.statusCode();
            try (InputStream in = r.body()) {
                Optional<String> location = r.headers().firstValue("Location");
                if (status / 100 == 3 && location.isPresent() && hops < MAX_REDIRECTS) {
                    try {
                        url = url.resolve(location.get());
                    } catch (IllegalArgumentException e) {
                        throw new HubException("cannot download " + what + ": bad redirect from " + url.getHost());
                    }
                    continue;
                }
                if (status == 408 || status == 429 || status >= 500) throw new IOException("HTTP " + status);
                if (status != 200 && status != 206) {
                    throw new HubException("cannot download " + what + ": HTTP " + status + " from " + url.getHost());
                }
                // 200 to a Range request: the server ignored it, so start over (copy truncates).
                boolean append = status == 206;
                if (append && !r.headers().firstValue("Content-Range").orElse("").startsWith("bytes " + have + "-")) {
                    throw new HubException("cannot download " + what + ": " + url.getHost()
                            + " answered a request for bytes " + have + "- with another range");
                }
                copy(in, part, append);
                return;
            }
        }
    }

    /** Copies the body to {@code part}; a watchdog closes the body when no byte comes for downloadTimeout. */
    private void copy(InputStream in, Path part, boolean append) throws IOException {
        AtomicLong lastRead = new AtomicLong(System.nanoTime());
        AtomicBoolean stalled = new AtomicBoolean();
        long idle = downloadTimeout.toNanos();
        long tick = Math.clamp(downloadTimeout.toMillis() / 4, 10, 1000);
        ScheduledFuture<?> watchdog = WATCHDOG.scheduleAtFixedRate(() -> {
            if (System.nanoTime() - lastRead.get() > idle && !stalled.getAndSet(true)) {
                try {
                    in.close(); // wakes the blocked read with an IOException
                } catch (IOException ignored) {
                    // closing is all we wanted
                }
            }
        }, tick, tick, TimeUnit.MILLISECONDS);
        try (OutputStream out = Files.newOutputStream(part, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                append ? StandardOpenOption.APPEND : StandardOpenOption.TRUNCATE_EXISTING)) {
            byte[] buf = new byte[1 << 16];
            for (int n; (n = in.read(buf)) >= 0; ) {
                out.write(buf, 0, n);
                lastRead.set(System.nanoTime());
            }
        } catch (IOException e) {
            if (stalled.get()) throw new HttpTimeoutException("no data for " + downloadTimeout.toSeconds() + " s");
            throw e;
        } finally {
            watchdog.cancel(false);
        }
    }

    /** Size must be as announced, and an LFS file's sha256 its etag; a bad file is deleted so the next try starts over. */
    private static void verify(Path part, Meta meta, String what) throws IOException {
        long size = Files.size(part);
        String problem = null;
        if (size != meta.size) {
            problem = size + " bytes instead of " + meta.size;
        } else if (SHA256.matcher(meta.etag).matches()) {
            String sha = sha256(part);
            if (!sha.equals(meta.etag)) problem = "sha256 " + sha + " instead of " + meta.etag;
        }
        if (problem != null) {
            Files.delete(part);
            throw new HubException("download of " + what + " is corrupt (" + problem + "); try again");
        }
    }

    private static String sha256(Path file) throws IOException {
        MessageDigest md;
        try {
            md = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e); // every JDK has SHA-256
        }
        try (InputStream in = Files.newInputStream(file)) {
            byte[] buf = new byte[1 << 20];
            for (int n; (n = in.read(buf)) >= 0; ) md.update(buf, 0, n);
        }
        return HexFormat.of().formatHex(md.digest());
    }

    /** Points {@code pointer} at {@code blob} by a relative symlink, or, where symlinks fail, moves or copies it. */
    private static void link(Path blob, Path pointer, boolean newBlob) throws IOException {
        Files.deleteIfExists(pointer); // a dangling link
        try {
            Files.createSymbolicLink(pointer, pointer.getParent().relativize(blob));
        } catch (FileAlreadyExistsException e) {
            // linked by another process meanwhile
        } catch (UnsupportedOperationException | IOException e) {
            LOG.log(System.Logger.Level.DEBUG, "no symlink for " + pointer + " (" + e + "); storing a file");
            // As Python: a new blob moves (no other snapshot uses it), a shared one is copied.
            if (newBlob) Files.move(blob, pointer);
            else Files.copy(blob, pointer);
        }
    }

    private HttpRequest.Builder request(URI url, Duration timeout) {
        HttpRequest.Builder b = HttpRequest.newBuilder(url).timeout(timeout)
                .header("User-Agent", USER_AGENT)
                .header("Accept-Encoding", "identity"); // so sizes are the file's and ranges are byte ranges
        // The token goes to the endpoint only, never to a CDN or other host it redirects to.
        if (token != null && sameOrigin(url, endpointUri)) b.header("Authorization", "Bearer " + token);
        return b;
    }

    private static boolean sameOrigin(URI a, URI b) {
        return a.getScheme().equalsIgnoreCase(b.getScheme()) && a.getHost() != null
                && a.getHost().equalsIgnoreCase(b.getHost()) && port(a) == port(b);
    }

    private static int port(URI u) {
        return u.getPort() != -1 ? u.getPort() : u.getScheme().equalsIgnoreCase("https") ? 443 : 80;
    }

    private static boolean isRelative(String location) {
        try {
            URI u = new URI(location);
            return u.getScheme() == null && u.getHost() == null;
        } catch (URISyntaxException e) {
            return false;
        }
    }

    /** Percent-encodes like Python's {@code urllib.parse.quote}, keeping '/' only if asked. */
    private static String encode(String s, boolean keepSlash) {
        StringBuilder sb = new StringBuilder();
        for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
            int c = b & 0xff;
            if (c < 128 && (Character.isLetterOrDigit(c) || "_.-~".indexOf(c) >= 0 || (keepSlash && c == '/'))) {
                sb.append((char) c);
            } else {
                sb.append('%').append(HexFormat.of().withUpperCase().toHexDigits((byte) c));
            }
        }
        return sb.toString();
    }

    /** {@code W/"abc"} or {@code "abc"} to {@code abc}. */
    private static String normalizeEtag(String etag) {
        if (etag == null) return null;
        String e = etag.strip();
        if (e.startsWith("W/")) e = e.substring(2);
        e = e.replaceAll("^\"+|\"+$", "");
        return e.isEmpty() ? null : e;
    }

    private static void validate(String repoId, String filename, String rev) {
        if (repoId == null || !REPO_ID.matcher(repoId).matches() || repoId.contains("--") || repoId.contains("..")
                || repoId.endsWith(".git")) {
            throw new HubException("invalid repo id '" + repoId + "': expected name or org/name");
        }
        if (!safeRelative(filename)) throw new HubException("invalid file name '" + filename + "'");
        if (!safeRelative(rev)) throw new HubException("invalid revision '" + rev + "'");
    }

    /** A '/'-separated relative path that cannot leave its folder on any OS. */
    private static boolean safeRelative(String path) {
        if (path == null || path.isEmpty() || path.indexOf('\\') >= 0 || path.indexOf('\0') >= 0) return false;
        for (String s : path.split("/", -1)) {
            if (s.isEmpty() || s.equals(".") || s.equals("..") || s.indexOf(':') >= 0) return false;
        }
        return true;
    }

    private static HubException interrupted(String what) {
        Thread.currentThread().interrupt();
        return new HubException("interrupted while downloading " + what);
    }

    private static String describe(Exception e) {
        String m = e.getMessage();
        if (m == null || m.isBlank()) return e.getClass().getSimpleName();
        return e instanceof FileSystemException ? e.getClass().getSimpleName() + ": " + m : m; // else only a path
    }

    private static String env(Map<String, String> env, String... names) {
        for (String n : names) {
            String v = env.get(n);
            if (v != null && !v.isEmpty()) return v;
        }
        return null;
    }

    private static Path expandHome(String path, String home) {
        if (path.equals("~")) return Path.of(home);
        if (path.startsWith("~/") || path.startsWith("~\\")) return Path.of(home, path.substring(2));
        return Path.of(path);
    }

    private static String cleanToken(String token) {
        if (token == null) return null;
        String t = token.replace("\r", "").replace("\n", "").strip();
        return t.isEmpty() ? null : t;
    }

    private static Duration seconds(String value) {
        try {
            int s = Integer.parseInt(value == null ? "" : value.strip());
            return s > 0 ? Duration.ofSeconds(s) : DEFAULT_TIMEOUT;
        } catch (NumberFormatException e) {
            return DEFAULT_TIMEOUT;
        }
    }

    private static URI checkEndpoint(String endpoint) {
        try {
            URI u = new URI(endpoint);
            if (u.getHost() != null && ("https".equalsIgnoreCase(u.getScheme()) || "http".equalsIgnoreCase(u.getScheme()))) {
                return u;
            }
        } catch (URISyntaxException e) {
            // reported below
        }
        throw new HubException("invalid Hub endpoint '" + endpoint + "': expected an http(s) URL such as " + DEFAULT_ENDPOINT);
    }

    private static String stripSlashes(String endpoint) {
        String e = endpoint == null || endpoint.isBlank() ? DEFAULT_ENDPOINT : endpoint.strip();
        while (e.endsWith("/")) e = e.substring(0, e.length() - 1);
        return e;
    }
}
