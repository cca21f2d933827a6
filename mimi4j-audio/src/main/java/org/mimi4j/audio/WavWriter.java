package org.mimi4j.audio;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Objects;

/**
 * Writes a mono WAV file as a stream, atomically: samples go to a hidden temporary file in the target's folder
 * whose header is completed and which is renamed over the target by {@link #commit()}. {@link #close()} without
 * a commit (an exception inside try-with-resources) deletes the temporary file, so no half-written WAV is ever
 * seen under the target name; a killed process leaves at most a hidden {@code .name.*.part} file.
 *
 * <pre>{@code
 * try (WavWriter w = WavWriter.create(path, 24000, WavWriter.Encoding.PCM_16)) {
 *     w.write(samples);
 *     w.commit();
 * }
 * }</pre>
 */
public final class WavWriter implements AutoCloseable {
    /** Sample encoding: 16-bit integer PCM (clipped to [-1, 1], rounded) or 32-bit IEEE float (as is). */
    public enum Encoding {
        PCM_16(2, 1),
        FLOAT_32(4, 3);

        final int bytes;
        final int tag;

        Encoding(int bytes, int tag) {
            this.bytes = bytes;
            this.tag = tag;
        }
    }

    private static final long MAX_DATA = 0xFFFFFFFFL - 64; // the RIFF size field is 32 bits

    private final Path target;
    private final Path temp;
    private final int sampleRate;
    private final Encoding encoding;
    private final FileChannel channel;
    private final ByteBuffer buf = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
    private final int headerSize;
    private long count;
    private boolean closed;

    private WavWriter(Path target, int sampleRate, Encoding encoding) throws IOException {
        this.target = target.toAbsolutePath();
        this.sampleRate = sampleRate;
        this.encoding = encoding;
        Path dir = this.target.getParent();
        if (Files.isDirectory(this.target)) throw new IOException(target + ": is a directory");
        if (dir != null && !Files.isDirectory(dir)) throw new IOException(dir + ": no such directory");
        // hidden sibling with the default permissions (Files.createTempFile would make it owner-only)
        temp = Files.createFile(this.target.resolveSibling("." + this.target.getFileName() + "."
                + Long.toUnsignedString(java.util.concurrent.ThreadLocalRandom.current().nextLong(), 36) + ".part"));
        try {
            channel = FileChannel.open(temp, StandardOpenOption.WRITE);
        } catch (IOException e) {
            Files.deleteIfExists(temp);
            throw e;
        }
        headerSize = encoding == Encoding.PCM_16 ? 44 : 58;
        buf.position(headerSize); // the header is written by commit(), once the sizes are known
    }

    /** Starts writing {@code target} (replaced on commit if it exists). */
    public static WavWriter create(Path target, int sampleRate, Encoding encoding) throws IOException {
        if (sampleRate <= 0) throw new IllegalArgumentException("sample rate must be positive: " + sampleRate);
        return new WavWriter(target, sampleRate, Objects.requireNonNull(encoding));
    }

    /** Writes a whole file at once, atomically. */
    public static void write(Path target, float[] samples, int sampleRate, Encoding encoding) throws IOException {
        try (WavWriter w = create(target, sampleRate, encoding)) {
            w.write(samples);
            w.commit();
        }
    }

    public void write(float[] samples) throws IOException {
        write(samples, 0, samples.length);
    }

    public void write(float[] samples, int off, int len) throws IOException {
        Objects.checkFromIndexSize(off, len, samples.length);
        if (closed) throw new IllegalStateException("the writer is closed");
        if ((count + len) * encoding.bytes > MAX_DATA) {
            throw new IOException(target + ": a WAV file cannot hold more than 4 GiB of samples");
        }
        for (int i = off; i < off + len; i++) {
            if (buf.remaining() < 4) drain();
            float x = samples[i];
            if (encoding == Encoding.PCM_16) {
                buf.putShort((short) Math.clamp(Math.round(x * 32768.0), -32768, 32767));
            } else {
                buf.putFloat(x);
            }
        }
        count += len;
    }

    /** Number of samples written so far. */
    public long samplesWritten() {
        return count;
    }

    /** Completes the header and renames the file to its target name. The writer is closed afterwards. */
    public void commit() throws IOException {
        if (closed) throw new IllegalStateException("the writer is closed");
        boolean done = false;
        try {
            drain();
            long data = count * encoding.bytes;
            ByteBuffer h = header(data);
            while (h.hasRemaining()) channel.write(h, h.position());
            channel.force(true);
            channel.close();
            try {
                Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(temp, target, StandardCopyOption.REPLACE_EXISTING);
            }
            done = true;
        } finally {
            closed = true;
            if (!done) discard();
        }
    }

    /** Discards the file unless {@link #commit()} succeeded: nothing appears under the target name. */
    @Override
    public void close() throws IOException {
        if (closed) return;
        closed = true;
        discard();
    }

    private void discard() throws IOException {
        try {
            channel.close();
        } finally {
            Files.deleteIfExists(temp);
        }
    }

    private void drain() throws IOException {
        buf.flip();
        while (buf.hasRemaining()) channel.write(buf);
        buf.clear();
    }

    private ByteBuffer header(long data) {
        ByteBuffer h = ByteBuffer.allocate(headerSize).order(ByteOrder.LITTLE_ENDIAN);
        int bytes = encoding.bytes;
        h.put(ascii("RIFF")).putInt((int) (headerSize - 8 + data)).put(ascii("WAVE"));
        h.put(ascii("fmt ")).putInt(encoding == Encoding.PCM_16 ? 16 : 18);
        h.putShort((short) encoding.tag).putShort((short) 1).putInt(sampleRate).putInt(sampleRate * bytes)
                .putShort((short) bytes).putShort((short) (8 * bytes));
        if (encoding == Encoding.FLOAT_32) {
            h.putShort((short) 0); // cbSize
            h.put(ascii("fact")).putInt(4).putInt((int) count);
        }
        h.put(ascii("data")).putInt((int) data);
        return h.flip();
    }

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }
}
