package org.mimi4j.cli;

import org.junit.jupiter.api.Test;

import java.net.ServerSocket;

import static org.junit.jupiter.api.Assertions.*;

/** mimi serve: help and user errors (the server itself is tested in mimi4j-server). */
class ServeCommandTest {
    @Test
    void help() {
        Cli c = Cli.run("serve", "--help");
        assertEquals(0, c.status());
        assertTrue(c.out().contains("/v1/stream/encode") && c.out().contains("--max-streams") && c.out().contains("--token"), c.out());
        assertTrue(Cli.run("--help").out().contains("serve"));
    }

    @Test
    void badOptionsAreOneLineErrors() throws Exception {
        Cli mode = Cli.run("serve", "--model", Cli.tinyModel(), "--mode", "nope");
        assertEquals(2, mode.status(), mode.err());
        assertTrue(mode.errorLine().contains("--mode must be upstream or offline-exact"));
        assertTrue(Cli.run("serve", "--model", Cli.tinyModel(), "--max-streams", "0").errorLine().contains("--max-streams"));
        // every setting is checked before the server starts (ServerConfig), one line each
        String[][] bad = {{"--max-http-jobs", "0"}, {"--max-upload-mb", "-1"}, {"--max-http-seconds", "0"}, {"--idle-timeout", "0"},
                {"--token=", null}, {"--port", "70000"}, {"--max-message-kb", "3000000"}};
        for (String[] b : bad) {
            Cli c = b[1] == null ? Cli.run("serve", "--model", Cli.tinyModel(), b[0]) : Cli.run("serve", "--model", Cli.tinyModel(), b[0], b[1]);
            assertEquals(2, c.status(), String.join(" ", b[0]) + ": " + c.err()); // usage errors: 2
            assertTrue(c.errorLine().contains(b[0].replace("=", "")), c.err());
        }
        try (ServerSocket taken = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            Cli c = Cli.run("serve", "--model", Cli.tinyModel(), "--port", Integer.toString(taken.getLocalPort()));
            assertEquals(1, c.status());
            assertTrue(c.errorLine().contains("cannot listen on 127.0.0.1:" + taken.getLocalPort()), c.err());
        }
    }
}
