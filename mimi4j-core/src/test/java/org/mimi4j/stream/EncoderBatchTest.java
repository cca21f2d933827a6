package org.mimi4j.stream;

import org.junit.jupiter.api.Test;
import org.mimi4j.Mimi;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.mimi4j.stream.Fixtures.*;

/** Batched encoder streams: desynchronised, joining and leaving, each equal to its solo run and to the goldens. */
class EncoderBatchTest {
    /** One golden stream driven through a batch. */
    static final class Job {
        final String c;
        final int item, startTick;
        int codebooks; // 0: the batch's own count (join()), else join(codebooks)
        final float[] audio;
        final int[] sizes;
        int next, pos;
        EncoderBatch.Slot slot;
        final List<int[]> frames = new ArrayList<>();
        final Latents latents = new Latents();
        final List<Integer> slotsUsed = new ArrayList<>();

        Job(String c, int item, int startTick, String chunking) {
            this.c = c;
            this.item = item;
            this.startTick = startTick;
            this.audio = audio(c, item);
            this.sizes = schedule(chunking, audio.length);
        }
    }

    static List<Job> jobs() {
        List<Job> j = new ArrayList<>();
        j.add(new Job("long", 0, 0, "5000"));
        j.add(new Job("odd", 0, 3, "1920"));
        j.add(new Job("batch", 0, 4, "mix7"));
        j.add(new Job("frame1", 0, 5, "480"));
        j.add(new Job("batch", 1, 9, "3001"));
        j.add(new Job("odd", 0, 10, "mix8")); // joins after frame1 left: reuses its slot
        j.add(new Job("long", 0, 30, "1"));
        return j;
    }

    /**
     * Drives the jobs through a batch of 3 slots: each tick every active job pushes its next chunk, then the batch steps
     * once (every 4th tick not at all, so work piles up); jobs join at their start tick when a slot is free and leave
     * when finished. Afterwards the batch is drained.
     */
    static void drive(EncoderBatch batch, List<Job> jobs) {
        List<Job> waiting = new ArrayList<>(jobs), active = new ArrayList<>();
        SplittableRandom r = new SplittableRandom(3);
        for (int tick = 0; !waiting.isEmpty() || !active.isEmpty(); tick++) {
            for (Job j : new ArrayList<>(waiting)) {
                if (j.startTick <= tick && batch.active() < batch.capacity()) {
                    j.slot = (j.codebooks == 0 ? batch.join() : batch.join(j.codebooks)).latentListener(j.latents);
                    j.slotsUsed.add(j.slot.index());
                    waiting.remove(j);
                    active.add(j);
                }
            }
            for (Job j : active) {
                if (j.next < j.sizes.length) {
                    j.slot.push(j.audio, j.pos, j.sizes[j.next]);
                    j.pos += j.sizes[j.next++];
                    if (j.next == j.sizes.length) j.slot.end();
                }
            }
            if (tick % 4 != 3) {
                int expected = 0;
                for (Job j : active) if (j.slot.ready()) expected++;
                assertEquals(expected, batch.ready(), "streams ready at tick " + tick);
                assertEquals(expected, batch.step(), "streams stepped at tick " + tick);
            }
            if (r.nextInt(5) == 0) batch.drain();
            for (Job j : new ArrayList<>(active)) {
                for (int[] f : j.slot.poll()) j.frames.add(f);
                if (j.slot.finished()) {
                    j.slot.leave();
                    active.remove(j);
                }
            }
        }
        assertEquals(0, batch.active());
    }

    @Test
    void desynchronisedStreamsEqualTheirSoloRunsAndTheGoldens() {
        for (String w : WEIGHTS) {
            Mimi m = model(w);
            for (int k : new int[]{4, 8}) {
                EncoderBatch batch = m.encoderBatch(3, k);
                List<Job> jobs = jobs();
                drive(batch, jobs);
                Map<Integer, Integer> slotUse = new HashMap<>();
                for (Job j : jobs) {
                    String what = w + " q" + k + " " + j.c + "[" + j.item + "] from tick " + j.startTick;
                    int[][] got = transpose(j.frames.toArray(new int[0][]), k);
                    assertCodes(codes(j.c + ".stream_codes_q" + k, j.item), got, what + " vs golden");
                    // solo run: identical codes and bit-identical latents
                    Latents soloLat = new Latents();
                    int[][] solo = encode(m.encoderStream(k).latentListener(soloLat), j.audio, j.sizes);
                    assertCodes(transpose(solo, k), got, what + " vs solo");
                    assertSameRun(soloLat.channelMajor(), j.latents.channelMajor(), what + " latents vs solo");
                    for (int s : j.slotsUsed) slotUse.merge(s, 1, Integer::sum);
                }
                assertTrue(slotUse.values().stream().anyMatch(n -> n > 1), "some slot was reused: " + slotUse);
            }
        }
    }

    /**
     * Streams of 8, 4 and 1 codebooks in one batch of 3 slots: every step encodes the streams ready whatever their
     * counts (drive checks each step's count), and each stream's codes are its golden ones (the first K rows of the
     * 8-codebook goldens for K = 1) and its solo run's.
     */
    @Test
    void streamsOfDifferentCodebookCountsShareTheSteps() {
        Mimi m = model("moshi.safetensors");
        EncoderBatch batch = m.encoderBatch(3, 8);
        List<Job> jobs = jobs();
        int[] counts = {8, 4, 1};
        for (int i = 0; i < jobs.size(); i++) jobs.get(i).codebooks = counts[i % counts.length];
        drive(batch, jobs);
        for (Job j : jobs) {
            int k = j.codebooks;
            String what = "q" + k + " " + j.c + "[" + j.item + "] from tick " + j.startTick;
            int[][] got = transpose(j.frames.toArray(new int[0][]), k);
            int[][] golden = codes(j.c + ".stream_codes_q" + (k == 1 ? 8 : k), j.item);
            assertCodes(java.util.Arrays.copyOf(golden, k), got, what + " vs golden");
            assertCodes(transpose(encode(m.encoderStream(k), j.audio, j.sizes), k), got, what + " vs solo");
        }
        assertEquals(8, batch.numQuantizers());
        assertThrows(org.mimi4j.InvalidInputException.class, () -> batch.join(9));
        assertThrows(org.mimi4j.InvalidInputException.class, () -> batch.join(0));
    }

    @Test
    void offlineExactBatchGivesOfflineCodes() {
        Mimi m = model("moshi.safetensors");
        EncoderBatch batch = m.encoderBatch(2, 8, StreamMode.OFFLINE_EXACT);
        List<Job> jobs = jobs();
        drive(batch, jobs);
        for (Job j : jobs) assertCodes(codes(j.c + ".codes_q8", j.item), transpose(j.frames.toArray(new int[0][]), 8), "offline-exact " + j.c);
    }

    @Test
    void streamsWithNothingReadyAreSkipped() {
        Mimi m = model("model.safetensors");
        EncoderBatch batch = m.encoderBatch(4, 8);
        EncoderBatch.Slot idle = batch.join(), busy = batch.join(), partial = batch.join();
        float[] a = audio("long", 0);
        busy.push(a, 0, 1920 * 3);
        partial.push(a, 0, 1919);
        assertFalse(idle.ready());
        assertFalse(partial.ready());
        assertEquals(1, batch.step());
        assertEquals(1, batch.step());
        assertEquals(1, batch.step());
        assertEquals(0, batch.step());
        assertEquals(3, busy.framesOut());
        assertEquals(0, idle.framesOut());
        assertEquals(0, partial.framesOut());
        assertEquals(1919, partial.bufferedSamples());
        // the skipped streams start from position 0 later and still give the golden codes
        idle.push(a);
        idle.end();
        partial.push(a, 1919, a.length - 1919);
        partial.end();
        busy.push(a, 1920 * 3, a.length - 1920 * 3);
        busy.end();
        assertEquals(75, batch.drain(), "75 frames for the two that start late; busy is 3 frames ahead");
        int[][] want = codes("long.stream_codes_q8", 0);
        for (EncoderBatch.Slot s : List.of(idle, partial)) assertCodes(want, transpose(s.poll(), 8), "slot " + s.index());
        int[][] b = busy.poll();
        assertEquals(75, b.length);
        assertTrue(idle.finished() && partial.finished() && busy.finished());
        assertEquals(0, batch.step());
    }

    @Test
    void slotsAreReusedWithAFreshState() {
        Mimi m = model("model.safetensors");
        EncoderBatch batch = m.encoderBatch(2, 8);
        float[] a = audio("long", 0);
        EncoderBatch.Slot s0 = batch.join(), s1 = batch.join();
        assertThrows(IllegalStateException.class, batch::join, "full");
        s0.push(a, 0, 1920 * 20);
        s1.push(a, 0, 1920 * 20);
        batch.drain();
        s0.leave();
        assertThrows(IllegalStateException.class, () -> s0.push(new float[1]), "stale handle");
        assertThrows(IllegalStateException.class, s0::poll, "stale handle");
        EncoderBatch.Slot s2 = batch.join();
        assertEquals(s0.index(), s2.index());
        assertEquals(0, s2.framesOut());
        s2.push(a);
        s2.end();
        s1.push(a, 1920 * 20, a.length - 1920 * 20);
        s1.end();
        batch.drain();
        int[][] want = codes("long.stream_codes_q8", 0);
        assertCodes(want, transpose(s2.poll(), 8), "reused slot");
        int[][] first = s1.poll();
        assertEquals(75, first.length);
        assertCodes(want, transpose(first, 8), "other slot");
    }

    @Test
    void streamsMoveBetweenSoloAndBatch() {
        Mimi m = model("moshi.safetensors");
        float[] a = audio("odd", 0);
        int[][] want = codes("odd.stream_codes_q8", 0);
        List<int[]> out = new ArrayList<>();
        MimiEncoderStream solo = m.encoderStream(8);
        out.addAll(List.of(solo.push(a, 0, 30_001)));       // 15 frames + 1201 pending samples
        EncoderBatch batch = m.encoderBatch(2, 8);
        batch.join().push(a, 0, 5000);                        // a neighbour
        EncoderBatch.Slot s = batch.join(solo);
        assertEquals(15, s.framesOut());
        assertEquals(1201, s.bufferedSamples());
        s.push(a, 30_001, 30_000);
        batch.drain();
        out.addAll(List.of(s.poll()));
        assertNotEquals(0, s.bufferedSamples());
        MimiEncoderStream back = s.toStream();
        s.leave();
        out.addAll(List.of(back.push(a, 60_001, a.length - 60_001)));
        out.addAll(List.of(back.end()));
        assertCodes(want, transpose(out.toArray(new int[0][]), 8), "solo -> batch -> solo");
        // the original solo stream was not disturbed by join(stream)
        List<int[]> rest = new ArrayList<>(List.of(solo.push(a, 30_001, a.length - 30_001)));
        rest.addAll(List.of(solo.end()));
        assertEquals(want[0].length - 15, rest.size());
        // a stream of another count keeps its own in the batch: 4 codebooks per frame beside the batch's 8
        MimiEncoderStream four = m.encoderStream(4);
        int[][] first = four.push(a, 0, 5000);
        EncoderBatch.Slot s4 = batch.join(four);
        assertEquals(4, s4.numQuantizers());
        s4.push(a, 5000, 20_000);
        batch.drain();
        List<int[]> fourOut = new ArrayList<>(List.of(first));
        fourOut.addAll(List.of(s4.poll()));
        assertEquals(25_000 / 1920, fourOut.size());
        int[][] want4 = codes("odd.stream_codes_q4", 0);
        for (int q = 0; q < 4; q++) want4[q] = java.util.Arrays.copyOf(want4[q], fourOut.size());
        assertCodes(want4, transpose(fourOut.toArray(new int[0][]), 4), "4 codebooks in a batch of 8");
    }

    @Test
    void batchesOnManyThreadsShareOneModel() throws Exception {
        Mimi m = model("moshi.safetensors");
        List<Thread> threads = new ArrayList<>();
        List<Throwable> errors = java.util.Collections.synchronizedList(new ArrayList<>());
        for (int t = 0; t < 4; t++) {
            threads.add(Thread.ofPlatform().start(() -> {
                try {
                    EncoderBatch batch = m.encoderBatch(3, 8);
                    List<Job> jobs = jobs();
                    drive(batch, jobs);
                    for (Job j : jobs) assertCodes(codes(j.c + ".stream_codes_q8", j.item), transpose(j.frames.toArray(new int[0][]), 8), j.c);
                } catch (Throwable e) {
                    errors.add(e);
                }
            }));
        }
        for (Thread t : threads) t.join();
        if (!errors.isEmpty()) throw new AssertionError(errors.get(0));
    }
}
