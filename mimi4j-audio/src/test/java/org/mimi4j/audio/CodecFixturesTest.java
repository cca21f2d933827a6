package org.mimi4j.audio;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The committed FLAC, MP3 and Ogg Vorbis fixtures (made by reference encoders) against the signal they encode. */
class CodecFixturesTest {
    @TempDir
    Path dir;

    static Path fixture(Path dir, String name) {
        try (InputStream in = CodecFixturesTest.class.getResourceAsStream("/fixtures/" + name)) {
            Path p = dir.resolve(name);
            Files.copy(in, p);
            return p;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static float[] expected(int rate, int channels, double seconds, int bits) {
        return Signals.monoQuantized(Signals.fixture(rate, channels, seconds), bits);
    }

    @Test
    void flac16BitStereoIsLossless() throws IOException {
        try (AudioSource s = AudioIO.open(fixture(dir, "stereo16k16.flac"))) {
            assertEquals("FLAC", s.formatName());
            assertEquals(16000, s.sampleRate());
            assertEquals(2, s.channels());
            assertEquals(4000, s.durationSamples());
            Audio a = AudioIO.readAll(s);
            assertEquals(0, Signals.maxAbsDiff(expected(16000, 2, 0.25, 16), a.samples()), 1.01 / 32768);
        }
    }

    @Test
    void flac24BitMonoIsLossless() throws IOException {
        Audio a = AudioIO.readMono(fixture(dir, "mono48k24.flac"));
        assertEquals(48000, a.sampleRate());
        assertEquals(0, Signals.maxAbsDiff(expected(48000, 1, 0.1, 24), a.samples()), 1.01 / (1 << 23));
    }

    @Test
    void mp3Stereo44kIsGaplessAndClose() throws IOException {
        checkLossy("stereo44k.mp3", "MP3", 44100, 2, 0.5, 15);
    }

    @Test
    void mp3Mpeg2Mono24kIsGaplessAndClose() throws IOException {
        checkLossy("mono24k.mp3", "MP3", 24000, 1, 0.5, 15);
    }

    @Test
    void vorbisStereo44kIsAlignedAndClose() throws IOException {
        checkLossy("stereo44k.ogg", "Ogg Vorbis", 44100, 2, 0.5, 15);
    }

    @Test
    void vorbisMono24kIsAlignedAndClose() throws IOException {
        checkLossy("mono24k.ogg", "Ogg Vorbis", 24000, 1, 0.5, 15);
    }

    /** Same length, no time shift, a decent SNR and the tone where it should be. */
    private void checkLossy(String name, String format, int rate, int channels, double seconds, double minSnr)
            throws IOException {
        float[] want = expected(rate, channels, seconds, 16);
        Audio a;
        try (AudioSource s = AudioIO.open(fixture(dir, name))) {
            assertEquals(format, s.formatName());
            assertEquals(rate, s.sampleRate());
            assertEquals(channels, s.channels());
            assertEquals(want.length, s.durationSamples());
            a = AudioIO.readAll(s);
        }
        float[] got = a.samples();
        assertEquals(want.length, got.length, "length");
        assertEquals(0, Signals.bestLag(want, got, 2000), "time shift");
        double snr = Signals.snr(want, got, rate / 20, got.length - rate / 20);
        System.out.printf("%s: SNR %.1f dB%n", name, snr);
        assertTrue(snr > minSnr, name + ": SNR " + snr);
        assertEquals(440, Signals.dominantFrequency(got, rate, 300, 600), 2);
    }
}
