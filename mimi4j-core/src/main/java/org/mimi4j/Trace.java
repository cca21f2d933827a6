package org.mimi4j;

/**
 * Receives the intermediate tensors of encode and decode, for inspection and tests. Names (upstream meaning):
 * {@code seanet_out} SEANet encoder output [D][2T]; {@code enc_transformer_out} [D][2T]; {@code emb} latent before
 * quantization [D][T]; {@code latent} quantizer decode incl. output projections [D][T]; {@code dec_upsampled} after
 * the depthwise upsample [D][2T]; {@code dec_transformer_out} [D][2T]. Long inputs arrive in consecutive chunks:
 * {@code data} is channel-major [channels][steps] holding steps {@code offset .. offset+steps-1} of batch item
 * {@code item}; it is valid during the call only (copy what you keep).
 */
@FunctionalInterface
public interface Trace {
    void record(String name, int item, int offset, float[] data, int channels, int steps);
}
