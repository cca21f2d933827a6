package org.mimi4j.audio;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Arrays;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The WAV parser: every supported encoding and layout against the known signal, and its errors. */
class WavReadTest {
    @TempDir
    Path dir;

    static final double[][] STEREO = Signals.fixture(8000, 2, 0.1);

    @ParameterizedTest(name = "{0}-bit PCM in {1} bytes, {2} channels")
    @CsvSource({"8,1,1", "8,1,2", "16,2,1", "16,2,2", "24,3,1", "24,3,2", "32,4,1", "32,4,2", "24,4,2", "12,2,1",
            "16,2,6"})
    void integerPcm(int bits, int bytes, int channels) throws IOException {
        double[][] x = Signals.fixture(8000, channels, 0.1);
        Path p = Signals.write(dir, "x.wav", Signals.wav(x, 8000, bits, bytes, false));
        Audio a = AudioIO.readMono(p);
        assertEquals(8000, a.sampleRate());
        assertEquals(Signals.monoQuantized(x, bits).length, a.samples().length);
        assertEquals(0, Signals.maxAbsDiff(Signals.monoQuantized(x, bits), a.samples()), 1e-6 + Math.pow(2, -bits));
    }

    @ParameterizedTest(name = "{0}-bit float")
    @CsvSource({"4", "8"})
    void ieeeFloat(int bytes) throws IOException {
        Path p = Signals.write(dir, "x.wav", Signals.wav(STEREO, 8000, 8 * bytes, bytes, true));
        assertEquals(0, Signals.maxAbsDiff(Signals.monoQuantized(STEREO, 0), AudioIO.readMono(p).samples()), 1e-7);
    }

    @ParameterizedTest(name = "extensible sub-format {0}, {1} bytes, {2} valid bits")
    @CsvSource({"1,2,16", "1,3,24", "1,4,24", "1,3,20", "3,4,32"})
    void extensible(int subTag, int bytes, int validBits) throws IOException {
        byte[] data = Signals.pcm(STEREO, validBits, bytes, subTag == 3);
        byte[] wav = Signals.riff(Signals.chunk("fmt ", Signals.fmtExtensible(subTag, 2, 8000, bytes, validBits)),
                Signals.chunk("data", data));
        float[] want = Signals.monoQuantized(STEREO, subTag == 3 ? 0 : validBits);
        assertEquals(0, Signals.maxAbsDiff(want, AudioIO.readMono(Signals.write(dir, "x.wav", wav)).samples()), 1e-6);
    }

    @Test
    void stereoIsDownmixedByTheMean() throws IOException {
        double[][] x = {{0.5, -0.5, 0.25}, {0.25, 0.5, -0.75}};
        Audio a = AudioIO.readMono(Signals.write(dir, "x.wav", Signals.wav(x, 16000, 32, 4, true)));
        assertEquals(0, Signals.maxAbsDiff(new float[] {0.375f, 0f, -0.25f}, a.samples()), 0);
    }

    /** An odd-sized chunk written without its pad byte (some writers do): the next chunk is still found, as ffmpeg finds it. */
    @Test
    void oddSizedChunksWithoutTheirPadByte() throws IOException {
        byte[] list = Signals.chunk("LIST", new byte[7]), fmt = Signals.chunk("fmt ", Signals.fmt(1, 2, 8000, 2, 16));
        byte[] unpadded = Arrays.copyOf(list, list.length - 1); // the chunk's 7 bytes, no pad byte after them
        byte[] wav = Signals.riff(unpadded, fmt, Signals.chunk("data", Signals.pcm(STEREO, 16, 2, false)));
        try (AudioSource s = AudioIO.open(Signals.write(dir, "x.wav", wav))) {
            assertEquals(800, s.durationSamples());
            assertEquals(0, Signals.maxAbsDiff(Signals.monoQuantized(STEREO, 16), AudioIO.readAll(s).samples()), 1e-6);
        }
        // the same after the fmt chunk, before the data
        byte[] wav2 = Signals.riff(fmt, unpadded, Signals.chunk("data", Signals.pcm(STEREO, 16, 2, false)));
        assertEquals(0, Signals.maxAbsDiff(Signals.monoQuantized(STEREO, 16), AudioIO.readMono(Signals.write(dir, "y.wav", wav2)).samples()), 1e-6);
    }

    @Test
    void otherChunksAreSkippedIncludingOddSizedOnes() throws IOException {
        byte[] wav = Signals.riff(Signals.chunk("LIST", new byte[7]), Signals.chunk("fmt ", Signals.fmt(1, 2, 8000, 2, 16)),
                Signals.chunk("fact", new byte[4]), Signals.chunk("data", Signals.pcm(STEREO, 16, 2, false)),
                Signals.chunk("id3 ", new byte[33]));
        try (AudioSource s = AudioIO.open(Signals.write(dir, "x.wav", wav))) {
            assertEquals("WAV", s.formatName());
            assertEquals(2, s.channels());
            assertEquals(800, s.durationSamples());
            assertEquals(0, Signals.maxAbsDiff(Signals.monoQuantized(STEREO, 16), AudioIO.readAll(s).samples()), 1e-6);
        }
    }

    @Test
    void unknownDataSizeMeansUpToTheEnd() throws IOException {
        byte[] wav = Signals.wav(STEREO, 8000, 16, 2, false);
        ByteBuffer.wrap(wav).order(ByteOrder.LITTLE_ENDIAN).putInt(40, -1);
        try (AudioSource s = AudioIO.open(new ByteArrayInputStream(wav), "stream.wav")) {
            assertEquals(-1, s.durationSamples());
            assertEquals(800, AudioIO.readAll(s).samples().length);
        }
    }

    @Test
    void rf64() throws IOException {
        byte[] data = Signals.pcm(STEREO, 16, 2, false);
        byte[] ds64 = ByteBuffer.allocate(28).order(ByteOrder.LITTLE_ENDIAN).putLong(0).putLong(data.length)
                .putLong(800).putInt(0).array();
        byte[] wav = Signals.riff(Signals.chunk("ds64", ds64), Signals.chunk("fmt ", Signals.fmt(1, 2, 8000, 2, 16)),
                Signals.chunk("data", data));
        ByteBuffer b = ByteBuffer.wrap(wav).order(ByteOrder.LITTLE_ENDIAN);
        b.put(0, "RF64".getBytes()).putInt(4, -1).putInt(wav.length - data.length - 4, -1);
        Audio a = AudioIO.readMono(Signals.write(dir, "x.wav", wav));
        assertEquals(0, Signals.maxAbsDiff(Signals.monoQuantized(STEREO, 16), a.samples()), 1e-6);
    }

    // ---- errors ----

    @Test
    void truncatedDataIsReportedAtOpenForAFile() throws IOException {
        byte[] wav = Signals.wav(STEREO, 8000, 16, 2, false);
        Path p = Signals.write(dir, "cut.wav", Arrays.copyOf(wav, wav.length - 1000));
        AudioFormatException e = assertThrows(AudioFormatException.class, () -> AudioIO.open(p));
        assertEquals(p + ": truncated: the data chunk should hold 800 samples but the file ends after 550", e.getMessage());
    }

    @Test
    void truncatedDataIsReportedAtTheEndForAStream() throws IOException {
        byte[] wav = Signals.wav(STEREO, 8000, 16, 2, false);
        try (AudioSource s = AudioIO.open(new ByteArrayInputStream(Arrays.copyOf(wav, wav.length - 1000)), "cut.wav")) {
            float[] buf = new float[100];
            int got = 0;
            AudioFormatException e = null;
            try {
                for (int n; (n = s.read(buf)) > 0; ) got += n;
            } catch (AudioFormatException x) {
                e = x;
            }
            assertEquals(550, got);
            assertEquals("cut.wav: truncated or corrupt: the audio stops after 550 of its 800 samples", e.getMessage());
        }
    }

    @ParameterizedTest(name = "{1}")
    @CsvSource(delimiter = '|', value = {
            "6|a-law WAV is not supported (only PCM and IEEE float)",
            "7|mu-law WAV is not supported (only PCM and IEEE float)",
            "2|Microsoft ADPCM WAV is not supported (only PCM and IEEE float)",
            "85|MP3 WAV is not supported (only PCM and IEEE float)",
            "4660|format 0x1234 WAV is not supported (only PCM and IEEE float)"})
    void unsupportedEncodings(int tag, String message) throws IOException {
        byte[] wav = Signals.riff(Signals.chunk("fmt ", Signals.fmt(tag, 1, 8000, 1, 8)), Signals.chunk("data", new byte[100]));
        assertError("x.wav", wav, message);
    }

    @Test
    void badHeaders() throws IOException {
        byte[] data = Signals.chunk("data", new byte[100]);
        assertError("a.wav", Signals.riff(data), "corrupt WAV: the data chunk comes before any fmt chunk");
        assertError("b.wav", Signals.riff(Signals.chunk("fmt ", Signals.fmt(1, 0, 8000, 2, 16)), data), "corrupt WAV: 0 channels");
        assertError("c.wav", Signals.riff(Signals.chunk("fmt ", Signals.fmt(1, 1, 0, 2, 16)), data), "corrupt WAV: sample rate 0");
        assertError("d.wav", Signals.riff(Signals.chunk("fmt ", Signals.fmt(3, 1, 8000, 2, 16)), data),
                "16-bit float WAV is not supported (only 32 and 64-bit float)");
        assertError("e.wav", Signals.riff(Signals.chunk("fmt ", Signals.fmt(1, 1, 8000, 8, 64)), data),
                "64-bit PCM in 64-bit samples is not supported (8 to 32-bit PCM)");
        assertError("f.wav", Signals.riff(Signals.chunk("fmt ", Signals.fmt(1, 1, 8000, 2, 16)), Signals.chunk("data", new byte[0])),
                "contains no audio samples");
        assertError("g.wav", Arrays.copyOf(Signals.riff(Signals.chunk("fmt ", Signals.fmt(1, 1, 8000, 2, 16))), 30),
                "truncated: the '" + "fmt" + "' chunk runs past the end of the file");
        assertError("h.wav", Signals.riff(Signals.chunk("fmt ", Signals.fmt(1, 1, 8000, 2, 16))),
                "truncated: the file ends inside the data chunk");
    }

    private void assertError(String name, byte[] bytes, String problem) throws IOException {
        Path p = Signals.write(dir, name, bytes);
        AudioFormatException e = assertThrows(AudioFormatException.class, () -> AudioIO.readMono(p));
        assertEquals(p + ": " + problem, e.getMessage());
        assertTrue(!e.getMessage().contains("\n"));
    }
}
