package org.mimi4j.stream;

/**
 * Receives the latent of every code frame an encoder stream computes, right before quantization (moshi
 * {@code _encode_to_unquantized_latent}, one 12.5 Hz column), in frame order, on the thread that drives the stream.
 */
@FunctionalInterface
public interface LatentListener {
    /** {@code latent} is [D] (512 for the released model) of frame {@code frame} (0-based); the array is not reused. */
    void onLatent(long frame, float[] latent);
}
