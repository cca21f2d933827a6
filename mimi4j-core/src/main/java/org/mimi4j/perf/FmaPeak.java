package org.mimi4j.perf;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.mimi4j.kernels.Simd;

import java.util.concurrent.CyclicBarrier;

/**
 * The machine's float32 FMA peak as plain Java reaches it: independent FMA chains on vector registers, no memory
 * traffic. The reference every kernel's efficiency is quoted against, measured in the same run.
 */
public final class FmaPeak {
    private static final VectorSpecies<Float> S = Simd.S;
    private static volatile float sink;

    private FmaPeak() {
    }

    /** FLOPs of one {@link #kernel} call with {@code iters} iterations. */
    public static long flops(long iters) {
        return iters * 12L * 2 * S.length();
    }

    /** 12 independent accumulators, enough to cover FMA latency x throughput on two FMA pipes. */
    public static float kernel(long iters, float seed) {
        FloatVector m = FloatVector.broadcast(S, 0.999999f), a = FloatVector.broadcast(S, 1e-7f);
        FloatVector c0 = FloatVector.broadcast(S, seed), c1 = c0.add(1), c2 = c0.add(2), c3 = c0.add(3), c4 = c0.add(4), c5 = c0.add(5);
        FloatVector c6 = c0.add(6), c7 = c0.add(7), c8 = c0.add(8), c9 = c0.add(9), c10 = c0.add(10), c11 = c0.add(11);
        for (long i = 0; i < iters; i++) {
            c0 = c0.fma(m, a); c1 = c1.fma(m, a); c2 = c2.fma(m, a); c3 = c3.fma(m, a);
            c4 = c4.fma(m, a); c5 = c5.fma(m, a); c6 = c6.fma(m, a); c7 = c7.fma(m, a);
            c8 = c8.fma(m, a); c9 = c9.fma(m, a); c10 = c10.fma(m, a); c11 = c11.fma(m, a);
        }
        return c0.add(c1).add(c2).add(c3).add(c4).add(c5).add(c6).add(c7).add(c8).add(c9).add(c10).add(c11).lane(0);
    }

    /** GFLOP/s of {@code threads} platform threads running the kernel at once (best of a few rounds). */
    public static double measure(int threads) {
        long iters = 20_000_000L;
        for (int i = 0; i < 3; i++) sink += kernel(iters / 10, i); // compile
        double best = 0;
        for (int round = 0; round < 5; round++) {
            long[] nanos = new long[threads];
            CyclicBarrier barrier = new CyclicBarrier(threads);
            Thread[] ts = new Thread[threads];
            for (int t = 0; t < threads; t++) {
                int id = t;
                ts[t] = Thread.ofPlatform().start(() -> {
                    try {
                        barrier.await();
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                    long t0 = System.nanoTime();
                    float r = kernel(iters, id);
                    nanos[id] = System.nanoTime() - t0;
                    sink += r;
                });
            }
            for (Thread t : ts) {
                try {
                    t.join();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return best;
                }
            }
            long worst = 0;
            for (long n : nanos) worst = Math.max(worst, n);
            best = Math.max(best, (double) flops(iters) * threads / worst);
        }
        return best;
    }
}
