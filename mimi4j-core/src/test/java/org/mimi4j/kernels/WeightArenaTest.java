package org.mimi4j.kernels;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

class WeightArenaTest {
    /** Slices of a chunk never overlap, start 64-byte aligned, are zero, and later small ones fill earlier gaps. */
    @Test
    void slicesAreDisjointAlignedAndZero() {
        WeightArena arena = new WeightArena(WeightArena.CHUNK);
        List<WeightArena.Slice> got = new ArrayList<>();
        List<Integer> sizes = new ArrayList<>();
        int[] want = {5, 1 << 20, 3 * (1 << 21), WeightArena.CHUNK / 2, WeightArena.CHUNK / 2, 17, 1};
        for (int n : want) {
            WeightArena.Slice s = arena.allocate(n);
            assertEquals(0, s.offset() % 16, "aligned");
            for (int i = s.offset(); i < s.offset() + n; i++) assertEquals(0f, s.array()[i]);
            java.util.Arrays.fill(s.array(), s.offset(), s.offset() + n, 1f);
            for (int j = 0; j < got.size(); j++) {
                WeightArena.Slice o = got.get(j);
                if (o.array() != s.array()) continue;
                boolean apart = s.offset() >= o.offset() + sizes.get(j) || o.offset() >= s.offset() + n;
                assertTrue(apart, "slice " + got.size() + " overlaps slice " + j);
            }
            got.add(s);
            sizes.add(n);
        }
        assertSame(got.get(0).array(), got.get(5).array(), "a small slice goes into the first chunk with room");
        assertNotSame(got.get(3).array(), got.get(4).array(), "two half chunks do not fit one chunk after the others");
        assertEquals(2L * 4 * WeightArena.CHUNK, arena.bytes(), "two chunks: the second half chunk opened the second");
    }

    /** A small model's arena: chunks of its weights' size and an eighth, not 64 MB. */
    @Test
    void aSmallModelsChunksAreSmall() {
        WeightArena arena = new WeightArena(80_000);
        arena.allocate(50_000);
        arena.allocate(30_000);
        assertEquals(4L * 90_000, arena.bytes(), "one chunk of 90000 floats");
        arena.allocate(20_000);
        assertEquals(2 * 4L * 90_000, arena.bytes(), "the next in a second chunk of the same size");
        WeightArena.Slice big = arena.allocate(100_000);
        assertEquals(100_000, big.array().length, "larger than a chunk: its own array");
    }

    /** A slice larger than a chunk is an array of its own, outside the arena's chunks. */
    @Test
    void largerThanAChunkIsItsOwnArray() {
        WeightArena arena = new WeightArena(WeightArena.CHUNK);
        WeightArena.Slice s = arena.allocate(WeightArena.CHUNK + 1);
        assertEquals(0, s.offset());
        assertEquals(WeightArena.CHUNK + 1, s.array().length);
        assertEquals(0, arena.bytes());
    }
}
