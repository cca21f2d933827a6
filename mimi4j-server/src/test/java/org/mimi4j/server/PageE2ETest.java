package org.mimi4j.server;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The page in a real browser: starts the server (tiny model, with a token) and runs {@code e2e/page.test.mjs}, which
 * drives headless Chromium with a fake microphone playing speech made here by espeak-ng. Skipped, with the reason,
 * when node, chromium, espeak-ng or e2e/node_modules are missing, unless MIMI4J_E2E_REQUIRED is set (as .ci/run
 * does), in which case that is a failure. Screenshots: target/e2e/page.png and page-live.png.
 */
class PageE2ETest {
    static String which(String name) {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            Path p = Path.of(dir, name);
            if (Files.isExecutable(p)) return p.toString();
        }
        return null;
    }

    static void require(boolean ok, String what) {
        if (ok) return;
        String msg = "e2e browser test needs " + what + " (.ci/run installs it: apt-get install chromium espeak-ng nodejs; cd mimi4j-server/e2e && npm ci)";
        if (System.getenv("MIMI4J_E2E_REQUIRED") != null) fail(msg);
        Assumptions.abort(msg);
    }

    /** The page's 24 kHz resampler (capture-worklet.js), run in node: tones from 16-96 kHz, no aliasing. */
    @Test
    void workletResamplerIsAccurate() throws Exception {
        String node = which("node");
        require(node != null, "node");
        Path e2e = Path.of("e2e").toAbsolutePath();
        Process p = new ProcessBuilder(node, e2e.resolve("resampler.test.mjs").toString()).directory(e2e.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "timed out");
        System.out.print(out);
        assertEquals(0, p.exitValue(), out);
    }

    @Test
    void pageStreamsDrawsAndPlaysInHeadlessChromium() throws Exception {
        String node = which("node");
        String chromium = System.getenv("CHROMIUM") != null ? System.getenv("CHROMIUM") : which("chromium");
        String espeak = which("espeak-ng");
        Path e2e = Path.of("e2e").toAbsolutePath();
        require(node != null, "node");
        require(chromium != null, "chromium");
        require(espeak != null, "espeak-ng");
        require(Files.isDirectory(e2e.resolve("node_modules/playwright-core")), "playwright-core in mimi4j-server/e2e/node_modules");

        Path out = Path.of("target/e2e").toAbsolutePath();
        Files.createDirectories(out);
        Path speech = out.resolve("speech.wav");
        Process tts = new ProcessBuilder(espeak, "-w", speech.toString(), "-s", "150",
                "Hello! This is a test of the Mimi streaming codec server. The page sends my voice, twenty four thousand samples a second, "
                        + "and draws the codes as they come back. The quick brown fox jumps over the lazy dog.")
                .redirectErrorStream(true).start();
        assertTrue(tts.waitFor(60, TimeUnit.SECONDS) && tts.exitValue() == 0, "espeak-ng failed: " + new String(tts.getInputStream().readAllBytes()));

        try (MimiServer server = TestServers.start(ServerConfig.defaults().withToken("e2e-token"))) {
            List<String> cmd = new ArrayList<>(List.of(node, e2e.resolve("page.test.mjs").toString(), "--url", server.uri().toString(),
                    "--wav", speech.toString(), "--out", out.toString(), "--chromium", chromium, "--token", "e2e-token"));
            Process p = new ProcessBuilder(cmd).directory(e2e.toFile()).redirectErrorStream(true).start();
            StringBuilder log = new StringBuilder();
            Thread reader = Thread.ofPlatform().daemon().start(() -> {
                try (var r = p.inputReader()) {
                    r.lines().forEach(l -> {
                        System.out.println(l);
                        synchronized (log) {
                            log.append(l).append('\n');
                        }
                    });
                } catch (java.io.IOException ignored) {
                    // process gone
                }
            });
            if (!p.waitFor(240, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                fail("e2e test timed out:\n" + log);
            }
            reader.join(5000);
            assertEquals(0, p.exitValue(), "e2e test failed:\n" + log);
            assertTrue(Files.size(out.resolve("page.png")) > 10_000, "screenshot saved");
            assertTrue(server.metrics().framesEncoded() >= 30, "the server encoded the page's frames");
            assertTrue(server.metrics().rejectedCount("unauthorized") == 0, "the page sent the token");
        }
    }
}
