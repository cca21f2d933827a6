package org.mimi4j.audio;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Entry point for reading users' audio files: WAV, FLAC, MP3 and Ogg Vorbis, recognized from their content.
 * Everything comes out mono (the mean of the channels) as floats nominally in [-1, 1].
 */
public final class AudioIO {
    private AudioIO() {
    }

    /** Opens a file for streaming reads. Bad files raise {@link AudioFormatException} naming {@code path}. */
    public static AudioSource open(Path path) throws IOException {
        String name = path.toString();
        if (Files.isDirectory(path)) throw new AudioFormatException(name + ": is a directory, not an audio file");
        if (!Files.exists(path)) throw new AudioFormatException(name + ": no such file");
        if (!Files.isReadable(path)) throw new AudioFormatException(name + ": permission denied");
        long size = Files.size(path);
        if (size == 0) throw new AudioFormatException(name + ": empty file");
        return Formats.open(Files.newInputStream(path), name, size, path);
    }

    /**
     * Opens a stream for streaming reads; {@code nameForErrors} starts the messages of errors. The returned source
     * owns {@code in} and closes it (so does a failure here).
     */
    public static AudioSource open(InputStream in, String nameForErrors) throws IOException {
        return Formats.open(in, nameForErrors, -1, null);
    }

    /** A view of {@code source} converted to {@code sampleRate} while reading; the same source if it already is. */
    public static AudioSource resample(AudioSource source, int sampleRate) {
        return source.sampleRate() == sampleRate ? source : new ResampledSource(source, sampleRate);
    }

    /**
     * The same, for a user's file named {@code nameForErrors}: a rate too far from {@code sampleRate} to convert is an
     * {@link AudioFormatException} naming the file (and {@code source} is closed).
     */
    public static AudioSource resample(AudioSource source, int sampleRate, String nameForErrors) throws IOException {
        int rate = source.sampleRate();
        if (!Resampler.supports(rate, sampleRate)) {
            source.close();
            throw new AudioFormatException(nameForErrors + ": sample rate " + rate + " Hz cannot be converted to " + sampleRate + " Hz (supported: "
                    + Math.ceilDiv(sampleRate, 256) + " to " + 256L * sampleRate + " Hz)");
        }
        return resample(source, sampleRate);
    }

    /** Reads a whole (small) file into memory, at its own sample rate. */
    public static Audio readMono(Path path) throws IOException {
        try (AudioSource source = open(path)) {
            return readAll(source);
        }
    }

    /** Reads a whole (small) file into memory, converted to {@code sampleRate} (24000 for Mimi). */
    public static Audio readMono(Path path, int sampleRate) throws IOException {
        try (AudioSource source = resample(open(path), sampleRate, path.toString())) {
            return readAll(source);
        }
    }

    /** Reads what is left of {@code source} into memory; does not close it. */
    public static Audio readAll(AudioSource source) throws IOException {
        Audio a = readAtMost(source, Integer.MAX_VALUE - 9);
        if (a == null) throw new AudioFormatException(source + ": too long to hold in memory");
        return a;
    }

    /**
     * Reads what is left of {@code source} into memory if it is at most {@code maxSamples} (reading one past them to
     * know), else null; does not close it.
     */
    public static Audio readAtMost(AudioSource source, int maxSamples) throws IOException {
        int cap = (int) Math.min(maxSamples + 1L, Integer.MAX_VALUE - 8);
        long known = source.durationSamples();
        float[] samples = new float[(int) Math.clamp(known + 1, Math.min(1 << 12, cap), Math.min(1 << 24, cap))];
        int n = 0;
        while (true) {
            if (n == samples.length) {
                if (n == cap) return null;
                samples = Arrays.copyOf(samples, (int) Math.min(2L * n, cap));
            }
            int r = source.read(samples, n, samples.length - n);
            if (r < 0) break;
            n += r;
        }
        return new Audio(n == samples.length ? samples : Arrays.copyOf(samples, n), source.sampleRate());
    }
}
