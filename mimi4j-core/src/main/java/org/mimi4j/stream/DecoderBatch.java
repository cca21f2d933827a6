package org.mimi4j.stream;

import org.mimi4j.Mimi;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * Many decoder streams stepped together over one shared model: each {@link #step()} runs one batched compute that
 * decodes exactly one code frame for every stream with a frame queued; streams with nothing queued are skipped
 * (moshi's exec mask). Streams {@link #join()} and {@link Slot#leave()} at any time; a freed slot is reused with a
 * fresh state. Each stream's audio is identical to running it alone as a {@link MimiDecoderStream}.
 *
 * <pre>{@code
 * DecoderBatch batch = mimi.decoderBatch(64);
 * DecoderBatch.Slot s = batch.join();
 * s.push(frame);                  // [K] codes
 * batch.step();                   // 1920 samples for every stream with a frame queued
 * play(s.poll());
 * }</pre>
 *
 * Not thread-safe: one thread drives a batch (its slots included).
 */
public final class DecoderBatch extends SlotBatch<DecoderBatch.Slot> {
    private final Mimi mimi;
    private final StreamMode mode;
    private final int frameSize;

    public DecoderBatch(Mimi mimi, int capacity, StreamMode mode) {
        super(new Slot[Math.max(capacity, 0)]);
        this.mimi = mimi;
        this.mode = java.util.Objects.requireNonNull(mode, "mode");
        this.frameSize = mimi.frameSize();
    }

    /** A new stream in the first free slot, fresh state. Fails when all slots are taken. */
    public Slot join() {
        return place(mimi.newDecoderState(mode.cacheMode()), mode, 0);
    }

    /** Moves a copy of a solo stream's state into a free slot; {@code stream} itself is left untouched. */
    public Slot join(MimiDecoderStream stream) {
        if (stream.model() != mimi) throw new IllegalArgumentException("the stream runs on another model");
        return place(stream.stateCopy(), stream.mode(), stream.framesIn());
    }

    private Slot place(Mimi.DecoderState st, StreamMode m, long framesIn) {
        int i = freeSlot();
        Slot s = new Slot(i, st, m);
        s.framesIn = framesIn;
        slots[i] = s;
        return s;
    }

    @Override
    public int ready() {
        int n = 0;
        for (Slot s : slots) if (s != null && !s.queue.isEmpty()) n++;
        return n;
    }

    /** One batched compute: one frame for every stream with a frame queued. Returns the number of streams stepped. */
    @Override
    public int step() {
        List<Slot> ready = new ArrayList<>();
        for (Slot s : slots) if (s != null && !s.queue.isEmpty()) ready.add(s);
        int n = ready.size();
        if (n == 0) return 0;
        int[][][] codes = new int[n][][];
        Mimi.DecoderState[] st = new Mimi.DecoderState[n];
        for (int b = 0; b < n; b++) {
            Slot s = ready.get(b);
            int[] fr = s.queue.poll();
            codes[b] = new int[fr.length][];
            for (int q = 0; q < fr.length; q++) codes[b][q] = new int[]{fr[q]};
            st[b] = s.state;
        }
        float[][] y = mimi.decodeStep(codes, 1, st, null, Frames.items(n));
        for (int b = 0; b < n; b++) {
            Slot s = ready.get(b);
            s.out.add(y[b]);
            s.framesIn++;
        }
        steps++;
        return n;
    }





    /** One stream of the batch. Its handle becomes invalid after {@link #leave()}. */
    public final class Slot {
        private final int index;
        private final Mimi.DecoderState state;
        private final StreamMode slotMode;
        private final ArrayDeque<int[]> queue = new ArrayDeque<>();
        private final List<float[]> out = new ArrayList<>();
        private long framesIn;
        private boolean left;

        private Slot(int index, Mimi.DecoderState state, StreamMode mode) {
            this.index = index;
            this.state = state;
            this.slotMode = mode;
        }

        /** Queues one code frame [K] (validated now). */
        public void push(int[] frame) {
            check();
            Frames.checkFrame(mimi, frame);
            queue.add(frame.clone());
        }

        /** Queues code frames, frame-major [n][K]. */
        public void push(int[][] frames) {
            check();
            for (int[] f : frames) Frames.checkFrame(mimi, f);
            for (int[] f : frames) queue.add(f.clone());
        }

        /** The audio decoded since the last poll (1920 samples per frame). */
        public float[] poll() {
            check();
            if (out.size() == 1) return out.removeFirst(); // the step's own array: no copy
            float[] r = new float[out.size() * frameSize];
            for (int i = 0; i < out.size(); i++) System.arraycopy(out.get(i), 0, r, i * frameSize, frameSize);
            out.clear();
            return r;
        }

        /** Frames queued and not yet decoded. */
        public int queuedFrames() {
            return queue.size();
        }

        public boolean ready() {
            return !left && !queue.isEmpty();
        }

        /** Frees the slot; queued frames and audio not yet polled are dropped. */
        public void leave() {
            check();
            left = true;
            slots[index] = null;
        }

        /** A solo stream continuing this one; fails while frames are queued (step first). */
        public MimiDecoderStream toStream() {
            check();
            if (!queue.isEmpty()) throw new IllegalStateException("frames are still queued; step() first");
            return new MimiDecoderStream(mimi, slotMode, state.copy(), framesIn);
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

        public long framesIn() {
            return framesIn;
        }

        public long stateBytes() {
            return state.bytes();
        }
    }
}
