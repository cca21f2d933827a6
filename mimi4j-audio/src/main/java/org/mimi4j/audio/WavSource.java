package org.mimi4j.audio;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;

/**
 * A small RIFF/WAVE parser: PCM 8/16/24/32-bit integer (any container size), IEEE float 32/64-bit, plain or
 * WAVE_FORMAT_EXTENSIBLE, any channel count, and RF64/BW64 for files over 4 GiB. Chunks other than fmt, ds64 and
 * data are skipped; a data size of 0xFFFFFFFF (written by some streaming recorders) means "up to the end".
 */
final class WavSource extends DecoderSource {
    private enum Kind { U8, S16, S24, S32, F32, F64 }

    private static final long UNKNOWN = 0xFFFFFFFFL;
    private static final int MAX_FMT_SIZE = 1 << 16;

    private final int channels;
    private final int sampleRate;
    private final int blockAlign;
    private final int bytesPerSample;
    private final Kind kind;
    private final long frames;
    private final byte[] bytes;
    private long bytesLeft;

    /** Parses the header; {@code fileSize} (or -1 for a stream) lets a truncated file be reported before decoding. */
    WavSource(String name, InputStream in, long fileSize) throws IOException {
        super(name, in);
        byte[] riff = readFully(12, "RIFF header");
        String magic = ascii(riff, 0);
        boolean rf64 = magic.equals("RF64") || magic.equals("BW64");
        long pos = 12;
        long ds64DataSize = -1;
        byte[] fmt = null;
        long dataSize;
        int carried = -1; // a byte read as an odd chunk's pad that is the next chunk id's first letter (see below)
        while (true) {
            byte[] header;
            if (carried < 0) header = readFully(8, fmt == null ? "fmt chunk" : "data chunk");
            else {
                header = new byte[8];
                header[0] = (byte) carried;
                System.arraycopy(readFully(7, fmt == null ? "fmt chunk" : "data chunk"), 0, header, 1, 7);
                pos -= 1;
                carried = -1;
            }
            String id = ascii(header, 0);
            long size = u32(header, 4);
            pos += 8;
            if (id.equals("data")) {
                dataSize = size == UNKNOWN && ds64DataSize >= 0 ? ds64DataSize : size;
                break;
            }
            if (fileSize >= 0 && pos + size > fileSize) {
                throw error("truncated: the '" + id.strip() + "' chunk runs past the end of the file");
            }
            if (id.equals("fmt ") || (rf64 && id.equals("ds64"))) {
                if (size > MAX_FMT_SIZE) throw error("corrupt WAV: '" + id.strip() + "' chunk of " + size + " bytes");
                byte[] body = readFully((int) size, "'" + id.strip() + "' chunk");
                if (id.equals("ds64")) {
                    if (size < 24) throw error("corrupt RF64: ds64 chunk of " + size + " bytes");
                    ds64DataSize = u64(body, 8);
                } else {
                    fmt = body;
                }
            } else {
                skip(size);
            }
            if ((size & 1) != 0) {
                // the pad byte after an odd-sized chunk (a zero); some writers leave it out, and what stands there is
                // then the next chunk id's first letter: read on from it, as other readers (ffmpeg) do
                byte[] pad = readFully(1, "chunk's pad byte");
                if (pad[0] >= 'A' && pad[0] <= 'z') carried = pad[0];
            }
            pos += size + (size & 1);
        }
        if (fmt == null) throw error("corrupt WAV: the data chunk comes before any fmt chunk");
        if (fmt.length < 16) throw error("corrupt WAV: fmt chunk of " + fmt.length + " bytes");

        int tag = u16(fmt, 0);
        channels = u16(fmt, 2);
        sampleRate = (int) Math.min(u32(fmt, 4), Integer.MAX_VALUE);
        blockAlign = u16(fmt, 12);
        int bits = u16(fmt, 14);
        if (tag == 0xFFFE) {
            if (fmt.length < 40) throw error("corrupt WAV: WAVE_FORMAT_EXTENSIBLE fmt chunk of " + fmt.length + " bytes");
            tag = u16(fmt, 24); // the first two bytes of the sub-format GUID hold the plain format tag
        }
        if (tag != 1 && tag != 3) throw error(encodingName(tag) + " WAV is not supported (only PCM and IEEE float)");
        if (channels == 0) throw error("corrupt WAV: 0 channels");
        if (sampleRate == 0) throw error("corrupt WAV: sample rate 0");
        if (blockAlign == 0 || blockAlign % channels != 0) {
            throw error("corrupt WAV: block size " + blockAlign + " for " + channels + " channels");
        }
        bytesPerSample = blockAlign / channels;
        kind = kind(tag, bits, bytesPerSample);

        if (dataSize == UNKNOWN) {
            frames = -1;
            bytesLeft = Long.MAX_VALUE;
        } else {
            if (fileSize >= 0 && pos + dataSize > fileSize) {
                throw error("truncated: the data chunk should hold " + dataSize / blockAlign + " samples but the file"
                        + " ends after " + Math.max(0, fileSize - pos) / blockAlign);
            }
            frames = dataSize / blockAlign;
            bytesLeft = frames * blockAlign;
            if (frames == 0) throw error("contains no audio samples");
        }
        bytes = new byte[blockAlign * Math.max(1, 8192 / blockAlign)];
    }

    private Kind kind(int tag, int bits, int size) {
        if (tag == 3) {
            if (size == 4) return Kind.F32;
            if (size == 8) return Kind.F64;
            throw error(bits + "-bit float WAV is not supported (only 32 and 64-bit float)");
        }
        if (bits == 0 || bits > 8 * size || size > 4) {
            throw error(bits + "-bit PCM in " + 8 * size + "-bit samples is not supported (8 to 32-bit PCM)");
        }
        return switch (size) {
            case 1 -> Kind.U8;
            case 2 -> Kind.S16;
            case 3 -> Kind.S24;
            default -> Kind.S32;
        };
    }

    private static String encodingName(int tag) {
        return switch (tag) {
            case 0x0002 -> "Microsoft ADPCM";
            case 0x0006 -> "a-law";
            case 0x0007 -> "mu-law";
            case 0x0011 -> "IMA ADPCM";
            case 0x0031 -> "GSM 6.10";
            case 0x0050 -> "MPEG audio";
            case 0x0055 -> "MP3";
            case 0x00FF, 0x1610 -> "AAC";
            case 0x0160, 0x0161, 0x0162, 0x0163 -> "WMA";
            case 0x2000 -> "AC-3";
            case 0xF1AC -> "FLAC";
            default -> String.format("format 0x%04X", tag);
        };
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
        return "WAV";
    }

    @Override
    public long durationSamples() {
        return frames;
    }

    @Override
    protected int decodeBlock() throws IOException {
        int want = (int) Math.min(bytes.length, bytesLeft);
        if (want == 0) return -1;
        int got = in.readNBytes(bytes, 0, want);
        bytesLeft = got < want ? 0 : bytesLeft - got;
        int n = got / blockAlign;
        if (n == 0) return -1;
        float[] out = block(n);
        float scale = 1f / channels;
        for (int f = 0, p = 0; f < n; f++) {
            float sum = 0;
            for (int c = 0; c < channels; c++, p += bytesPerSample) sum += sample(p);
            out[f] = sum * scale;
        }
        return n;
    }

    private float sample(int p) {
        byte[] b = bytes;
        return switch (kind) {
            case U8 -> ((b[p] & 0xFF) - 128) / 128f;
            case S16 -> (short) ((b[p] & 0xFF) | b[p + 1] << 8) / 32768f;
            case S24 -> ((b[p] & 0xFF) | (b[p + 1] & 0xFF) << 8 | b[p + 2] << 16) / 8388608f;
            case S32 -> (float) (s32(b, p) / 2147483648.0);
            case F32 -> Float.intBitsToFloat(s32(b, p));
            case F64 -> (float) Double.longBitsToDouble(u64(b, p));
        };
    }

    private byte[] readFully(int n, String what) throws IOException {
        byte[] b = in.readNBytes(n);
        if (b.length < n) throw error("truncated: the file ends inside the " + what);
        return b;
    }

    private void skip(long n) throws IOException {
        try {
            in.skipNBytes(n);
        } catch (EOFException e) {
            throw error("truncated: the file ends inside a chunk");
        }
    }

    private static String ascii(byte[] b, int off) {
        return new String(b, off, 4, StandardCharsets.ISO_8859_1);
    }

    private static int u16(byte[] b, int p) {
        return (b[p] & 0xFF) | (b[p + 1] & 0xFF) << 8;
    }

    private static int s32(byte[] b, int p) {
        return (b[p] & 0xFF) | (b[p + 1] & 0xFF) << 8 | (b[p + 2] & 0xFF) << 16 | b[p + 3] << 24;
    }

    private static long u32(byte[] b, int p) {
        return s32(b, p) & 0xFFFFFFFFL;
    }

    private static long u64(byte[] b, int p) {
        return u32(b, p) | (long) s32(b, p + 4) << 32;
    }
}
