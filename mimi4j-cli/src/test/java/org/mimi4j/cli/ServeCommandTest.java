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
        assertTrue(Cli.run("serve", "--model", Cli.tinyModel(), "--mode", "nope").errorLine().contains("--mode must be upstream or offline-exact"));
        assertTrue(Cli.run("serve", "--model", Cli.tinyModel(), "--max-streams", "0").errorLine().contains("--max-streams"));
        try (ServerSocket taken = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            Cli c = Cli.run("serve", "--model", Cli.tinyModel(), "--port", Integer.toString(taken.getLocalPort()));
            assertEquals(1, c.status());
            assertTrue(c.errorLine().contains("cannot listen on 127.0.0.1:" + taken.getLocalPort()), c.err());
        }
    }
}
