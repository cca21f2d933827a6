package org.mimi4j.audio;

import java.io.IOException;
import java.io.InputStream;
import java.util.Objects;

/**
 * Base of the decoders: subclasses decode one block of mono samples at a time into {@link #block}; this class
 * hands them out, stops at {@link #durationSamples()} when known, and reports a file that ends early or holds no
 * samples at all.
 */
abstract class DecoderSource implements AudioSource {
    protected final String name;
    protected final InputStream in;
    protected float[] block = new float[4096];
    private int blockPos;
    private int blockLen;
    private long produced;
    private boolean ended;

    DecoderSource(String name, InputStream in) {
        this.name = name;
        this.in = in;
    }

    /** Decodes the next block into {@link #block} (grown with {@link #block(int)}); returns its length or -1 at the end. */
    protected abstract int decodeBlock() throws IOException;

    /** Returns {@link #block}, grown to hold at least {@code n} samples. */
    protected final float[] block(int n) {
        if (block.length < n) block = new float[Math.max(n, block.length * 2)];
        return block;
    }

    protected final AudioFormatException error(String problem) {
        return new AudioFormatException(name + ": " + problem);
    }

    protected final AudioFormatException error(String problem, Throwable cause) {
        return new AudioFormatException(name + ": " + problem, cause);
    }

    @Override
    public final int read(float[] buf, int off, int len) throws IOException {
        Objects.checkFromIndexSize(off, len, buf.length);
        if (len == 0) return 0;
        long duration = durationSamples();
        while (blockPos == blockLen) {
            if (ended) return -1;
            int n = duration >= 0 && produced >= duration ? -1 : decodeBlock();
            if (n < 0) {
                ended = true;
                if (duration >= 0 && produced < duration) {
                    throw error("truncated or corrupt: the audio stops after " + produced + " of its " + duration + " samples");
                }
                if (produced == 0) throw error("contains no audio samples");
                return -1;
            }
            blockPos = 0;
            blockLen = duration >= 0 ? (int) Math.min(n, duration - produced) : n;
            produced += blockLen;
        }
        int n = Math.min(len, blockLen - blockPos);
        System.arraycopy(block, blockPos, buf, off, n);
        blockPos += n;
        return n;
    }

    @Override
    public void close() throws IOException {
        ended = true;
        blockPos = blockLen = 0;
        in.close();
    }

    @Override
    public String toString() {
        return name + " (" + formatName() + ", " + sampleRate() + " Hz, " + channels() + " ch)";
    }
}
