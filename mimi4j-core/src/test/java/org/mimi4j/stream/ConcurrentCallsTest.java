package org.mimi4j.stream;

import org.junit.jupiter.api.Test;
import org.mimi4j.Mimi;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.mimi4j.stream.Fixtures.*;

/**
 * One model, many callers at once, as in {@code mimi serve} (its scheduler's duplex steps beside HTTP jobs' offline
 * calls): offline encodes and decodes long enough to run in parts, on several threads, beside a thread stepping an
 * encoder and a decoder stream with {@link Duplex}. Whichever thread holds the compute threads, and whatever the
 * others' calls do meanwhile, every result equals the same call made alone: no call's per-thread buffers are touched
 * by another's tasks.
 */
class ConcurrentCallsTest {
    @Test
    void offlineCallsAndADuplexStreamAtOnceGiveWhatEachGivesAlone() throws Exception {
        Mimi m = model("model.safetensors");
        float[] x = new float[150_000]; // ~6 s: an offline call in parts
        for (int i = 0; i < x.length; i++) x[i] = (float) (0.4 * Math.sin(i * 0.031) + 0.1 * Math.sin(i * 0.0007 * (1 + i * 1e-6)));
        int[][] codes = m.encode(x, 8);
        float[] audio = m.decode(codes);
        float[] mic = audio("long", 0);
        int[][] reply = MimiDecoderStreamTest.frames(codes("long.codes_q8", 0));
        DuplexRun alone = duplexLoop(m, mic, 1920, reply);

        ExecutorService ex = Executors.newFixedThreadPool(5);
        try {
            for (int rep = 0; rep < 3; rep++) {
                CountDownLatch go = new CountDownLatch(1);
                List<Future<int[][]>> offline = new ArrayList<>();
                List<Future<float[]>> decoded = new ArrayList<>();
                for (int t = 0; t < 2; t++) {
                    offline.add(ex.submit(() -> {
                        go.await();
                        return m.encode(x, 8);
                    }));
                    decoded.add(ex.submit(() -> {
                        go.await();
                        return m.decode(codes);
                    }));
                }
                Future<DuplexRun> duplex = ex.submit(() -> {
                    go.await();
                    return duplexLoop(m, mic, 1920, reply);
                });
                go.countDown();
                for (Future<int[][]> f : offline) {
                    int[][] got = f.get();
                    for (int k = 0; k < codes.length; k++) assertArrayEquals(codes[k], got[k], "round " + rep + ": offline codes, codebook " + k);
                }
                for (Future<float[]> f : decoded) assertSameRun(audio, f.get(), "round " + rep + ": offline decode");
                DuplexRun d = duplex.get();
                assertCodes(transpose(alone.codes(), 8), transpose(d.codes(), 8), "round " + rep + ": duplex stream codes");
                assertSameRun(alone.audio(), d.audio(), "round " + rep + ": duplex stream audio");
            }
        } finally {
            ex.shutdownNow();
        }
    }
}
