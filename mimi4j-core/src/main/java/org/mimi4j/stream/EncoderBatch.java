package org.mimi4j.stream;

import org.mimi4j.Mimi;

import java.util.ArrayList;
import java.util.List;

/**
 * Many encoder streams stepped together over one shared model: each {@link #step()} runs one batched compute (each
 * layer's GEMM shared by all streams) that encodes exactly one frame for every stream with a frame ready; streams
 * with nothing ready are skipped (moshi's exec mask), so streams need not be in sync. Streams {@link #join()} and
 * {@link Slot#leave()} at any time; a freed slot is reused by the next join with a fresh state. Each stream has its own
 * number of codebooks ({@link #join(int)}; the batch's default otherwise): one step computes the shared layers for all
 * of them and quantizes each stream's latent with its own count. Each stream's codes are identical to running it
 * alone as a {@link MimiEncoderStream}.
 *
 * <pre>{@code
 * EncoderBatch batch = mimi.encoderBatch(64, 8);
 * EncoderBatch.Slot s = batch.join();
 * s.push(pcm);                      // any length; buffered
 * batch.step();                     // one frame for every stream that has 1920 samples buffered
 * for (int[] frame : s.poll()) send(frame);
 * s.end(); batch.drain(); s.poll(); s.leave();
 * }</pre>
 *
 * Not thread-safe: one thread drives a batch (its slots included).
 */
public final class EncoderBatch extends SlotBatch<EncoderBatch.Slot> {
    private final Mimi mimi;
    private final int numQuantizers; // the default of join()
    private final StreamMode mode;
    private final int frameSize;
    private float[][] frames = new float[0][]; // the frames of a step, reused from step to step (read, not kept)

    /** A batch whose streams have {@code numQuantizers} codebooks unless they join with another count. */
    public EncoderBatch(Mimi mimi, int capacity, int numQuantizers, StreamMode mode) {
        super(new Slot[Math.max(capacity, 0)]);
        this.mimi = mimi;
        this.numQuantizers = checkCodebooks(mimi, numQuantizers);
        this.mode = java.util.Objects.requireNonNull(mode, "mode");
        this.frameSize = mimi.frameSize();
    }

    private static int checkCodebooks(Mimi mimi, int numQuantizers) {
        if (numQuantizers < 1 || numQuantizers > mimi.totalCodebooks()) {
            throw new org.mimi4j.InvalidInputException("num_quantizers must be in 1.." + mimi.totalCodebooks() + ", got " + numQuantizers);
        }
        return numQuantizers;
    }

    /**
     * A new stream of the batch's number of codebooks in the first free slot, fresh state (positions from 0). Fails
     * when all slots are taken.
     */
    public Slot join() {
        return join(numQuantizers);
    }

    /** A new stream of {@code numQuantizers} codebooks (1 to all of the model's), as {@link #join()}. */
    public Slot join(int numQuantizers) {
        checkCodebooks(mimi, numQuantizers);
        return place(mimi.newEncoderState(mode.cacheMode()), numQuantizers, mode, new float[0], false, 0, 0, null);
    }

    /**
     * Moves a copy of a solo stream's state (and its pending samples, listener and number of codebooks) into a free
     * slot; the stream continues in the batch with the same results. {@code stream} itself is left untouched.
     */
    public Slot join(MimiEncoderStream stream) {
        if (stream.model() != mimi) throw new IllegalArgumentException("the stream runs on another model");
        return place(stream.stateCopy(), stream.numQuantizers(), stream.mode(), stream.pendingCopy(), stream.isEnded(), stream.framesOut(),
                stream.samplesIn(), stream.listener());
    }

    private Slot place(Mimi.EncoderState st, int nq, StreamMode m, float[] queued, boolean ended, long framesOut, long samplesIn, LatentListener l) {
        int i = freeSlot();
        Slot s = new Slot(i, st, nq, m);
        s.append(queued, 0, queued.length);
        s.ended = ended;
        s.framesOut = framesOut;
        s.samplesIn = samplesIn;
        s.listener = l;
        slots[i] = s;
        return s;
    }

    @Override
    public int ready() {
        int n = 0;
        for (Slot s : slots) if (s != null && s.ready()) n++;
        return n;
    }

    /**
     * One batched compute: encodes one frame for every stream with 1920 samples buffered, or with a partial frame
     * after {@link Slot#end()} (zero-padded). Returns how many streams were stepped (0: nothing was ready).
     */
    @Override
    public int step() {
        List<Slot> ready = new ArrayList<>();
        for (Slot s : slots) if (s != null && s.ready()) ready.add(s);
        int n = ready.size();
        if (n == 0) return 0;
        if (frames.length < n) {
            float[][] grown = java.util.Arrays.copyOf(frames, n);
            for (int b = frames.length; b < n; b++) grown[b] = new float[frameSize];
            frames = grown;
        }
        float[][] x = n == frames.length ? frames : java.util.Arrays.copyOf(frames, n);
        Mimi.EncoderState[] st = new Mimi.EncoderState[n];
        int[] nq = new int[n];
        LatentListener[] ls = new LatentListener[n];
        long[] f0 = new long[n];
        for (int b = 0; b < n; b++) {
            Slot s = ready.get(b);
            s.take(x[b]);
            st[b] = s.state;
            nq[b] = s.numQuantizers;
            ls[b] = s.listener;
            f0[b] = s.framesOut;
        }
        int[][][] codes = Frames.encode(mimi, x, 1, st, nq, ls, f0);
        for (int b = 0; b < n; b++) {
            Slot s = ready.get(b);
            s.out.add(codes[b][0]);
            s.framesOut++;
        }
        steps++;
        return n;
    }

    /** The number of codebooks of the streams that {@link #join()} without one. */
    public int numQuantizers() {
        return numQuantizers;
    }

    /** One stream of the batch. Its handle becomes invalid after {@link #leave()}. */
    public final class Slot {
        private final int index;
        private final Mimi.EncoderState state;
        private final int numQuantizers;
        private final StreamMode slotMode;
        private float[] queue = new float[0];
        private int head, size;
        private boolean ended, left;
        private long framesOut, samplesIn;
        private LatentListener listener;
        private final List<int[]> out = new ArrayList<>();

        private Slot(int index, Mimi.EncoderState state, int numQuantizers, StreamMode mode) {
            this.index = index;
            this.state = state;
            this.numQuantizers = numQuantizers;
            this.slotMode = mode;
        }

        /** Buffers a chunk of any length; frames are computed by {@link EncoderBatch#step()}. */
        public void push(float[] pcm) {
            push(pcm, 0, pcm.length);
        }

        public void push(float[] pcm, int offset, int length) {
            check();
            if (ended) throw new IllegalStateException("the stream has ended");
            Frames.checkRange(pcm.length, offset, length);
            Frames.checkFinite(pcm, offset, length, samplesIn);
            append(pcm, offset, length);
            samplesIn += length;
        }

        private void append(float[] pcm, int offset, int length) {
            if (head + size + length > queue.length) {
                float[] q = size + length > queue.length ? new float[Math.max(2 * queue.length, size + length)] : queue;
                System.arraycopy(queue, head, q, 0, size);
                queue = q;
                head = 0;
            }
            System.arraycopy(pcm, offset, queue, head + size, length);
            size += length;
        }

        /** Ends the stream: a remaining partial frame is zero-padded and encoded by the next step. */
        public void end() {
            check();
            ended = true;
        }

        /** The code frames computed since the last poll, frame-major [n][K]. */
        public int[][] poll() {
            check();
            int[][] r = out.toArray(new int[0][]);
            out.clear();
            return r;
        }

        /** Whether the next step computes a frame for this stream. */
        public boolean ready() {
            return !left && (size >= frameSize || (ended && size > 0));
        }

        /** Ended and every frame computed (the last ones may still wait in {@link #poll()}). */
        public boolean finished() {
            return ended && size == 0;
        }

        private void take(float[] x) {
            int n = Math.min(frameSize, size);
            System.arraycopy(queue, head, x, 0, n);
            java.util.Arrays.fill(x, n, frameSize, 0f); // the end-of-stream padding
            head += n;
            size -= n;
            if (size == 0) head = 0;
        }

        /** Frees the slot for the next {@link EncoderBatch#join()}; frames not yet polled are dropped. */
        public void leave() {
            check();
            left = true;
            slots[index] = null;
        }

        /**
         * A solo stream continuing this one (a copy of its state and of fewer than 1920 buffered samples); fails when
         * a whole frame is still buffered (step first).
         */
        public MimiEncoderStream toStream() {
            check();
            if (size >= frameSize || (ended && size > 0)) throw new IllegalStateException("a frame is still buffered; step() first");
            return new MimiEncoderStream(mimi, numQuantizers, slotMode, state.copy(), java.util.Arrays.copyOfRange(queue, head, head + size),
                    size, ended, framesOut, samplesIn, listener);
        }

        public Slot latentListener(LatentListener l) {
            this.listener = l;
            return this;
        }

        private void check() {
            if (left) throw new IllegalStateException("this stream has left the batch");
        }

        public int index() {
            return index;
        }

        public StreamMode mode() {
            return slotMode;
        }

        /** This stream's number of codebooks: the length of each frame {@link #poll()} gives. */
        public int numQuantizers() {
            return numQuantizers;
        }

        public long framesOut() {
            return framesOut;
        }

        public long samplesIn() {
            return samplesIn;
        }

        /** Samples buffered and not yet encoded. */
        public int bufferedSamples() {
            return size;
        }

        /** Bytes of model state this stream carries (without its input backlog); does not grow. */
        public long stateBytes() {
            return state.bytes();
        }
    }
}
