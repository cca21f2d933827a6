package org.mimi4j.kernels;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicIntegerArray;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

class ParallelTest {
    /** Every index runs exactly once, whatever the task count. */
    @Test
    void everyIndexOnce() {
        for (int n : new int[]{1, 2, 3, 7, 64, 1000}) {
            for (int rep = 0; rep < 50; rep++) {
                AtomicIntegerArray hits = new AtomicIntegerArray(n);
                Parallel.forEach(n, hits::incrementAndGet);
                for (int i = 0; i < n; i++) assertEquals(1, hits.get(i), "n=" + n + " index " + i);
            }
        }
    }

    /**
     * Calls back to back reuse one call object: a worker still leaving a finished call must not take a task of the
     * next one (each index of every call runs exactly once, and a call's tasks see that call's body).
     */
    @Test
    void backToBackCalls() {
        for (int rep = 0; rep < 20_000; rep++) {
            int n = 2 + rep % 3;
            AtomicIntegerArray hits = new AtomicIntegerArray(n); // a task run with an earlier call's body misses here
            Parallel.forEach(n, hits::incrementAndGet);
            for (int i = 0; i < n; i++) assertEquals(1, hits.get(i), "call " + rep + " index " + i);
        }
    }

    /** A task's own forEach runs inline, and all of it is done when the outer call returns. */
    @Test
    void nestedCalls() {
        AtomicIntegerArray hits = new AtomicIntegerArray(8 * 16);
        Parallel.forEach(8, i -> Parallel.forEach(16, j -> hits.incrementAndGet(i * 16 + j)));
        for (int i = 0; i < hits.length(); i++) assertEquals(1, hits.get(i));
    }

    /** Outside a call all threads are available; inside a task, whose own calls run inline, one. */
    @Test
    void availableThreads() {
        assertEquals(Parallel.threads(), Parallel.available());
        AtomicIntegerArray seen = new AtomicIntegerArray(4);
        Parallel.forEach(4, i -> seen.set(i, Parallel.available()));
        for (int i = 0; i < 4; i++) assertEquals(1, seen.get(i), "task " + i);
    }

    /** Several threads calling at once (one gets the workers, the others run inline) each get all their tasks done. */
    @Test
    void concurrentCallers() throws Exception {
        ExecutorService ex = Executors.newFixedThreadPool(6);
        try {
            List<Future<long[]>> fs = new ArrayList<>();
            for (int c = 0; c < 6; c++) {
                int seed = c;
                fs.add(ex.submit(() -> {
                    long[] sums = new long[200];
                    for (int rep = 0; rep < 200; rep++) {
                        long[] part = new long[32];
                        Parallel.forEach(32, i -> part[i] = (long) i * seed);
                        for (long v : part) sums[rep] += v;
                    }
                    return sums;
                }));
            }
            for (int c = 0; c < fs.size(); c++) {
                for (long s : fs.get(c).get()) assertEquals(496L * c, s);
            }
        } finally {
            ex.shutdownNow();
        }
    }

    /** A failing task's exception reaches the caller, and the pool keeps working afterwards. */
    @Test
    void failurePropagates() {
        IllegalArgumentException boom = new IllegalArgumentException("boom");
        for (int rep = 0; rep < 20; rep++) {
            var e = assertThrows(IllegalArgumentException.class, () -> Parallel.forEach(16, i -> {
                if (i == 5) throw boom;
            }));
            assertSame(boom, e);
        }
        AtomicIntegerArray hits = new AtomicIntegerArray(16);
        Parallel.forEach(16, hits::incrementAndGet);
        for (int i = 0; i < 16; i++) assertEquals(1, hits.get(i));
    }
}
