package org.mimi4j.kernels;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

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

    /** A task's own forEach (a side call, or inline) is all done when the outer call returns. */
    @Test
    void nestedCalls() {
        AtomicIntegerArray hits = new AtomicIntegerArray(8 * 16);
        Parallel.forEach(8, i -> Parallel.forEach(16, j -> hits.incrementAndGet(i * 16 + j)));
        for (int i = 0; i < hits.length(); i++) assertEquals(1, hits.get(i));
    }

    /**
     * Outside a call all threads are available; inside a task, while every compute thread runs a task of the call,
     * one; once the other tasks are done, their threads too (they take a side call's tasks; the caller of a call made
     * with forEachHelping as well).
     */
    @Test
    void availableThreads() {
        assertEquals(Parallel.threads(), Parallel.available());
        int n = Parallel.threads();
        if (n < 2) return;
        AtomicInteger started = new AtomicInteger(), recorded = new AtomicInteger(), finished = new AtomicInteger();
        AtomicIntegerArray busy = new AtomicIntegerArray(n);
        int[] afterOthers = new int[1];
        Parallel.forEachHelping(n, i -> {
            started.incrementAndGet();
            awaitCount(started, n); // every thread holds a task
            busy.set(i, Parallel.available());
            recorded.incrementAndGet();
            awaitCount(recorded, n);
            if (i == 0) {
                awaitCount(finished, n - 1); // the others are ending theirs: their threads then wait for the call's end
                long t0 = System.nanoTime();
                while (Parallel.available() < n && System.nanoTime() - t0 < 10_000_000_000L) Thread.onSpinWait();
                afterOthers[0] = Parallel.available();
            } else {
                finished.incrementAndGet();
            }
        });
        for (int i = 0; i < n; i++) assertEquals(1, busy.get(i), "task " + i + " while all threads were busy");
        assertEquals(n, afterOthers[0], "the last task, the others done");
    }

    /**
     * A call made by a task after the call's other tasks are done is shared with their threads (the helpers), and
     * every one of its indices runs exactly once.
     */
    @Test
    void sideCallHelped() {
        int n = Parallel.threads();
        if (n < 2) return;
        for (int rep = 0; rep < 20; rep++) {
            AtomicInteger finished = new AtomicInteger();
            AtomicIntegerArray hits = new AtomicIntegerArray(256);
            Set<Thread> ran = ConcurrentHashMap.newKeySet();
            Parallel.forEachHelping(n, i -> {
                if (i > 0) {
                    finished.incrementAndGet();
                    return;
                }
                awaitCount(finished, n - 1);
                Parallel.forEach(256, j -> {
                    ran.add(Thread.currentThread());
                    long t0 = System.nanoTime();
                    while (System.nanoTime() - t0 < 50_000) Thread.onSpinWait(); // 50 us: long enough for helpers to join
                    hits.incrementAndGet(j);
                });
            });
            for (int j = 0; j < hits.length(); j++) assertEquals(1, hits.get(j), "index " + j);
            assertTrue(ran.size() > 1, "the side call ran on " + ran.size() + " thread(s)");
        }
    }

    /**
     * Another thread's call made while the workers are taken runs on that thread alone: the compute threads, idle in
     * the main call, do not take its tasks (a stream's kernels are not slowed down by another thread's work).
     */
    @Test
    void anotherThreadsCallRunsInline() throws Exception {
        if (Parallel.threads() < 2) return;
        AtomicInteger done = new AtomicInteger();
        Set<Thread> ran = ConcurrentHashMap.newKeySet();
        Thread other = new Thread(() -> {
            Parallel.forEach(64, j -> {
                ran.add(Thread.currentThread());
                long t0 = System.nanoTime();
                while (System.nanoTime() - t0 < 20_000) Thread.onSpinWait();
            });
            done.incrementAndGet();
        });
        Parallel.forEachHelping(2, i -> {
            if (i == 0) {
                other.start();
                awaitCount(done, 1); // the main call holds the workers while the other thread's call runs
            }
        });
        other.join();
        assertEquals(Set.of(other), ran);
    }

    /** Spins until c reaches n (fails after 10 s: a compute thread never took its task). */
    private static void awaitCount(AtomicInteger c, int n) {
        long t0 = System.nanoTime();
        while (c.get() < n) {
            if (System.nanoTime() - t0 > 10_000_000_000L) throw new AssertionError("waited 10 s for " + n + " tasks, saw " + c.get());
            Thread.onSpinWait();
        }
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
