package org.mimi4j.audio;

import java.io.IOException;

/**
 * A stream of mono float samples decoded from an audio file, read in chunks so that a long file is never held in
 * memory. Multi-channel audio is downmixed by the mean of the channels; samples are nominally in [-1, 1].
 * Decoding errors surface as {@link AudioFormatException}, also from {@link #read} when the damage is found late
 * (a truncated file ends before its header said it would). Not thread-safe.
 */
public interface AudioSource extends AutoCloseable {
    /** Samples per second of what {@link #read} returns. */
    int sampleRate();

    /** Channels in the file, before the downmix. */
    int channels();

    /** "WAV", "FLAC", "MP3" or "Ogg Vorbis". */
    String formatName();

    /** Number of mono samples {@link #read} will return in total, or -1 when the file does not say. */
    long durationSamples();

    /**
     * Reads up to {@code len} samples into {@code buf[off..]}, blocking until at least one is available.
     *
     * @return the number of samples read, at least 1 when {@code len > 0}, or -1 at the end of the audio
     */
    int read(float[] buf, int off, int len) throws IOException;

    default int read(float[] buf) throws IOException {
        return read(buf, 0, buf.length);
    }

    @Override
    void close() throws IOException;
}
