package org.mimi4j.audio;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Reading in small chunks, from a stream, or resampled on the fly gives the same samples as one whole read. */
class StreamingTest {
    @TempDir
    Path dir;

    private Path file(String name) throws IOException {
        if (!name.endsWith(".wav")) return CodecFixturesTest.fixture(dir, name);
        return Signals.write(dir, name, Signals.wav(Signals.fixture(44100, 3, 0.3), 44100, 24, 3, false));
    }

    private static float[] readInChunks(AudioSource s, int chunk) throws IOException {
        float[] all = new float[1024];
        float[] buf = new float[chunk + 3];
        int total = 0;
        for (int n; (n = s.read(buf, 3, chunk)) >= 0; total += n) {
            if (total + n > all.length) all = Arrays.copyOf(all, 2 * all.length);
            System.arraycopy(buf, 3, all, total, n);
        }
        assertEquals(-1, s.read(buf, 0, chunk));
        return Arrays.copyOf(all, total);
    }

    @ParameterizedTest
    @ValueSource(strings = {"pcm24-3ch.wav", "stereo16k16.flac", "mono48k24.flac", "stereo44k.mp3", "mono24k.mp3",
            "stereo44k.ogg", "mono24k.ogg"})
    void chunkedReadsEqualWholeReads(String name) throws IOException {
        Path p = file(name);
        Audio whole = AudioIO.readMono(p);
        for (int chunk : new int[] {1, 7, 1000}) {
            try (AudioSource s = AudioIO.open(p)) {
                float[] got = readInChunks(s, chunk);
                assertArrayEquals(whole.samples(), got, name + " in chunks of " + chunk);
                assertEquals(s.durationSamples(), got.length);
            }
        }
        try (AudioSource s = AudioIO.open(Files.newInputStream(p), name)) {
            assertArrayEquals(whole.samples(), readInChunks(s, 333), name + " from a stream");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"pcm24-3ch.wav", "stereo16k16.flac", "stereo44k.mp3", "mono24k.ogg"})
    void resampledOnTheFlyEqualsOneShot(String name) throws IOException {
        Path p = file(name);
        Audio whole = AudioIO.readMono(p);
        float[] want = Resampler.resample(whole.samples(), whole.sampleRate(), 24000);
        try (AudioSource s = AudioIO.resample(AudioIO.open(p), 24000)) {
            assertEquals(24000, s.sampleRate());
            assertEquals(want.length, s.durationSamples());
            assertArrayEquals(want, readInChunks(s, 500));
        }
        Audio a = AudioIO.readMono(p, 24000);
        assertEquals(24000, a.sampleRate());
        assertArrayEquals(want, a.samples());
    }
}
