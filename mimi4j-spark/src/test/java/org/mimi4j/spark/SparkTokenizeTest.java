package org.mimi4j.spark;

import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mimi4j.MimiException;
import org.mimi4j.cli.MimiCli;
import org.mimi4j.io.CodesFile;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * On local[2], ~50 generated files (WAV 16/24-bit and float at 8 to 48 kHz, mono and stereo, FLAC, MP3, Ogg; two
 * corrupt): each good file's row holds exactly the codes {@code mimi encode} writes for it, each corrupt file one
 * error row.
 */
class SparkTokenizeTest {
    @TempDir
    static Path tmp;
    static SparkSession spark;
    static GeneratedCorpus.Corpus corpus;
    static Path cliOut;
    static String cliErr;
    static final Map<String, String> cliErrors = new java.util.HashMap<>();

    @BeforeAll
    static void setUp() throws Exception {
        corpus = GeneratedCorpus.generate(tmp.resolve("corpus"), 44, 0.2, 2.0, true, true, 1);
        // the reference: the real CLI, in-process, encoding the folder (exit status 1: two files failed)
        cliOut = tmp.resolve("cli");
        StringWriter out = new StringWriter(), err = new StringWriter();
        int status = MimiCli.run(new PrintWriter(out, true), new PrintWriter(err, true),
                "encode", corpus.root().toString(), "-o", cliOut.toString(), "--model", SparkTestSupport.tinyModel(), "-n", "8");
        cliErr = err.toString();
        assertEquals(1, status, cliErr);
        for (String line : java.nio.file.Files.readAllLines(cliOut.resolve("manifest.jsonl"))) {
            @SuppressWarnings("unchecked") Map<String, Object> rec = (Map<String, Object>) org.mimi4j.io.Json.parse(line);
            if ("error".equals(rec.get("status"))) cliErrors.put((String) rec.get("path"), (String) rec.get("error"));
        }
        assertEquals(2, cliErrors.size(), cliErrors.toString());
        spark = SparkTestSupport.session("local[2]");
    }

    @AfterAll
    static void tearDown() {
        if (spark != null) spark.stop();
    }

    static MimiTokenizer.Options options() {
        return new MimiTokenizer.Options().model(SparkTestSupport.tinyModel()).numQuantizers(8).filesPerTask(8);
    }

    /** What the CLI wrote for a corpus file. */
    static CodesFile.Codes cli(Path f) throws Exception {
        Path rel = corpus.root().relativize(f);
        String n = rel.getFileName().toString();
        return CodesFile.read(cliOut.resolve(rel).resolveSibling(n.substring(0, n.lastIndexOf('.')) + ".safetensors"));
    }

    @Test
    void sameCodesAsTheCliAndOneErrorRowPerCorruptFile() throws Exception {
        assertEquals(52, corpus.all().size());
        int loadsBefore = ModelSpec.loadsInThisJvm();
        String out = tmp.resolve("out").toString();
        List<String> paths = MimiTokenizer.listAudio(spark, List.of(corpus.root().toString()));
        assertEquals(corpus.all().size(), paths.size());
        MimiTokenizer.Summary s = MimiTokenizer.run(spark, MimiTokenizer.paths(spark, paths), out, options(), MimiTokenizer.Mode.ERROR_IF_EXISTS);
        System.out.println("local[2]: " + s);
        assertEquals(corpus.good().size(), s.encoded());
        assertEquals(2, s.failed());
        assertTrue(ModelSpec.loadsInThisJvm() - loadsBefore <= 1, "the model is loaded once per JVM");

        Dataset<Row> result = spark.read().parquet(out);
        assertEquals("array<array<smallint>>", result.schema().apply("codes").dataType().simpleString());
        Map<String, Row> rows = SparkTestSupport.byPath(result.collectAsList());
        assertEquals(corpus.all().size(), rows.size());
        // what pyarrow / pandas / datasets see: standard 3-level lists of int16 (list<list<int16>>)
        Path part;
        try (var files = java.nio.file.Files.list(Path.of(out))) {
            part = files.filter(p -> p.toString().endsWith(".parquet")).findFirst().orElseThrow();
        }
        try (var reader = org.apache.parquet.hadoop.ParquetFileReader.open(org.apache.parquet.hadoop.util.HadoopInputFile.fromPath(
                new org.apache.hadoop.fs.Path(part.toUri()), new org.apache.hadoop.conf.Configuration()))) {
            String schema = reader.getFooter().getFileMetaData().getSchema().toString().replaceAll("\\s+", " ");
            assertTrue(schema.contains("optional group codes (LIST) { repeated group list { required group element (LIST) { repeated group list "
                    + "{ required int32 element (INTEGER(16,true)); } } } }"), schema);
        }
        for (Path f : corpus.good()) {
            Row r = rows.get(f.toString());
            assertNotNull(r, f.toString());
            assertNull(r.getAs("error"), f.toString());
            CodesFile.Codes c = cli(f);
            assertArrayEquals(c.codes(), SparkTestSupport.codes(r), f.toString());
            Map<String, String> meta = c.metadata();
            assertEquals(Long.parseLong(meta.get("input_samples")), (long) r.getAs("samples"), f.toString());
            assertEquals(Integer.parseInt(meta.get("source_sample_rate")), (int) r.getAs("source_sample_rate"), f.toString());
            assertEquals(Integer.parseInt(meta.get("sample_rate")), (int) r.getAs("sample_rate"));
            assertEquals(c.frames(), (int) r.getAs("frames"));
            assertEquals(8, (int) r.getAs("num_quantizers"));
            assertEquals(meta.get("model"), r.getAs("model"));
            assertEquals(meta.get("padding"), r.getAs("padding"));
        }
        for (Path f : corpus.corrupt()) {
            Row r = rows.get(f.toString());
            assertNotNull(r, f.toString());
            String e = r.getAs("error");
            assertNotNull(e, f.toString());
            assertTrue(e.contains(f.getFileName().toString()) && !e.contains("\n"), e);
            assertNull(r.getAs("codes"));
            assertEquals(cliErrors.get(corpus.root().relativize(f).toString()), e, "the CLI reports the same error");
        }

        // a re-run does nothing new with resume, and refuses to clobber without it
        MimiTokenizer.Summary again = MimiTokenizer.run(spark, MimiTokenizer.paths(spark, paths), out, options(), MimiTokenizer.Mode.RESUME);
        assertEquals(corpus.all().size(), again.skipped());
        assertEquals(0, again.encoded() + again.failed());
        assertEquals(corpus.all().size(), spark.read().parquet(out).count());
        assertThrows(MimiException.class, () -> MimiTokenizer.run(spark, MimiTokenizer.paths(spark, paths), out, options(), MimiTokenizer.Mode.ERROR_IF_EXISTS));
    }

    @Test
    void binaryAudioColumnGivesTheSameCodes() throws Exception {
        // Spark's binaryFile source: path (file: URI) and content columns, the audio travels in the table
        Dataset<Row> table = spark.read().format("binaryFile").option("recursiveFileLookup", "true").load(corpus.root().toString());
        String out = tmp.resolve("out-binary").toString();
        MimiTokenizer.Summary s = MimiTokenizer.run(spark, table, out, options().pathColumn("path").audioColumn("content"), MimiTokenizer.Mode.ERROR_IF_EXISTS);
        assertEquals(corpus.good().size(), s.encoded());
        assertEquals(2, s.failed());
        Map<String, Row> rows = SparkTestSupport.byPath(spark.read().parquet(out).collectAsList());
        for (Path f : corpus.good()) {
            Row r = rows.get(f.toUri().toString().replace("file:///", "file:/"));
            assertNotNull(r, f + " in " + rows.keySet());
            assertNull(r.getAs("error"), f.toString());
            assertArrayEquals(cli(f).codes(), SparkTestSupport.codes(r), f.toString());
        }
        for (Path f : corpus.corrupt()) assertNotNull(rows.get(f.toUri().toString().replace("file:///", "file:/")).getAs("error"));
    }

    @Test
    void aModelShippedWithAddFileIsFoundByItsName() throws Exception {
        // what spark-submit --files model.safetensors,config.json ... --model model.safetensors does
        Path tiny = Path.of(SparkTestSupport.tinyModel());
        spark.sparkContext().addFile(tiny.toString());
        spark.sparkContext().addFile(tiny.resolveSibling("config.json").toString());
        List<Path> some = corpus.good().subList(0, 6);
        String out = tmp.resolve("out-shipped").toString();
        MimiTokenizer.Summary s = MimiTokenizer.run(spark, MimiTokenizer.paths(spark, some.stream().map(Path::toString).toList()), out,
                options().model("model.safetensors").modelId("tiny"), MimiTokenizer.Mode.ERROR_IF_EXISTS);
        assertEquals(6, s.encoded(), s.toString());
        Map<String, Row> rows = SparkTestSupport.byPath(spark.read().parquet(out).collectAsList());
        for (Path f : some) {
            assertArrayEquals(cli(f).codes(), SparkTestSupport.codes(rows.get(f.toString())), f.toString());
            assertEquals("tiny", rows.get(f.toString()).getAs("model"));
        }
    }

    @Test
    void badOptionsFailOnTheDriverWithOneLine() throws Exception {
        MimiException e = assertThrows(MimiException.class, () -> MimiTokenizer.tokenize(spark,
                MimiTokenizer.paths(spark, List.of("x.wav")), options().numQuantizers(9)));
        assertTrue(e.getMessage().contains("exceeds the model's 8 codebooks"), e.getMessage());
        assertThrows(MimiException.class, () -> MimiTokenizer.listAudio(spark, List.of(tmp.resolve("nothing-here").toString())));
        // a folder with no audio file in it, as mimi encode FOLDER
        Path noAudio = tmp.resolve("no-audio");
        java.nio.file.Files.createDirectories(noAudio.resolve("sub"));
        java.nio.file.Files.writeString(noAudio.resolve("sub/readme.txt"), "text");
        e = assertThrows(MimiException.class, () -> MimiTokenizer.listAudio(spark, List.of(noAudio.toString())));
        assertTrue(e.getMessage().contains("no-audio: no audio files"), e.getMessage());
    }
}
