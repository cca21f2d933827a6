package org.mimi4j;

import java.io.IOException;

/** Receives decoded samples chunk by chunk (e.g. a WAV writer): lets decode run in bounded memory. */
@FunctionalInterface
public interface SampleSink {
    void write(float[] buf, int off, int len) throws IOException;
}
