package org.mimi4j.spark;

import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The command line of the job (what spark-submit runs): inputs of each kind, exit statuses, one-line errors. */
class TokenizeJobTest {
    @TempDir
    Path tmp;

    record Run(int status, String err) {
    }

    static Run job(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        int s = TokenizeJob.run(new PrintWriter(out, true), new PrintWriter(err, true), args);
        return new Run(s, err.toString());
    }

    static List<Row> read(String out) {
        SparkSession spark = SparkTestSupport.session("local[1]");
        try {
            return spark.read().parquet(out).collectAsList();
        } finally {
            spark.stop();
        }
    }

    @Test
    void foldersListsAndParquetTables() throws Exception {
        GeneratedCorpus.Corpus c = GeneratedCorpus.generate(tmp.resolve("corpus"), 10, 0.2, 1.0, false, true, 3);
        String tiny = SparkTestSupport.tinyModel();
        String out = tmp.resolve("out").toString();
        String[] common = {"--model", tiny, "--master", "local[2]", "--files-per-task", "4", "-n", "4", "--conf-free"};
        common = java.util.Arrays.copyOf(common, common.length - 1);

        Run r = job(concat(new String[]{c.root().resolve("wav").toString(), c.root().resolve("broken").toString(), "-o", out}, common));
        assertEquals(0, r.status(), r.err());
        assertTrue(r.err().contains("12 inputs: 10 encoded") && r.err().contains("2 failed"), r.err());
        List<Row> rows = read(out);
        assertEquals(12, rows.size());
        for (Row row : rows) if (row.getAs("error") == null) assertEquals(4, (int) row.getAs("num_quantizers"));

        // the output exists: refused without --resume, nothing to do with it
        r = job(concat(new String[]{c.root().toString(), "-o", out}, common));
        assertEquals(1, r.status());
        assertTrue(r.err().strip().matches("spark-tokenize: error: .*already exists.*") && r.err().strip().lines().count() == 1, r.err());
        r = job(concat(new String[]{c.root().toString(), "-o", out, "--resume"}, common));
        assertEquals(0, r.status(), r.err());
        assertTrue(r.err().contains("12 skipped"), r.err());

        // a list of paths, and a glob
        Path list = tmp.resolve("list.txt");
        Files.writeString(list, "# two files\n" + c.good().get(0) + "\n\n" + c.good().get(1) + "\n");
        r = job(concat(new String[]{"--list", list.toString(), "-o", tmp.resolve("from-list").toString()}, common));
        assertEquals(0, r.status(), r.err());
        assertEquals(2, read(tmp.resolve("from-list").toString()).size());
        r = job(concat(new String[]{c.root().resolve("wav/speaker[01]/*.wav").toString(), "-o", tmp.resolve("from-glob").toString()}, common));
        assertEquals(0, r.status(), r.err());
        assertEquals(4, read(tmp.resolve("from-glob").toString()).size());

        // a Parquet table with the audio in a binary column, and one with paths under another name
        SparkSession spark = SparkTestSupport.session("local[1]");
        try {
            spark.read().format("binaryFile").option("recursiveFileLookup", "true").load(c.root().resolve("wav").toString())
                    .select("path", "content").write().parquet(tmp.resolve("table-binary").toString());
            MimiTokenizer.paths(spark, c.good().stream().map(Path::toString).toList()).withColumnRenamed("path", "file")
                    .write().parquet(tmp.resolve("table-paths").toString());
        } finally {
            spark.stop();
        }
        r = job(concat(new String[]{"--parquet", tmp.resolve("table-binary").toString(), "--audio-column", "content", "-o", tmp.resolve("from-binary").toString()}, common));
        assertEquals(0, r.status(), r.err());
        r = job(concat(new String[]{"--parquet", tmp.resolve("table-paths").toString(), "--path-column", "file", "-o", tmp.resolve("from-paths").toString()}, common));
        assertEquals(0, r.status(), r.err());
        Map<String, Row> fromPaths = SparkTestSupport.byPath(read(tmp.resolve("from-paths").toString()));
        Map<String, Row> fromBinary = SparkTestSupport.byPath(read(tmp.resolve("from-binary").toString()));
        assertEquals(10, fromPaths.size());
        assertEquals(10, fromBinary.size());
        for (Path f : c.good()) {
            Row a = fromPaths.get(f.toString()), b = fromBinary.get("file:" + f);
            assertNull(a.getAs("error"));
            assertNull(b.getAs("error"));
            org.junit.jupiter.api.Assertions.assertArrayEquals(SparkTestSupport.codes(a), SparkTestSupport.codes(b), f.toString());
        }
    }

    @Test
    void usageMistakesEndWithOneLine() {
        Run r = job("-o", tmp.resolve("x").toString());
        assertEquals(1, r.status());
        assertEquals("spark-tokenize: error: give one kind of input: INPUT paths, --list FILE or --parquet TABLE", r.err().strip());
        r = job(tmp.toString(), "-o", tmp.resolve("x").toString(), "--resume", "--overwrite");
        assertEquals(1, r.status());
        r = job(tmp.toString());
        assertEquals(2, r.status(), r.err()); // picocli: missing -o
    }

    static String[] concat(String[] a, String[] b) {
        String[] r = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }
}
