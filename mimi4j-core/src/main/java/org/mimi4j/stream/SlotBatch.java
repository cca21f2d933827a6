package org.mimi4j.stream;

/**
 * The slot bookkeeping {@link EncoderBatch} and {@link DecoderBatch} share: a fixed array of slots (null = free),
 * the count of batched computes, and the loop that steps until nothing is ready.
 */
abstract class SlotBatch<S> {
    final S[] slots;
    long steps;

    SlotBatch(S[] slots) {
        if (slots.length < 1) throw new IllegalArgumentException("capacity must be at least 1, got " + slots.length);
        this.slots = slots;
    }

    /** The first free slot's index; fails when all slots are taken. */
    int freeSlot() {
        for (int i = 0; i < slots.length; i++) if (slots[i] == null) return i;
        throw new IllegalStateException("all " + slots.length + " slots are taken");
    }

    /** One batched compute: one frame for every stream that has one ready. Returns the number of streams stepped. */
    public abstract int step();

    /** The streams the next {@link #step()} would compute a frame for (0: it would return at once). */
    public abstract int ready();

    /** Steps until no stream has a frame ready; returns the number of steps. */
    public int drain() {
        int k = 0;
        while (step() > 0) k++;
        return k;
    }

    public int capacity() {
        return slots.length;
    }

    /** Streams currently holding a slot. */
    public int active() {
        int n = 0;
        for (S s : slots) if (s != null) n++;
        return n;
    }

    /** Batched computes run so far. */
    public long steps() {
        return steps;
    }
}
