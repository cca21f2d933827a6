package org.mimi4j;

import java.io.IOException;

/** A pull source of mono samples at the model's rate (e.g. a decoder of a long file): lets encode run in bounded memory. */
@FunctionalInterface
public interface SampleSource {
    /** Reads up to len samples into buf[off..]; returns how many, or -1 at the end. */
    int read(float[] buf, int off, int len) throws IOException;

    static SampleSource of(float[] samples) {
        int[] pos = {0};
        return (buf, off, len) -> {
            if (pos[0] >= samples.length) return -1;
            int n = Math.min(len, samples.length - pos[0]);
            System.arraycopy(samples, pos[0], buf, off, n);
            pos[0] += n;
            return n;
        };
    }
}
