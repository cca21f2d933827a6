package org.mimi4j.kernels;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.function.IntConsumer;

/**
 * The compute threads: {@code threads() - 1} platform worker threads plus the calling thread, sized to the cores
 * (or {@code -Dmimi4j.threads=N}). Kernels split their work into independent tasks and run them through
 * {@link #forEach}.
 *
 * <p>Why not a {@code ForkJoinPool}: a model step is a chain of many short parallel calls (tens to hundreds of
 * microseconds each), and waking a parked thread costs ~150 us on these virtual machines, more than many of the
 * calls themselves. So the caller runs tasks itself, and a worker that ran out of tasks spins for a while
 * ({@code -Dmimi4j.spinMicros}, default 2000) before it parks, so the next call of the chain finds it awake.
 *
 * <p>One call at a time uses the workers; a call made while they are taken (a task's nested call, or another
 * thread's call, e.g. concurrent streams) runs its tasks inline on its own thread.
 */
public final class Parallel {
    private static final int THREADS = Math.max(1, Integer.getInteger("mimi4j.threads", Runtime.getRuntime().availableProcessors()));
    private static final long SPIN_NANOS = Long.getLong("mimi4j.spinMicros", 2000) * 1000;
    private static final AtomicBoolean BUSY = new AtomicBoolean();
    private static final Worker[] WORKERS = new Worker[THREADS - 1];
    private static volatile Job current;
    private static long calls; // numbers the jobs; written only by the thread holding BUSY

    static {
        for (int i = 0; i < WORKERS.length; i++) {
            WORKERS[i] = new Worker(i + 1);
            WORKERS[i].start();
        }
    }

    private Parallel() {
    }

    public static int threads() {
        return THREADS;
    }

    /**
     * The threads a call made now would get: {@link #threads()}, or 1 while the workers are taken (inside a task, or
     * during another thread's call), when {@link #forEach} runs the tasks inline. For sizing tasks only: by the time
     * the call is made, the answer may have changed.
     */
    public static int available() {
        return BUSY.get() ? 1 : THREADS;
    }

    /** Runs body(0..n-1), spread over the compute threads; returns when all are done. */
    public static void forEach(int n, IntConsumer body) {
        if (n <= 0) return;
        if (n == 1 || WORKERS.length == 0 || !BUSY.compareAndSet(false, true)) {
            for (int i = 0; i < n; i++) body.accept(i);
            return;
        }
        Job job = new Job(body, n, ++calls);
        try {
            current = job;
            for (Worker w : WORKERS) if (w.parked) LockSupport.unpark(w);
            job.run();
            while (job.done.get() < n) Thread.onSpinWait();
        } finally {
            current = null;
            BUSY.set(false);
        }
        Throwable e = job.error;
        if (e instanceof RuntimeException r) throw r;
        if (e instanceof Error r) throw r;
        if (e != null) throw new IllegalStateException(e);
    }

    /** One call's tasks: threads take the next index until none is left; the first failure skips the rest. */
    private static final class Job {
        final IntConsumer body;
        final int n;
        final long number;
        final AtomicInteger next = new AtomicInteger();
        final AtomicInteger done = new AtomicInteger();
        volatile Throwable error;

        Job(IntConsumer body, int n, long number) {
            this.body = body;
            this.n = n;
            this.number = number;
        }

        void run() {
            for (int i; (i = next.getAndIncrement()) < n; ) {
                try {
                    if (error == null) body.accept(i);
                } catch (Throwable t) {
                    if (error == null) error = t;
                } finally {
                    done.incrementAndGet();
                }
            }
        }
    }

    private static boolean isNew(long last) {
        Job job = current;
        return job != null && job.number != last;
    }

    private static final class Worker extends Thread {
        volatile boolean parked;

        Worker(int index) {
            super("mimi4j-compute-" + index);
            setDaemon(true);
        }

        @Override
        public void run() {
            long last = 0; // the last job this worker took part in (held by number: a finished job's arrays can go)
            while (true) {
                Job job = current;
                if (job != null && job.number != last) {
                    last = job.number;
                    job.run();
                    continue;
                }
                long t0 = System.nanoTime();
                while (!isNew(last) && System.nanoTime() - t0 < SPIN_NANOS) Thread.onSpinWait();
                if (isNew(last)) continue;
                // a caller publishes its job, then unparks parked workers: one of the two sides sees the other
                parked = true;
                if (!isNew(last)) LockSupport.park(this);
                parked = false;
            }
        }
    }
}
