package org.mimi4j.spark;

import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A task that fails in the middle of its partition (after writing some rows) is retried by Spark, and the output
 * still holds every input exactly once; a resumed run adds exactly the missing inputs.
 */
class SparkTaskFailureTest {
    @TempDir
    static Path tmp;
    static SparkSession spark;
    static GeneratedCorpus.Corpus corpus;
    static List<String> paths;

    @BeforeAll
    static void setUp() throws Exception {
        corpus = GeneratedCorpus.generate(tmp.resolve("corpus"), 44, 0.2, 2.0, true, true, 2);
        spark = SparkTestSupport.session("local[2,3]"); // 2 threads, a task may fail up to 3 times
        paths = MimiTokenizer.listAudio(spark, List.of(corpus.root().toString()));
        assertEquals(52, paths.size());
    }

    @AfterAll
    static void tearDown() {
        if (spark != null) spark.stop();
    }

    static MimiTokenizer.Options options() {
        return new MimiTokenizer.Options().model(SparkTestSupport.tinyModel()).filesPerTask(8);
    }

    static Map<String, Row> output(String out) {
        return SparkTestSupport.byPath(spark.read().parquet(out).collectAsList()); // fails on a duplicate path
    }

    @Test
    void aTaskFailingMidwayIsRetriedWithoutDuplicateOrMissingRows() throws Exception {
        String clean = tmp.resolve("clean").toString(), failed = tmp.resolve("failed").toString();
        MimiTokenizer.run(spark, MimiTokenizer.paths(spark, paths), clean, options(), MimiTokenizer.Mode.ERROR_IF_EXISTS);
        int injected = MimiTokenizer.injectedFailures();
        // partition 2 of 7 throws on its first attempt after producing 3 of its 8 rows (its Parquet file is half written)
        MimiTokenizer.Summary s = MimiTokenizer.run(spark, MimiTokenizer.paths(spark, paths), failed,
                options().failFirstAttempt(2, 3), MimiTokenizer.Mode.ERROR_IF_EXISTS);
        assertEquals(injected + 1, MimiTokenizer.injectedFailures(), "the task failed once");
        assertEquals(50, s.encoded(), "counts of the failed attempt are not added: " + s);
        assertEquals(2, s.failed());

        Map<String, Row> a = output(clean), b = output(failed);
        assertEquals(paths.size(), b.size());
        assertEquals(a.keySet(), b.keySet());
        for (String p : paths) {
            Row ra = a.get(p), rb = b.get(p);
            assertNotNull(rb, p);
            assertEquals((Object) ra.getAs("error"), rb.getAs("error"), p);
            assertArrayEquals(SparkTestSupport.codes(ra), SparkTestSupport.codes(rb), p);
        }
        try (Stream<Path> files = Files.list(Path.of(failed))) {
            assertFalse(files.anyMatch(f -> f.getFileName().toString().equals("_temporary")), "no attempt's leftovers");
        }
        assertTrue(Files.exists(Path.of(failed, "_SUCCESS")));
    }

    @Test
    void aTaskKilledMidwayIsRescheduledWithoutDuplicateOrMissingRows() throws Exception {
        String clean = tmp.resolve("clean-for-kill").toString(), killed = tmp.resolve("killed").toString();
        MimiTokenizer.run(spark, MimiTokenizer.paths(spark, paths), clean, options(), MimiTokenizer.Mode.ERROR_IF_EXISTS);
        MimiTokenizer.takeBlockedTaskAttempt();
        // partition 4's first attempt writes 5 rows, then hangs until SparkContext.killTaskAttempt interrupts it
        java.util.concurrent.ExecutorService driver = java.util.concurrent.Executors.newSingleThreadExecutor();
        try {
            java.util.concurrent.Future<MimiTokenizer.Summary> job = driver.submit(() -> MimiTokenizer.run(spark, MimiTokenizer.paths(spark, paths),
                    killed, options().blockFirstAttempt(4, 5), MimiTokenizer.Mode.ERROR_IF_EXISTS));
            long task = -1;
            for (long deadline = System.nanoTime() + 120_000_000_000L; task < 0 && System.nanoTime() < deadline && !job.isDone(); Thread.sleep(50)) {
                task = MimiTokenizer.takeBlockedTaskAttempt();
            }
            assertTrue(task >= 0, "the hook blocked a task");
            assertTrue(spark.sparkContext().killTaskAttempt(task, true, "killed by the test"));
            MimiTokenizer.Summary s = job.get(5, java.util.concurrent.TimeUnit.MINUTES);
            assertEquals(50, s.encoded(), s.toString());
        } finally {
            driver.shutdownNow();
        }
        Map<String, Row> a = output(clean), b = output(killed);
        assertEquals(paths.size(), b.size());
        for (String p : paths) assertArrayEquals(SparkTestSupport.codes(a.get(p)), SparkTestSupport.codes(b.get(p)), p);
    }

    @Test
    void resumeAddsExactlyTheMissingInputs() throws Exception {
        String out = tmp.resolve("resumed").toString();
        MimiTokenizer.Summary first = MimiTokenizer.run(spark, MimiTokenizer.paths(spark, paths.subList(0, 20)), out, options(), MimiTokenizer.Mode.RESUME);
        assertEquals(20, first.inputs());
        assertEquals(20, output(out).size());
        List<String> withRepeats = new java.util.ArrayList<>(paths);
        withRepeats.addAll(paths.subList(10, 30)); // a path listed twice is still encoded once
        MimiTokenizer.Summary second = MimiTokenizer.run(spark, MimiTokenizer.paths(spark, withRepeats), out, options().failFirstAttempt(1, 2), MimiTokenizer.Mode.RESUME);
        assertEquals(paths.size(), second.inputs());
        assertEquals(20, second.skipped());
        assertEquals(paths.size() - 20, second.encoded() + second.failed());
        Map<String, Row> rows = output(out);
        assertEquals(paths.size(), rows.size());
        assertEquals(new java.util.HashSet<>(paths), rows.keySet());
        MimiTokenizer.Summary third = MimiTokenizer.run(spark, MimiTokenizer.paths(spark, paths), out, options(), MimiTokenizer.Mode.RESUME);
        assertEquals(paths.size(), third.skipped());
        assertEquals(paths.size(), output(out).size());
    }
}
