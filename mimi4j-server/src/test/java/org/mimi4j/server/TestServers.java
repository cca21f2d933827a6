package org.mimi4j.server;

import org.mimi4j.Mimi;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

/** The tiny golden model and test audio. */
final class TestServers {
    private static Mimi tiny;

    static synchronized Mimi tiny() {
        if (tiny == null) tiny = Mimi.load(goldenRoot().resolve("tiny"));
        return tiny;
    }

    static Path goldenRoot() {
        String p = System.getProperty("mimi4j.golden", System.getenv("MIMI4J_GOLDEN"));
        if (p == null) p = "../shared/golden";
        Path r = Path.of(p);
        if (!Files.isDirectory(r)) r = Path.of("../../shared/golden");
        return r.toAbsolutePath().normalize();
    }

    static MimiServer start(ServerConfig c) throws Exception {
        return new MimiServer(tiny(), c.withPort(0)).start();
    }

    static URI ws(MimiServer s, String path) {
        return URI.create("ws://127.0.0.1:" + s.port() + path);
    }

    /** Speech-like test signal: a few harmonics with a wobbling pitch plus noise, deterministic. */
    static float[] audio(int n, long seed) {
        Random r = new Random(seed);
        float[] x = new float[n];
        double ph = 0;
        for (int i = 0; i < n; i++) {
            double f0 = 120 + 40 * Math.sin(2 * Math.PI * i / 24000.0 * 1.7 + seed);
            ph += 2 * Math.PI * f0 / 24000.0;
            double env = 0.5 + 0.5 * Math.sin(2 * Math.PI * i / 24000.0 * 3);
            x[i] = (float) (env * (0.3 * Math.sin(ph) + 0.15 * Math.sin(2 * ph) + 0.08 * Math.sin(3 * ph)) + 0.02 * r.nextGaussian());
        }
        return x;
    }
}
