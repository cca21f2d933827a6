package org.mimi4j.stream;

import org.mimi4j.Mimi;

/**
 * Streaming decoder over a shared, immutable {@link Mimi}: code frames in, 1920 samples (80 ms at 24 kHz) out per
 * frame, with no buffering. All state (conv tails, transformer key/value rings, positions) lives in this object and
 * its size does not grow with the stream. Frames may carry any number of codebooks from 1 to the model's.
 *
 * <pre>{@code
 * MimiDecoderStream dec = mimi.decoderStream();
 * for (int[] frame : incomingFrames) play(dec.push(frame));   // 1920 samples per frame
 * }</pre>
 * or, into a buffer of the caller's, {@code dec.push(frame, buffer, offset)}.
 *
 * Not thread-safe: one thread drives a stream at a time; any number of streams can share the model.
 */
public final class MimiDecoderStream {
    private static final int[] ZERO = {0};
    private final Mimi mimi;
    private final StreamMode mode;
    private Mimi.DecoderState state;
    private long framesIn;

    public MimiDecoderStream(Mimi mimi, StreamMode mode) {
        this.mimi = mimi;
        this.mode = java.util.Objects.requireNonNull(mode, "mode");
        this.state = mimi.newDecoderState(mode.cacheMode());
    }

    private MimiDecoderStream(MimiDecoderStream o) {
        mimi = o.mimi;
        mode = o.mode;
        state = o.state.copy();
        framesIn = o.framesIn;
    }

    /** Package-private: a stream continuing from a batch slot's state (taken, not copied). */
    MimiDecoderStream(Mimi mimi, StreamMode mode, Mimi.DecoderState state, long framesIn) {
        this.mimi = mimi;
        this.mode = mode;
        this.state = state;
        this.framesIn = framesIn;
    }

    /** Decodes one code frame [K] to 1920 samples. */
    public float[] push(int[] frame) {
        return push(new int[][]{frame});
    }

    /** Decodes code frames, frame-major [n][K], to n*1920 samples. */
    public float[] push(int[][] frames) {
        float[] out = new float[frames.length * mimi.frameSize()];
        push(frames, out, 0);
        return out;
    }

    /** Decodes one code frame [K] into {@code out[offset .. offset+1919]} (e.g. an audio line's buffer). */
    public void push(int[] frame, float[] out, int offset) {
        push(new int[][]{frame}, out, offset);
    }

    /** Decodes code frames, frame-major [n][K], into {@code out[offset .. offset+n*1920-1]}. */
    public void push(int[][] frames, float[] out, int offset) {
        for (int[] fr : frames) Frames.checkFrame(mimi, fr);
        int fs = mimi.frameSize();
        Frames.checkRange(out.length, offset, frames.length * fs);
        for (int t0 = 0; t0 < frames.length; ) {
            // one call per run of frames with the same number of codebooks, at most MAX_FRAMES_PER_CALL
            int f = 1;
            while (t0 + f < frames.length && f < Frames.MAX_FRAMES_PER_CALL && frames[t0 + f].length == frames[t0].length) f++;
            mimi.decodeStep(Frames.codebookMajor(frames, t0, f), f, new Mimi.DecoderState[]{state}, null, ZERO, new float[][]{out}, offset + t0 * fs);
            t0 += f;
            framesIn += f;
        }
    }

    /** Starts a new stream on this object: fresh state, positions from 0. */
    public void reset() {
        state = mimi.newDecoderState(mode.cacheMode());
        framesIn = 0;
    }

    /** A snapshot: an independent stream with this stream's state; both continue with the same outputs. */
    public MimiDecoderStream copy() {
        return new MimiDecoderStream(this);
    }

    public Mimi model() {
        return mimi;
    }

    public StreamMode mode() {
        return mode;
    }

    /** Code frames decoded so far. */
    public long framesIn() {
        return framesIn;
    }

    /** Bytes this stream carries between calls; does not grow. */
    public long stateBytes() {
        return state.bytes();
    }

    Mimi.DecoderState stateCopy() {
        return state.copy();
    }
}
