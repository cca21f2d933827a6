package org.mimi4j.stream;

import org.mimi4j.kernels.Parallel;

/**
 * Two independent steps at once, one on each of two compute threads: a duplex stream's encode step and decode step
 * (a microphone frame in, a reply frame out), or an {@link EncoderBatch}'s step and a {@link DecoderBatch}'s (as
 * {@code mimi serve} steps them).
 *
 * <pre>{@code
 * int[][][] codes = new int[1][][];
 * Duplex.step(() -> codes[0] = encoder.push(micFrame), () -> decoder.push(replyCodes, speaker, 0));
 * }</pre>
 *
 * <p>Each step's kernels then run on one core until one of the steps is done; its thread then takes tasks of the
 * other step's kernel calls ({@link Parallel}'s side calls), so an uneven pair (a batch of 16 encode streams beside one
 * decode stream) takes no longer than the two in turn. The encoder's compute-bound 24 kHz convolutions overlap the
 * decoder's memory-bound transformer (and the other way round), and neither waits at the end of the other's parallel
 * calls. On two cores one stream's pair of steps takes ~0.9x the time of running them one after the other on both
 * threads; 16 batched streams, whose products already keep both cores busy, gain little (docs/streaming.md,
 * "Duplex"). Both results are ready when the pair is: the first step's result comes later than if it ran alone on
 * both threads first. Two threads of your own would do worse: the first to call a kernel gets both compute threads,
 * and the other step's work competes with them for the cores.
 *
 * <p>The steps must be independent: neither may read what the other writes (a decode step that needs this encode
 * step's codes cannot run beside it; the previous frame's can). Results are bit-identical to running them one after the
 * other. With one compute thread, or more than two ({@code -Dmimi4j.threads}), the steps run one after the other, first
 * then second; while another thread's call holds the compute threads, too. If a step throws, the other may not run (or may
 * still finish, if it had started), and the first failure is rethrown after both have stopped.
 */
public final class Duplex {
    private Duplex() {
    }

    /** Runs both steps, at once on two compute threads where there are exactly two; returns when both are done. */
    public static void step(Runnable first, Runnable second) {
        if (Parallel.threads() != 2) { // splitting more threads between the steps is not implemented
            first.run();
            second.run();
            return;
        }
        Parallel.forEachHelping(2, i -> (i == 0 ? first : second).run());
    }
}
