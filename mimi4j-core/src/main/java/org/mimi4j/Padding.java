package org.mimi4j;

/** How the end of an input that is not a whole number of frames is padded before encoding. */
public enum Padding {
    /**
     * moshi (default): the waveform is zero-padded on the right to a multiple of the frame size (1920 samples),
     * as moshi's {@code MimiModel.encode} does.
     */
    MOSHI,
    /**
     * transformers: each strided convolution zero-pads its own input on the right as needed (the learnt downsample
     * repeats its last value), as transformers' {@code MimiModel.encode} does. Same frame count; the last frame's
     * codes can differ from moshi's when the length is not a multiple of 1920.
     */
    TRANSFORMERS
}
