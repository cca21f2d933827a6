package org.mimi4j.audio;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;

import javazoom.jl.decoder.Bitstream;
import javazoom.jl.decoder.Decoder;
import javazoom.jl.decoder.Header;
import javazoom.jl.decoder.JavaLayerException;
import javazoom.jl.decoder.Obuffer;

/**
 * MP3 (MPEG-1/2/2.5 Layer III) through JLayer, taking its float output before the 16-bit rounding. Gapless: when
 * the first frame is a Xing/Info frame with a LAME tag (LAME, FFmpeg), the encoder delay plus the decoder's 529
 * samples are dropped at the start and the padding at the end, so the output lines up sample for sample with what
 * was encoded and has its length; the sample count then also lets a truncated file be reported.
 */
final class Mp3Source extends DecoderSource {
    private static final int DECODER_DELAY = 529;
    private static final float SCALE = 1f / 32700f; // JLayer's synthesis filter scales its output by 32700

    private final Bitstream bitstream;
    private final Decoder decoder = new Decoder();
    private final FloatOutput output = new FloatOutput();
    private final int sampleRate;
    private final int channels;
    private final long duration;
    private boolean skipInfoFrame;
    private long skip;

    /** {@code in} must start at the first frame header and support mark/reset. */
    Mp3Source(String name, InputStream in) throws IOException {
        super(name, in);
        in.mark(4096);
        byte[] first = in.readNBytes(4096);
        in.reset();
        MpegHeader h = MpegHeader.parse(first, 0);
        if (h == null) throw error("corrupt MP3: no frame header at the start");
        sampleRate = h.sampleRate();
        channels = h.channels();
        duration = gapless(first, h);
        bitstream = new Bitstream(in);
        decoder.setOutputBuffer(output);
    }

    /** Reads the Xing/Info frame's LAME tag: sets up the trimming and returns the sample count, or -1 without one. */
    private long gapless(byte[] frame, MpegHeader h) {
        int p = h.dataOffset();
        if (p + 120 + 24 > frame.length) return -1;
        String tag = new String(frame, p, 4, StandardCharsets.ISO_8859_1);
        if (!tag.equals("Xing") && !tag.equals("Info")) return -1;
        skipInfoFrame = true;
        int flags = frame[p + 7];
        if ((flags & 1) == 0) return -1;
        long frames = be32(frame, p + 8);
        p += 8 + 4 + ((flags & 2) != 0 ? 4 : 0) + ((flags & 4) != 0 ? 100 : 0) + ((flags & 8) != 0 ? 4 : 0);
        String encoder = new String(frame, p, 4, StandardCharsets.ISO_8859_1);
        if (!encoder.equals("LAME") && !encoder.equals("Lavc") && !encoder.equals("Lavf")) return -1;
        int delay = (frame[p + 21] & 0xFF) << 4 | (frame[p + 22] & 0xF0) >> 4;
        int padding = (frame[p + 22] & 0x0F) << 8 | frame[p + 23] & 0xFF;
        skip = delay + DECODER_DELAY;
        return Math.max(0, frames * h.samplesPerFrame() - delay - Math.max(padding, DECODER_DELAY));
    }

    private static long be32(byte[] b, int p) {
        return (b[p] & 0xFFL) << 24 | (b[p + 1] & 0xFF) << 16 | (b[p + 2] & 0xFF) << 8 | b[p + 3] & 0xFF;
    }

    @Override
    protected int decodeBlock() throws IOException {
        while (true) {
            try {
                Header header = bitstream.readFrame();
                if (header == null) return -1;
                output.clear_buffer();
                decoder.decodeFrame(header, bitstream);
                bitstream.closeFrame();
            } catch (JavaLayerException | RuntimeException e) {
                throw error("corrupt MP3 data (" + e.getMessage() + ")", e);
            }
            if (skipInfoFrame) {
                skipInfoFrame = false;
                continue;
            }
            int frameLen = output.count[0];
            int start = (int) Math.min(skip, frameLen);
            skip -= start;
            int n = frameLen - start;
            if (n == 0) continue;
            float[] out = block(n);
            if (channels == 1) {
                for (int i = 0; i < n; i++) out[i] = output.samples[0][start + i] * SCALE;
            } else {
                for (int i = 0; i < n; i++) {
                    out[i] = (output.samples[0][start + i] + output.samples[1][start + i]) * (0.5f * SCALE);
                }
            }
            return n;
        }
    }

    @Override
    public int sampleRate() {
        return sampleRate;
    }

    @Override
    public int channels() {
        return channels;
    }

    @Override
    public String formatName() {
        return "MP3";
    }

    @Override
    public long durationSamples() {
        return duration;
    }

    /** Collects JLayer's float output per channel instead of rounding it to 16 bits. */
    private static final class FloatOutput extends Obuffer {
        final float[][] samples = new float[2][1152];
        final int[] count = new int[2];

        @Override
        public void appendSamples(int channel, float[] f) {
            System.arraycopy(f, 0, samples[channel], count[channel], 32);
            count[channel] += 32;
        }

        @Override
        public void append(int channel, short value) {
            samples[channel][count[channel]++] = value;
        }

        @Override
        public void clear_buffer() {
            count[0] = count[1] = 0;
        }

        @Override
        public void write_buffer(int val) {
        }

        @Override
        public void close() {
        }

        @Override
        public void set_stop_flag() {
        }
    }
}
