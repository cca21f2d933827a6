package org.mimi4j.kernels;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
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
 * <p>One call at a time holds the workers (the main call). A call made inside it, by a compute thread or the main
 * call's caller while it runs a task (a {@link org.mimi4j.stream.Duplex} step's kernels, an offline part's layers),
 * is a side call: its caller runs its tasks, and the workers done with their tasks of the main call take tasks of it
 * too, so a thread whose long task ends early helps the others' kernels instead of waiting. One side call at a time;
 * a call made while there is one, or by another thread (concurrent streams), runs its tasks inline.
 *
 * <p>The caller of a main call waits for it without taking side calls' tasks ({@link #forEach}): a kernel's tasks
 * read buffers of the caller's per-thread {@link Scratch}, which another call's task run on that thread could
 * overwrite. {@link #forEachHelping} is for calls whose tasks read none (model steps, parts of a call): its caller
 * takes side calls' tasks too once its own are done.
 */
public final class Parallel {
    private static final int THREADS = Math.max(1, Integer.getInteger("mimi4j.threads", Runtime.getRuntime().availableProcessors()));
    private static final long SPIN_NANOS = Long.getLong("mimi4j.spinMicros", 2000) * 1000;
    private static final AtomicBoolean BUSY = new AtomicBoolean(), SIDE_BUSY = new AtomicBoolean();
    private static final Worker[] WORKERS = new Worker[THREADS - 1];
    private static final Job JOB = new Job(), SIDE = new Job();
    /** Compute threads done with their tasks of the main call, taking side calls' tasks until it ends. */
    private static final AtomicInteger IDLE = new AtomicInteger();
    private static volatile long ended; // the number of the last main call that has ended
    private static volatile Thread mainCaller; // the thread of the main call in progress, or null
    private static long calls;          // numbers the main calls; written only by the thread holding BUSY
    private static long sideCalls;      // numbers the side calls; written only by the thread holding SIDE_BUSY

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
     * The threads a call made now would get: {@link #threads()}; while the workers are taken, for a call of the main
     * call's threads (see {@link #forEach}) 1 plus the compute threads waiting for the main call to end (a side call's
     * helpers), or 1 while there is a side call already; for another thread's call, 1. For sizing tasks only: by the
     * time the call is made, the answer may have changed.
     */
    public static int available() {
        if (!BUSY.get()) return THREADS;
        return SIDE_BUSY.get() || !ofMainCall() ? 1 : Math.min(THREADS, 1 + IDLE.get());
    }

    /** Runs body(0..n-1), spread over the compute threads; returns when all are done. */
    public static void forEach(int n, IntConsumer body) {
        call(n, body, false);
    }

    /**
     * {@link #forEach}, whose caller, its own tasks done, takes tasks of side calls while it waits: for tasks that read
     * nothing of the caller's per-thread scratch (whole steps or parts of a call, not a kernel's pieces).
     */
    public static void forEachHelping(int n, IntConsumer body) {
        call(n, body, true);
    }

    private static void call(int n, IntConsumer body, boolean helping) {
        if (n <= 0) return;
        if (n > 1 && WORKERS.length > 0) {
            if (BUSY.compareAndSet(false, true)) {
                main(n, body, helping);
                return;
            }
            if (ofMainCall() && SIDE_BUSY.compareAndSet(false, true)) {
                side(n, body);
                return;
            }
        }
        for (int i = 0; i < n; i++) body.accept(i);
    }

    /** Whether this thread is one of the main call's: its caller or a worker (whose every task belongs to it). */
    private static boolean ofMainCall() {
        Thread t = Thread.currentThread();
        return t == mainCaller || t instanceof Worker;
    }

    private static void main(int n, IntConsumer body, boolean helping) {
        long number = ++calls;
        Throwable e;
        try {
            mainCaller = Thread.currentThread();
            JOB.start(body, n, number);
            for (Worker w : WORKERS) if (w.parked) LockSupport.unpark(w);
            JOB.run(number);
            if (helping && JOB.done.get() < n) {
                IDLE.incrementAndGet();
                while (JOB.done.get() < n) help();
                IDLE.decrementAndGet();
            }
            while (JOB.done.get() < n) Thread.onSpinWait();
            e = JOB.error;
        } finally {
            ended = number;
            mainCaller = null;
            JOB.body = null; // the caller's captures can go
            BUSY.set(false);
        }
        rethrow(e);
    }

    private static void side(int n, IntConsumer body) {
        Throwable e;
        try {
            long number = ++sideCalls;
            SIDE.start(body, n, number);
            SIDE.run(number);
            while (SIDE.done.get() < n) Thread.onSpinWait();
            e = SIDE.error;
        } finally {
            SIDE.body = null;
            SIDE_BUSY.set(false);
        }
        rethrow(e);
    }

    /** One turn of a thread counted in {@link #IDLE}: the open side call's tasks, if any are left, else a spin. */
    private static void help() {
        long side = SIDE.open(0);
        if (side == 0 || !SIDE.run(side)) Thread.onSpinWait();
    }

    private static void rethrow(Throwable e) {
        if (e instanceof RuntimeException r) throw r;
        if (e instanceof Error r) throw r;
        if (e != null) throw new IllegalStateException(e);
    }

    /**
     * A call's tasks: one object that every main call reuses (and another for the side calls), so that the hundreds
     * of calls of a streaming step allocate nothing here. {@code ticket} holds the call's number (high 32 bits) and its
     * next task (low 32), or {@link #CLOSED} while the call's fields are being written: a thread takes a task by
     * advancing the ticket of the call it joined, so one still looping over a finished call can never take a task of
     * the next. The first failure skips the rest.
     */
    private static final class Job {
        static final int CLOSED = -1;
        final AtomicLong ticket = new AtomicLong();
        final AtomicInteger done = new AtomicInteger();
        IntConsumer body; // written while the ticket is closed, read after a task of the call is taken
        int n;
        volatile Throwable error;

        void start(IntConsumer body, int n, long number) {
            ticket.set(number << 32 | CLOSED & 0xFFFFFFFFL); // from here on no task of the last call can be taken
            this.body = body;
            this.n = n;
            error = null;
            done.set(0);
            ticket.set(number << 32); // opens the call: publishes the fields above
        }

        /** The number of the call open now (its low 32 bits), or {@code last} while none has been opened since. */
        long open(long last) {
            long v = ticket.get();
            return (int) v == CLOSED ? last : v >>> 32;
        }

        /** Takes and runs tasks of call {@code number} until none is left or another call has started; whether it ran any. */
        boolean run(long number) {
            long call = number & 0xFFFFFFFFL;
            boolean ran = false;
            while (true) {
                long v = ticket.get();
                if (v >>> 32 != call) return ran;
                int i = (int) v;
                if (i == CLOSED || i >= n) return ran;
                if (!ticket.compareAndSet(v, v + 1)) continue;
                ran = true;
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

    private static final class Worker extends Thread {
        volatile boolean parked;

        Worker(int index) {
            super("mimi4j-compute-" + index);
            setDaemon(true);
        }

        @Override
        public void run() {
            long last = 0; // the number of the last main call this worker joined
            while (true) {
                long number = JOB.open(last);
                if (number != last) {
                    last = number;
                    JOB.run(number);
                    if (ended < number) {
                        IDLE.incrementAndGet();
                        while (ended < number) help();
                        IDLE.decrementAndGet();
                    }
                    continue;
                }
                long t0 = System.nanoTime();
                while (JOB.open(last) == last && System.nanoTime() - t0 < SPIN_NANOS) Thread.onSpinWait();
                if (JOB.open(last) != last) continue;
                // a caller publishes its call, then unparks parked workers: one of the two sides sees the other
                parked = true;
                if (JOB.open(last) == last) LockSupport.park(this);
                parked = false;
            }
        }
    }
}
