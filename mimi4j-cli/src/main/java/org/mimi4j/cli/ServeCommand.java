package org.mimi4j.cli;

import org.mimi4j.Mimi;
import org.mimi4j.server.MimiServer;
import org.mimi4j.server.ServerConfig;
import org.mimi4j.stream.StreamMode;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

/** mimi serve: the streaming codec server with its browser page. */
@Command(name = "serve", mixinStandardHelpOptions = true,
        description = {"Serve the codec: WebSocket streams (/v1/stream/encode, /decode, /roundtrip), HTTP POST /v1/encode and /v1/decode, "
                + "/healthz, /metrics (Prometheus) and a browser page at /. All streams are computed together in batches by one scheduler.",
                "Runs until interrupted (Ctrl-C). See docs/server.md for the protocol."})
final class ServeCommand implements Callable<Integer> {
    @CommandLine.Mixin
    ModelOptions model;

    @Option(names = "--host", defaultValue = "127.0.0.1", paramLabel = "ADDR",
            description = "Address to bind. Default: ${DEFAULT-VALUE} (loopback only; use 0.0.0.0 to expose, preferably with --token behind TLS).")
    String host;

    @Option(names = {"-p", "--port"}, defaultValue = "8080", paramLabel = "PORT", description = "TCP port (0: any free one). Default: ${DEFAULT-VALUE}.")
    int port;

    @Option(names = "--max-streams", defaultValue = "32", paramLabel = "N",
            description = "WebSocket streams at once; further ones are closed with 1013 and a reason. Default: ${DEFAULT-VALUE}.")
    int maxStreams;

    @Option(names = "--token", paramLabel = "T",
            description = "Require 'Authorization: Bearer T' (or ?token=T) on /v1/* and /metrics; 401 otherwise. Default: the MIMI_TOKEN environment variable, else none.")
    String token;

    @Option(names = "--idle-timeout", defaultValue = "30", paramLabel = "SECONDS", description = "Close streams with no traffic for this long. Default: ${DEFAULT-VALUE}.")
    int idleSeconds;

    @Option(names = "--max-message-kb", defaultValue = "256", paramLabel = "KIB", description = "Largest WebSocket message (larger: closed with 1009). Default: ${DEFAULT-VALUE}.")
    int maxMessageKb;

    @Option(names = "--max-upload-mb", defaultValue = "64", paramLabel = "MIB", description = "Largest HTTP upload (larger: 413). Default: ${DEFAULT-VALUE}.")
    int maxUploadMb;

    @Option(names = "--max-http-seconds", defaultValue = "600", paramLabel = "SECONDS", description = "Longest audio one HTTP request may encode or decode. Default: ${DEFAULT-VALUE}.")
    int maxHttpSeconds;

    @Option(names = "--max-http-jobs", defaultValue = "1", paramLabel = "N", description = "HTTP encode/decode requests computed at once (more: 503). Default: ${DEFAULT-VALUE}.")
    int maxHttpJobs;

    @Option(names = "--mode", defaultValue = "upstream", paramLabel = "upstream|offline-exact",
            description = "Streaming semantics past the transformer context: upstream (moshi's streaming; default) or offline-exact.")
    String mode;

    @Option(names = "--allow-any-origin", description = "Accept browser WebSockets from pages of other origins (default: only the server's own page).")
    boolean allowAnyOrigin;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        StreamMode m = switch (mode.toLowerCase(Locale.ROOT).replace('_', '-')) {
            case "upstream" -> StreamMode.UPSTREAM;
            case "offline-exact" -> StreamMode.OFFLINE_EXACT;
            default -> throw new MimiCli.UsageException("--mode must be upstream or offline-exact, got " + mode);
        };
        String t = token != null ? token : System.getenv("MIMI_TOKEN");
        if (token == null && t != null && t.isEmpty()) t = null; // an empty MIMI_TOKEN is no token, as an unset one
        if (maxMessageKb > Integer.MAX_VALUE / 1024) throw new MimiCli.UsageException("--max-message-kb must be at most " + Integer.MAX_VALUE / 1024 + ", got " + maxMessageKb);
        ServerConfig cfg;
        try { // ServerConfig checks every setting, with messages naming the options
            cfg = ServerConfig.defaults().withHost(host).withPort(port).withMaxStreams(maxStreams).withToken(t)
                    .withIdleTimeout(Duration.ofSeconds(idleSeconds)).withMaxMessageBytes(maxMessageKb * 1024)
                    .withMaxUploadBytes((long) maxUploadMb << 20).withMaxHttpSeconds(maxHttpSeconds).withMaxHttpJobs(maxHttpJobs)
                    .withMode(m).withAllowAnyOrigin(allowAnyOrigin);
        } catch (IllegalArgumentException e) {
            throw new MimiCli.UsageException(e.getMessage());
        }
        Mimi mimi = model.load();
        MimiServer server = new MimiServer(mimi, cfg);
        try {
            server.start();
        } catch (java.io.IOException e) {
            try {
                server.stop();
            } catch (Exception ignored) {
                // already failing
            }
            throw new MimiCli.UserException("cannot listen on " + host + ":" + port + ": " + e.getMessage());
        }
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                server.stop();
            } catch (Exception ignored) {
                // exiting anyway
            }
            stopped.countDown();
        }, "mimi-serve-shutdown"));
        spec.commandLine().getOut().println("mimi serve: " + mimi.source() + " on " + server.uri() + " (max " + maxStreams + " streams"
                + (t != null ? ", token required" : "") + "; " + org.mimi4j.kernels.Parallel.threads() + " compute threads, "
                + org.mimi4j.kernels.Simd.S.vectorBitSize() + "-bit vectors); Ctrl-C to stop");
        spec.commandLine().getOut().flush();
        stopped.await();
        return 0;
    }
}
