package org.mimi4j.audio;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Writes the WAV sources of the committed FLAC/MP3/Ogg fixtures (see src/test/resources/README.md):
 * {@code java -cp target/classes:target/test-classes org.mimi4j.audio.MakeFixtures DIR}.
 */
public final class MakeFixtures {
    /** name, rate, channels, bits, seconds of each source */
    static final Object[][] SOURCES = {
            {"stereo16k16", 16000, 2, 16, 0.25},
            {"mono48k24", 48000, 1, 24, 0.1},
            {"stereo44k16", 44100, 2, 16, 0.5},
            {"mono24k16", 24000, 1, 16, 0.5},
    };

    public static void main(String[] args) throws IOException {
        Path dir = Files.createDirectories(Path.of(args[0]));
        for (Object[] s : SOURCES) {
            int rate = (int) s[1], channels = (int) s[2], bits = (int) s[3];
            double[][] x = Signals.fixture(rate, channels, (double) s[4]);
            Signals.write(dir, s[0] + ".wav", Signals.wav(x, rate, bits, bits / 8, false));
        }
    }
}
