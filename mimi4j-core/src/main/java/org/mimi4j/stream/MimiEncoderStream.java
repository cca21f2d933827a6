package org.mimi4j.stream;

import org.mimi4j.Mimi;

import java.util.ArrayList;
import java.util.List;

/**
 * Streaming encoder over a shared, immutable {@link Mimi}: 24 kHz mono PCM chunks of any length in, code frames out.
 * A chunk returns the frames it completed (zero or more; one frame per 1920 samples); {@link #end()} zero-pads the
 * last partial frame as offline encode does and returns its frame. All state (conv tails, transformer key/value rings,
 * positions, up to 1919 pending samples) lives in this object and its size does not grow with the stream.
 *
 * <pre>{@code
 * MimiEncoderStream enc = mimi.encoderStream(8);       // upstream streaming semantics
 * for (float[] chunk : microphone) {
 *     for (int[] frame : enc.push(chunk)) send(frame);  // frame: [8] codes, 80 ms of audio
 * }
 * for (int[] frame : enc.end()) send(frame);
 * }</pre>
 *
 * Results do not depend on how the audio is cut into chunks. Not thread-safe: one thread drives a stream at a time;
 * any number of streams (on any threads) can share the model.
 */
public final class MimiEncoderStream {
    private static final int[][] NONE = new int[0][];
    private final Mimi mimi;
    private final int numQuantizers;
    private final StreamMode mode;
    private final int frameSize;
    private Mimi.EncoderState state;
    private final float[] pending; // the current partial frame
    private float[] frames;        // whole frames of a push from an offset, the encoder's input (reused, not state)
    private int fill;
    private boolean ended;
    private long framesOut, samplesIn;
    private LatentListener listener;

    public MimiEncoderStream(Mimi mimi, int numQuantizers, StreamMode mode) {
        if (numQuantizers < 1 || numQuantizers > mimi.totalCodebooks()) {
            throw new org.mimi4j.InvalidInputException("num_quantizers must be in 1.." + mimi.totalCodebooks() + ", got " + numQuantizers);
        }
        this.mimi = mimi;
        this.numQuantizers = numQuantizers;
        this.mode = java.util.Objects.requireNonNull(mode, "mode");
        this.frameSize = mimi.frameSize();
        this.pending = new float[frameSize];
        this.state = mimi.newEncoderState(mode.cacheMode());
    }

    private MimiEncoderStream(MimiEncoderStream o) {
        mimi = o.mimi;
        numQuantizers = o.numQuantizers;
        mode = o.mode;
        frameSize = o.frameSize;
        state = o.state.copy();
        pending = o.pending.clone();
        fill = o.fill;
        ended = o.ended;
        framesOut = o.framesOut;
        samplesIn = o.samplesIn;
        listener = o.listener;
    }

    /** Package-private: a stream continuing from a batch slot's state (the state is taken, not copied). */
    MimiEncoderStream(Mimi mimi, int numQuantizers, StreamMode mode, Mimi.EncoderState state, float[] partial, int fill,
                      boolean ended, long framesOut, long samplesIn, LatentListener listener) {
        this(mimi, numQuantizers, mode);
        this.state = state;
        System.arraycopy(partial, 0, pending, 0, fill);
        this.fill = fill;
        this.ended = ended;
        this.framesOut = framesOut;
        this.samplesIn = samplesIn;
        this.listener = listener;
    }

    /** Pushes a chunk (any length, also 0); returns the code frames it completed, frame-major [n][K]. */
    public int[][] push(float[] pcm) {
        return push(pcm, 0, pcm.length);
    }

    /** Pushes {@code pcm[offset .. offset+length-1]}; returns the code frames completed, frame-major [n][K]. */
    public int[][] push(float[] pcm, int offset, int length) {
        if (ended) throw new IllegalStateException("the stream has ended; reset() it to start a new one");
        Frames.checkRange(pcm.length, offset, length);
        Frames.checkFinite(pcm, offset, length, samplesIn);
        samplesIn += length;
        List<int[][]> out = new ArrayList<>(2);
        if (fill > 0) { // complete the pending frame first
            int n = Math.min(length, frameSize - fill);
            System.arraycopy(pcm, offset, pending, fill, n);
            fill += n;
            offset += n;
            length -= n;
            if (fill == frameSize) {
                out.add(compute(pending, 1)); // read, not kept
                fill = 0;
            }
        }
        while (length >= frameSize) { // whole frames from the caller's array
            int f = Math.min(Frames.MAX_FRAMES_PER_CALL, length / frameSize);
            float[] x = pcm; // the encoder reads samples 0 .. f*1920-1 of its input
            if (offset > 0) {
                if (frames == null || frames.length < f * frameSize) frames = new float[f * frameSize];
                System.arraycopy(pcm, offset, x = frames, 0, f * frameSize);
            }
            out.add(compute(x, f));
            offset += f * frameSize;
            length -= f * frameSize;
        }
        System.arraycopy(pcm, offset, pending, fill, length);
        fill += length;
        return concat(out);
    }

    /**
     * Ends the stream: a pending partial frame is zero-padded to 1920 samples (as offline encode pads the input) and
     * its code frame returned; returns no frame when the samples pushed were a whole number of frames.
     * Further pushes fail until {@link #reset()}.
     */
    public int[][] end() {
        if (ended) return NONE;
        ended = true;
        if (fill == 0) return NONE;
        java.util.Arrays.fill(pending, fill, frameSize, 0f);
        fill = 0;
        return compute(pending, 1);
    }

    private int[][] compute(float[] x, int f) {
        int[][] codes = Frames.encode(mimi, new float[][]{x}, f, new Mimi.EncoderState[]{state}, new int[]{numQuantizers},
                new LatentListener[]{listener}, new long[]{framesOut})[0];
        framesOut += f;
        return codes;
    }

    private static int[][] concat(List<int[][]> parts) {
        if (parts.isEmpty()) return NONE;
        if (parts.size() == 1) return parts.get(0);
        int n = 0;
        for (int[][] p : parts) n += p.length;
        int[][] out = new int[n][];
        int i = 0;
        for (int[][] p : parts) for (int[] fr : p) out[i++] = fr;
        return out;
    }

    /** Starts a new stream on this object: fresh state (positions from 0), nothing pending. */
    public void reset() {
        state = mimi.newEncoderState(mode.cacheMode());
        fill = 0;
        ended = false;
        framesOut = 0;
        samplesIn = 0;
    }

    /**
     * A snapshot: an independent stream with this stream's state, pending samples and listener. Both can continue
     * and give the same outputs for the same input.
     */
    public MimiEncoderStream copy() {
        return new MimiEncoderStream(this);
    }

    /** Receives the latent of each frame computed from now on (null: none). */
    public MimiEncoderStream latentListener(LatentListener l) {
        this.listener = l;
        return this;
    }

    public Mimi model() {
        return mimi;
    }

    public int numQuantizers() {
        return numQuantizers;
    }

    public StreamMode mode() {
        return mode;
    }

    /** Code frames returned so far. */
    public long framesOut() {
        return framesOut;
    }

    /** Samples pushed so far. */
    public long samplesIn() {
        return samplesIn;
    }

    /** Samples waiting for their frame to complete (0..1919). */
    public int pendingSamples() {
        return fill;
    }

    public boolean isEnded() {
        return ended;
    }

    /** Bytes this stream carries between calls (model state and the pending partial frame); does not grow. */
    public long stateBytes() {
        return state.bytes() + 4L * pending.length;
    }

    // for EncoderBatch.join(stream)
    Mimi.EncoderState stateCopy() {
        return state.copy();
    }

    float[] pendingCopy() {
        return java.util.Arrays.copyOf(pending, fill);
    }

    LatentListener listener() {
        return listener;
    }
}
