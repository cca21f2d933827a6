package org.mimi4j.cli;

import org.mimi4j.SampleSource;
import org.mimi4j.audio.AudioIO;
import org.mimi4j.audio.AudioSource;

import java.io.IOException;
import java.nio.file.Path;

/** An audio file opened for the model: decoded, downmixed, resampled to the model's rate, read in chunks. */
final class AudioInput implements AutoCloseable {
    final Path path;
    final AudioSource original;
    final AudioSource source;
    long samples; // samples read so far, at the model's rate

    AudioInput(Path path, int sampleRate) throws IOException {
        this.path = path;
        original = AudioIO.open(path);
        source = AudioIO.resample(original, sampleRate, path.toString());
    }

    /** The file as a {@link SampleSource} for the model, counting samples. */
    SampleSource samples() {
        return (buf, off, len) -> {
            int n = source.read(buf, off, len);
            if (n > 0) samples += n;
            return n;
        };
    }

    int sourceRate() {
        return original.sampleRate();
    }

    @Override
    public void close() throws IOException {
        source.close();
    }
}
