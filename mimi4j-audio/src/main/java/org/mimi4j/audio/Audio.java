package org.mimi4j.audio;

/** Mono audio held in memory: samples nominally in [-1, 1] at {@code sampleRate} Hz. */
public record Audio(float[] samples, int sampleRate) {
    public Audio {
        if (sampleRate <= 0) throw new IllegalArgumentException("sample rate must be positive: " + sampleRate);
    }

    public double durationSeconds() {
        return samples.length / (double) sampleRate;
    }
}
