package org.mimi4j.stream;

import org.junit.jupiter.api.Test;
import org.mimi4j.InvalidInputException;
import org.mimi4j.Mimi;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.mimi4j.stream.Fixtures.*;

/** Batched decoder streams: desynchronised, joining and leaving, each equal to its solo run and to the goldens. */
class DecoderBatchTest {
    static final class Job {
        final String c;
        final int item, startTick, perTick;
        final int[][] frames;
        int next;
        DecoderBatch.Slot slot;
        final List<float[]> audio = new ArrayList<>();
        final List<Integer> slotsUsed = new ArrayList<>();

        Job(String c, int item, int k, int startTick, int perTick) {
            this.c = c;
            this.item = item;
            this.startTick = startTick;
            this.perTick = perTick;
            this.frames = MimiDecoderStreamTest.frames(codes(c + ".codes_q" + k, item));
        }
    }

    static List<Job> jobs(int k) {
        return new ArrayList<>(List.of(
                new Job("long", 0, k, 0, 1),
                new Job("odd", 0, k, 2, 2),
                new Job("frame1", 0, k, 3, 1),
                new Job("batch", 0, k, 5, 3),
                new Job("batch", 1, k, 6, 1),  // waits for a free slot, reuses one
                new Job("long", 0, k, 20, 5)));
    }

    /** Each tick every active job queues perTick frames, the batch steps once (not every 3rd tick); drained at the end. */
    static void drive(DecoderBatch batch, List<Job> jobs) {
        List<Job> waiting = new ArrayList<>(jobs), active = new ArrayList<>();
        for (int tick = 0; !waiting.isEmpty() || !active.isEmpty(); tick++) {
            for (Job j : new ArrayList<>(waiting)) {
                if (j.startTick <= tick && batch.active() < batch.capacity()) {
                    j.slot = batch.join();
                    j.slotsUsed.add(j.slot.index());
                    waiting.remove(j);
                    active.add(j);
                }
            }
            for (Job j : active) {
                int n = Math.min(j.perTick, j.frames.length - j.next);
                if (n == 1) j.slot.push(j.frames[j.next]);
                else if (n > 1) j.slot.push(java.util.Arrays.copyOfRange(j.frames, j.next, j.next + n));
                j.next += n;
            }
            if (tick % 3 != 2) {
                int expected = 0;
                for (Job j : active) if (j.slot.ready()) expected++;
                assertEquals(expected, batch.ready(), "streams ready at tick " + tick);
                assertEquals(expected, batch.step(), "streams stepped at tick " + tick);
            }
            for (Job j : new ArrayList<>(active)) {
                j.audio.add(j.slot.poll());
                if (j.next == j.frames.length && j.slot.queuedFrames() == 0) {
                    j.slot.leave();
                    active.remove(j);
                }
            }
        }
    }

    @Test
    void desynchronisedStreamsEqualTheirSoloRunsAndTheGoldens() {
        for (String w : WEIGHTS) {
            Mimi m = model(w);
            for (int k : new int[]{4, 8}) {
                DecoderBatch batch = m.decoderBatch(3);
                List<Job> jobs = jobs(k);
                drive(batch, jobs);
                Map<Integer, Integer> slotUse = new HashMap<>();
                for (Job j : jobs) {
                    String what = w + " q" + k + " " + j.c + "[" + j.item + "] from tick " + j.startTick;
                    float[] got = concat(j.audio);
                    assertClose(got, item(j.c + ".stream_decoded_q" + k, j.item), what + " vs golden");
                    assertSameRun(m.decoderStream().push(j.frames), got, what + " vs solo");
                    for (int s : j.slotsUsed) slotUse.merge(s, 1, Integer::sum);
                }
                assertTrue(slotUse.values().stream().anyMatch(n -> n > 1), "some slot was reused: " + slotUse);
            }
        }
    }

    @Test
    void offlineExactBatchDecodesLikeOffline() {
        Mimi m = model("model.safetensors");
        DecoderBatch batch = m.decoderBatch(2, StreamMode.OFFLINE_EXACT);
        List<Job> jobs = jobs(8);
        drive(batch, jobs);
        for (Job j : jobs) assertClose(concat(j.audio), item(j.c + ".decoded_q8", j.item), "offline-exact " + j.c);
    }

    @Test
    void streamsWithNothingQueuedAreSkippedAndSlotsReused() {
        Mimi m = model("moshi.safetensors");
        int[][] fr = MimiDecoderStreamTest.frames(codes("long.codes_q8", 0));
        float[] want = m.decoderStream().push(fr);
        DecoderBatch batch = m.decoderBatch(2);
        DecoderBatch.Slot idle = batch.join(), busy = batch.join();
        assertThrows(IllegalStateException.class, batch::join, "full");
        busy.push(java.util.Arrays.copyOf(fr, 10));
        assertFalse(idle.ready());
        assertEquals(10, batch.drain());
        assertEquals(0, idle.framesIn());
        assertEquals(0, idle.poll().length);
        assertSameRun(java.util.Arrays.copyOf(want, 10 * 1920), busy.poll(), "busy");
        busy.leave();
        assertThrows(IllegalStateException.class, () -> busy.push(fr[0]), "stale handle");
        DecoderBatch.Slot again = batch.join();
        assertEquals(busy.index(), again.index());
        again.push(fr);
        idle.push(fr);
        assertEquals(fr.length, batch.drain());
        assertSameRun(want, again.poll(), "reused slot starts fresh");
        assertSameRun(want, idle.poll(), "skipped slot starts at position 0");
        assertThrows(InvalidInputException.class, () -> idle.push(new int[]{m.cardinality()}));
    }

    @Test
    void streamsMoveBetweenSoloAndBatch() {
        Mimi m = model("model.safetensors");
        int[][] fr = MimiDecoderStreamTest.frames(codes("long.codes_q8", 0));
        float[] want = m.decoderStream().push(fr);
        MimiDecoderStream solo = m.decoderStream();
        List<float[]> out = new ArrayList<>(List.of(solo.push(java.util.Arrays.copyOf(fr, 20))));
        DecoderBatch batch = m.decoderBatch(2);
        batch.join().push(fr[3]);
        DecoderBatch.Slot s = batch.join(solo);
        assertEquals(20, s.framesIn());
        s.push(java.util.Arrays.copyOfRange(fr, 20, 50));
        batch.drain();
        out.add(s.poll());
        MimiDecoderStream back = s.toStream();
        s.leave();
        out.add(back.push(java.util.Arrays.copyOfRange(fr, 50, fr.length)));
        assertSameRun(want, concat(out), "solo -> batch -> solo");
    }

    @Test
    void batchesOnManyThreadsShareOneModel() throws Exception {
        Mimi m = model("moshi.safetensors");
        List<Thread> threads = new ArrayList<>();
        List<Throwable> errors = java.util.Collections.synchronizedList(new ArrayList<>());
        for (int t = 0; t < 4; t++) {
            threads.add(Thread.ofPlatform().start(() -> {
                try {
                    DecoderBatch batch = m.decoderBatch(3);
                    List<Job> jobs = jobs(8);
                    drive(batch, jobs);
                    for (Job j : jobs) assertClose(concat(j.audio), item(j.c + ".stream_decoded_q8", j.item), j.c);
                } catch (Throwable e) {
                    errors.add(e);
                }
            }));
        }
        for (Thread t : threads) t.join();
        if (!errors.isEmpty()) throw new AssertionError(errors.get(0));
    }
}
