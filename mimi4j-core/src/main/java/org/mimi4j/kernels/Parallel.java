package org.mimi4j.kernels;

import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinTask;
import java.util.concurrent.RecursiveAction;
import java.util.function.IntConsumer;

/**
 * The compute threads: one fork-join pool of platform threads sized to the cores (or {@code -Dmimi4j.threads=N}).
 * Kernels split their work into independent tasks and run them here; a call from inside the pool runs inline.
 */
public final class Parallel {
    private static final int THREADS = Integer.getInteger("mimi4j.threads", Runtime.getRuntime().availableProcessors());
    private static final ForkJoinPool POOL = THREADS > 1 ? new ForkJoinPool(THREADS, pool -> {
        var t = ForkJoinPool.defaultForkJoinWorkerThreadFactory.newThread(pool);
        t.setName("mimi4j-compute-" + t.getPoolIndex());
        t.setDaemon(true);
        return t;
    }, null, false) : null;

    private Parallel() {
    }

    public static int threads() {
        return THREADS;
    }

    /** Runs body(0..n-1), spread over the pool; returns when all are done. */
    public static void forEach(int n, IntConsumer body) {
        if (n <= 0) return;
        if (n == 1 || POOL == null || ForkJoinTask.inForkJoinPool()) {
            for (int i = 0; i < n; i++) body.accept(i);
            return;
        }
        POOL.invoke(new Range(0, n, body));
    }

    private static final class Range extends RecursiveAction {
        final int lo, hi;
        final IntConsumer body;

        Range(int lo, int hi, IntConsumer body) {
            this.lo = lo;
            this.hi = hi;
            this.body = body;
        }

        @Override
        protected void compute() {
            if (hi - lo == 1) {
                body.accept(lo);
                return;
            }
            int mid = (lo + hi) >>> 1;
            invokeAll(new Range(lo, mid, body), new Range(mid, hi, body));
        }
    }
}
