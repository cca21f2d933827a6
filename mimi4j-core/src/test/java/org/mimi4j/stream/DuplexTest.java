package org.mimi4j.stream;

import org.junit.jupiter.api.Test;
import org.mimi4j.Mimi;
import org.mimi4j.kernels.Parallel;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.mimi4j.stream.Fixtures.*;

/** Encode and decode steps at once ({@link Duplex}): each stream still gives upstream's streaming outputs. */
class DuplexTest {
    /**
     * A duplex loop as a voice agent runs it: each tick one microphone frame in (480-sample chunks, so some ticks
     * complete no frame) beside one reply frame out. Codes equal the streaming goldens, audio is within tolerance of
     * them, and both match the same streams stepped one after the other.
     */
    @Test
    void encodeAndDecodeAtOnceGiveTheStreamingGoldens() {
        for (String w : WEIGHTS) {
            Mimi m = model(w);
            float[] mic = audio("long", 0);
            int[][] reply = MimiDecoderStreamTest.frames(codes("long.codes_q8", 0));
            DuplexRun run = duplexLoop(m, mic, 480, reply);
            String what = w + " long[0]";
            int[][] got = run.codes();
            assertCodes(codes("long.stream_codes_q8", 0), transpose(got, 8), what + " duplex codes");
            float[] audioOut = run.audio();
            assertClose(audioOut, item("long.stream_decoded_q8", 0), what + " duplex audio");

            int[][] solo = encode(m.encoderStream(8), mic, schedule("480", mic.length));
            assertCodes(transpose(solo, 8), transpose(got, 8), what + " duplex against solo codes");
            assertSameRun(MimiDecoderStreamTest.decode(m.decoderStream(), reply, 1), audioOut, what + " duplex against solo audio");
        }
    }

    @Test
    void bothStepsRunAndAFailureIsRethrown() {
        AtomicBoolean a = new AtomicBoolean(), b = new AtomicBoolean();
        Duplex.step(() -> a.set(true), () -> b.set(true));
        assertTrue(a.get() && b.get(), "both steps ran");

        IllegalStateException boom = new IllegalStateException("boom");
        assertSame(boom, assertThrows(IllegalStateException.class, () -> Duplex.step(() -> { }, () -> { throw boom; })));
        assertSame(boom, assertThrows(IllegalStateException.class, () -> Duplex.step(() -> { throw boom; }, () -> { })));
        // and the compute threads are free again afterwards
        int[] n = new int[2];
        Duplex.step(() -> n[0]++, () -> n[1]++);
        assertEquals(1, n[0]);
        assertEquals(1, n[1]);
    }

    /**
     * An uneven pair (a short step beside a long one that makes parallel calls, as a decode stream beside a batch of
     * encode streams), either way round: once the short step is done, its thread takes tasks of the long step's calls.
     */
    @Test
    void theThreadOfTheShorterStepHelpsTheOther() {
        if (Parallel.threads() != 2) return; // Duplex runs the steps in turn then
        for (int rep = 0; rep < 20; rep++) {
            Set<Thread> ran = ConcurrentHashMap.newKeySet();
            AtomicInteger tasks = new AtomicInteger();
            Runnable longStep = () -> {
                for (int call = 0; call < 20; call++) { // a step's chain of kernel calls
                    Parallel.forEach(16, j -> {
                        ran.add(Thread.currentThread());
                        long t0 = System.nanoTime();
                        while (System.nanoTime() - t0 < 50_000) Thread.onSpinWait();
                        tasks.incrementAndGet();
                    });
                }
            };
            if (rep % 2 == 0) Duplex.step(longStep, () -> { });
            else Duplex.step(() -> { }, longStep);
            assertEquals(20 * 16, tasks.get(), "every task of the long step ran once");
            assertEquals(2, ran.size(), "the long step's calls ran on both compute threads");
        }
    }
}
