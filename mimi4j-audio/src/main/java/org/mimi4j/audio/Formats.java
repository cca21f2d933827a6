package org.mimi4j.audio;

import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Locale;

/** Recognizes the format from the first bytes (magic numbers, not the file name) and opens its decoder. */
final class Formats {
    static final String SUPPORTED = "supported: WAV, FLAC, MP3, Ogg Vorbis";
    static final int MAX_SAMPLE_RATE = 1_000_000;
    private static final int MPEG_SCAN = 16 << 10;

    private Formats() {
    }

    /** Opens {@code raw}, which is closed on failure and by the returned source. */
    static AudioSource open(InputStream raw, String name, long fileSize, Path path) throws IOException {
        BufferedInputStream in = new BufferedInputStream(raw, 1 << 16);
        boolean ok = false;
        try {
            AudioSource source = detect(in, name, fileSize, path);
            if (source.sampleRate() > MAX_SAMPLE_RATE) {
                throw new AudioFormatException(name + ": unsupported sample rate " + source.sampleRate() + " Hz");
            }
            ok = true;
            return source;
        } finally {
            if (!ok) in.close();
        }
    }

    private static AudioSource detect(BufferedInputStream in, String name, long fileSize, Path path)
            throws IOException {
        byte[] head = peek(in, 64);
        if (head.length == 0) throw new AudioFormatException(name + ": empty file");
        long skipped = 0;
        while (is(head, 0, "ID3") && head.length >= 10) { // ID3v2 tags precede MP3 and sometimes FLAC
            long size = 10 + ((head[6] & 0x7F) << 21 | (head[7] & 0x7F) << 14 | (head[8] & 0x7F) << 7 | head[9] & 0x7F)
                    + ((head[5] & 0x10) != 0 ? 10 : 0);
            try {
                in.skipNBytes(size);
            } catch (EOFException e) {
                throw new AudioFormatException(name + ": truncated: the file ends inside its ID3 tag");
            }
            skipped += size;
            head = peek(in, 64);
            if (head.length == 0) throw new AudioFormatException(name + ": contains no audio samples, only an ID3 tag");
        }
        if (is(head, 0, "RIFF") || is(head, 0, "RF64") || is(head, 0, "BW64")) {
            if (is(head, 8, "WAVE")) return new WavSource(name, in, fileSize < 0 ? -1 : fileSize - skipped);
            throw unsupported(name, "RIFF '" + ascii(head, 8, 4).strip() + "' (not WAVE)");
        }
        if (is(head, 0, "fLaC")) return new FlacSource(name, in);
        if (is(head, 0, "OggS")) {
            String codec = oggCodec(head);
            if (codec.equals("Vorbis")) return new VorbisSource(name, in, path);
            throw unsupported(name, "Ogg " + codec);
        }
        String other = otherFormat(head);
        if (other != null) throw unsupported(name, other);
        int mpeg = findMpeg(in, name);
        if (mpeg >= 0) {
            in.skipNBytes(mpeg);
            return new Mp3Source(name, in);
        }
        String ext = extension(name);
        throw new AudioFormatException(name + ": unrecognized audio format ("
                + (ext.isEmpty() ? "" : "the content is not " + ext + "; ") + SUPPORTED + ")");
    }

    private static AudioFormatException unsupported(String name, String format) {
        return new AudioFormatException(name + ": " + format + " is not supported (" + SUPPORTED + ")");
    }

    private static String oggCodec(byte[] head) {
        int data = head.length > 26 ? 27 + (head[26] & 0xFF) : head.length;
        if (is(head, data, "\u0001vorbis")) return "Vorbis";
        if (is(head, data, "OpusHead")) return "Opus";
        if (is(head, data, "\u007fFLAC")) return "FLAC";
        if (is(head, data, "Speex")) return "Speex";
        if (is(head, data, "\u0080theora")) return "Theora video";
        return "with an unknown codec";
    }

    /** Names well-known formats we do not decode, so that the error says what the file is. */
    private static String otherFormat(byte[] h) {
        if (is(h, 0, "RIFX")) return "big-endian WAV (RIFX)";
        if (is(h, 0, "FORM") && (is(h, 8, "AIFF") || is(h, 8, "AIFC"))) return "AIFF";
        if (is(h, 4, "ftyp")) return "MP4/M4A";
        if (is(h, 0, "\u001a\u0045\u00df\u00a3")) return "Matroska/WebM";
        if (is(h, 0, "caff")) return "CAF";
        if (is(h, 0, "wvpk")) return "WavPack";
        if (is(h, 0, "MAC ")) return "Monkey's Audio";
        if (is(h, 0, "#!AMR")) return "AMR";
        if (is(h, 0, ".snd")) return "Sun AU";
        if (is(h, 0, "MThd")) return "MIDI";
        if (is(h, 0, "ADIF")) return "AAC";
        if (MpegHeader.isSync(h, 0)) {
            int layer = MpegHeader.layerBits(h, 0);
            if (layer == 0) return "AAC (ADTS)";
            if (layer == 2) return "MPEG Layer II (MP2)";
            if (layer == 3) return "MPEG Layer I (MP1)";
        }
        return null;
    }

    /**
     * Offset of the first MP3 frame in the first 16 kB, or -1: a Layer III header followed by another one where
     * its length says (or by the end of the file), which random bytes are unlikely to imitate.
     */
    private static int findMpeg(BufferedInputStream in, String name) throws IOException {
        byte[] b = peek(in, MPEG_SCAN);
        for (int p = 0; p + 4 <= b.length; p++) {
            MpegHeader h = MpegHeader.parse(b, p);
            if (h == null) continue;
            int next = p + h.frameLength();
            if (next == b.length && b.length < MPEG_SCAN) return p;
            MpegHeader h2 = MpegHeader.parse(b, next);
            if (h2 != null && h2.sampleRate() == h.sampleRate()) return p;
        }
        return -1;
    }

    private static byte[] peek(BufferedInputStream in, int n) throws IOException {
        in.mark(n);
        byte[] b = in.readNBytes(n);
        in.reset();
        return b;
    }

    private static boolean is(byte[] b, int off, String magic) {
        if (off + magic.length() > b.length) return false;
        for (int i = 0; i < magic.length(); i++) if ((b[off + i] & 0xFF) != magic.charAt(i)) return false;
        return true;
    }

    private static String ascii(byte[] b, int off, int len) {
        return new String(b, off, Math.min(len, Math.max(0, b.length - off)), StandardCharsets.ISO_8859_1);
    }

    private static String extension(String name) {
        int dot = name.lastIndexOf('.');
        String ext = dot < 0 ? "" : name.substring(dot + 1).toLowerCase(Locale.ROOT);
        return switch (ext) {
            case "wav", "wave" -> "WAV";
            case "flac" -> "FLAC";
            case "mp3" -> "MP3";
            case "ogg", "oga" -> "Ogg Vorbis";
            default -> "";
        };
    }
}
