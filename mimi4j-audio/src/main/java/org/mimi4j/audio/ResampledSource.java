package org.mimi4j.audio;

import java.io.IOException;
import java.util.Objects;

/** An {@link AudioSource} converted to another sample rate on the fly by a {@link Resampler}. */
final class ResampledSource implements AudioSource {
    private final AudioSource source;
    private final Resampler resampler;
    private final float[] input = new float[8192];
    private float[] pending = new float[0];
    private int pendingPos;
    private boolean done;

    ResampledSource(AudioSource source, int sampleRate) {
        this.source = source;
        this.resampler = new Resampler(source.sampleRate(), sampleRate);
    }

    @Override
    public int read(float[] buf, int off, int len) throws IOException {
        Objects.checkFromIndexSize(off, len, buf.length);
        if (len == 0) return 0;
        while (pendingPos == pending.length) {
            if (done) return -1;
            int n = source.read(input);
            if (n < 0) {
                done = true;
                pending = resampler.flush();
            } else {
                pending = resampler.process(input, n);
            }
            pendingPos = 0;
        }
        int n = Math.min(len, pending.length - pendingPos);
        System.arraycopy(pending, pendingPos, buf, off, n);
        pendingPos += n;
        return n;
    }

    @Override
    public int sampleRate() {
        return resampler.outRate();
    }

    @Override
    public int channels() {
        return source.channels();
    }

    @Override
    public String formatName() {
        return source.formatName();
    }

    @Override
    public long durationSamples() {
        long d = source.durationSamples();
        long in = resampler.inRate();
        return d < 0 ? -1 : Math.floorDiv(2 * d * resampler.outRate() + in, 2 * in);
    }

    @Override
    public void close() throws IOException {
        done = true;
        pending = new float[0];
        pendingPos = 0;
        source.close();
    }

    @Override
    public String toString() {
        return source + " resampled to " + sampleRate() + " Hz";
    }
}
