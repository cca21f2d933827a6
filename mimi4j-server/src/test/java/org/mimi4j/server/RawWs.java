package org.mimi4j.server;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.concurrent.ThreadLocalRandom;

/** A bare-socket WebSocket client with a tiny receive buffer, for a client that reads nothing (a slow reader). */
final class RawWs implements AutoCloseable {
    final Socket socket;
    private final OutputStream out;
    final InputStream in;

    RawWs(int port, String path) throws IOException {
        socket = new Socket();
        socket.setReceiveBufferSize(4096);
        socket.connect(new InetSocketAddress("127.0.0.1", port), 5000);
        out = socket.getOutputStream();
        in = socket.getInputStream();
        byte[] key = new byte[16];
        ThreadLocalRandom.current().nextBytes(key);
        out.write(("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + port + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Key: " + Base64.getEncoder().encodeToString(key) + "\r\nSec-WebSocket-Version: 13\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII));
        out.flush();
        StringBuilder head = new StringBuilder();
        while (!head.toString().endsWith("\r\n\r\n")) {
            int b = in.read();
            if (b < 0) throw new IOException("closed during the handshake: " + head);
            head.append((char) b);
        }
        if (!head.toString().startsWith("HTTP/1.1 101")) throw new IOException("handshake refused: " + head);
    }

    void text(String s) throws IOException {
        frame(0x1, s.getBytes(StandardCharsets.UTF_8));
    }

    void binary(byte[] b) throws IOException {
        frame(0x2, b);
    }

    private void frame(int opcode, byte[] payload) throws IOException {
        int n = payload.length;
        byte[] h = n < 126 ? new byte[]{(byte) (0x80 | opcode), (byte) (0x80 | n)}
                : new byte[]{(byte) (0x80 | opcode), (byte) (0x80 | 126), (byte) (n >> 8), (byte) n};
        if (n >= 65536) throw new IllegalArgumentException("payload too large for this helper");
        byte[] mask = new byte[4];
        ThreadLocalRandom.current().nextBytes(mask);
        byte[] m = new byte[n];
        for (int i = 0; i < n; i++) m[i] = (byte) (payload[i] ^ mask[i & 3]);
        out.write(h);
        out.write(mask);
        out.write(m);
        out.flush();
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
