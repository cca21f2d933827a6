package org.mimi4j.cli;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;

/** Runs the mimi command in-process and keeps what it printed. */
record Cli(int status, String out, String err) {
    static Cli run(String... args) {
        StringWriter o = new StringWriter(), e = new StringWriter();
        int s = MimiCli.run(new PrintWriter(o, true), new PrintWriter(e, true), args);
        return new Cli(s, o.toString(), e.toString());
    }

    static Path golden() {
        String p = System.getProperty("mimi4j.golden", System.getenv("MIMI4J_GOLDEN"));
        Path r = Path.of(p == null ? "../shared/golden" : p);
        if (!Files.isDirectory(r)) r = Path.of("../../shared/golden");
        return r.toAbsolutePath().normalize();
    }

    static String tinyModel() {
        return golden().resolve("tiny/model.safetensors").toString();
    }

    /** The single error line, asserting there is no stack trace. */
    String errorLine() {
        String[] lines = err.strip().split("\n");
        if (lines.length != 1 || !lines[0].startsWith("mimi: error: ")) throw new AssertionError("expected one error line, got:\n" + err);
        return lines[0];
    }
}
