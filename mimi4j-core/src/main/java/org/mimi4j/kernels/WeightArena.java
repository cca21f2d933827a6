package org.mimi4j.kernels;

import java.util.ArrayList;
import java.util.List;

/**
 * Where a model's packed weights live: slices of a few 64 MB arrays instead of one array per matrix. G1 puts every
 * array of half a region or more (2 MB with the 4 MB regions of a 6 GB heap) in regions of its own, and the weights'
 * sizes are powers of two: a 2 MB codebook plus its 16-byte header took a whole 4 MB region, a 4 MB kernel two and
 * a half. One array per matrix held the full-size model in 758 MB of heap for 385 MB of weights. A chunk's 64 MB
 * (header included) fills whole regions of any size from 1 to 32 MB; a small model's arena has smaller chunks.
 * Thread-safe; slices are zero-filled.
 */
public final class WeightArena {
    /** Floats per chunk: 64 MB with the array's 16-byte header. */
    static final int CHUNK = ((64 << 20) - 16) / 4;
    /** Slices start at multiples of 16 floats (64 bytes), as a matrix of its own would relative to its array. */
    private static final int ALIGN = 16;

    private final int chunk;
    private final List<float[]> chunks = new ArrayList<>();
    private final List<Integer> used = new ArrayList<>();

    /**
     * An arena for about {@code expected} floats of weights: chunks of 64 MB, or of that size and an eighth when it is
     * smaller (a small model's weights do not take 64 MB of heap).
     */
    public WeightArena(long expected) {
        chunk = (int) Math.min(CHUNK, Math.max(1 << 12, expected + expected / 8));
    }

    /** A zero-filled slice of n floats: {@code array[offset .. offset+n)}. */
    public record Slice(float[] array, int offset) {
    }

    /** First fit among the chunks; a new chunk when none has room (an array of its own above the chunk size). */
    public synchronized Slice allocate(int n) {
        if (n > chunk) return new Slice(new float[n], 0);
        for (int i = 0; i < chunks.size(); i++) {
            int at = used.get(i);
            if (chunks.get(i).length - at >= n) {
                used.set(i, Math.min(chunks.get(i).length, (at + n + ALIGN - 1) / ALIGN * ALIGN));
                return new Slice(chunks.get(i), at);
            }
        }
        chunks.add(new float[chunk]);
        used.add((n + ALIGN - 1) / ALIGN * ALIGN);
        return new Slice(chunks.getLast(), 0);
    }

    /** Bytes of the arrays the arena holds. */
    public synchronized long bytes() {
        long b = 0;
        for (float[] c : chunks) b += 4L * c.length;
        return b;
    }
}
