package org.mimi4j.spark;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocatedFileStatus;
import org.apache.hadoop.fs.RemoteIterator;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.util.LongAccumulator;
import org.mimi4j.Mimi;
import org.mimi4j.MimiException;
import org.mimi4j.Padding;

import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.NoSuchElementException;

import static org.apache.spark.sql.functions.col;

/**
 * Tokenizes datasets of audio with Mimi on Spark: each input row (a path, and optionally the file's bytes) becomes
 * one output row with the codes {@code mimi encode} writes for that file, or an error.
 *
 * <pre>{@code
 * MimiTokenizer.Options o = new MimiTokenizer.Options().model("kyutai/mimi").numQuantizers(8);
 * Dataset<Row> input = MimiTokenizer.paths(spark, MimiTokenizer.listAudio(spark, List.of("/data/corpus")));
 * MimiTokenizer.Summary s = MimiTokenizer.run(spark, input, "/data/corpus-codes", o, MimiTokenizer.Mode.RESUME);
 * }</pre>
 *
 * Output schema ({@link #SCHEMA}): path, sample_rate, source_sample_rate, samples, frames, num_quantizers, codes
 * ({@code array<array<short>>} [K][T]: codebook indices are below 2048, so a short holds them), model, padding,
 * error (null for a good file; then the other columns but path are null).
 */
public final class MimiTokenizer {
    private MimiTokenizer() {
    }

    public static final String PATH = "path";
    /** The output schema. */
    public static final StructType SCHEMA = new StructType(new StructField[]{
            field(PATH, DataTypes.StringType, false),
            field("sample_rate", DataTypes.IntegerType, true),
            field("source_sample_rate", DataTypes.IntegerType, true),
            field("samples", DataTypes.LongType, true),
            field("frames", DataTypes.IntegerType, true),
            field("num_quantizers", DataTypes.IntegerType, true),
            field("codes", DataTypes.createArrayType(DataTypes.createArrayType(DataTypes.ShortType, false), false), true),
            field("model", DataTypes.StringType, true),
            field("padding", DataTypes.StringType, true),
            field("error", DataTypes.StringType, true),
    });
    /** File name extensions taken when a folder is listed (those of {@code mimi encode FOLDER}). */
    public static final List<String> EXTENSIONS = List.of("wav", "wave", "flac", "mp3", "ogg", "oga");

    private static StructField field(String name, DataType type, boolean nullable) {
        return DataTypes.createStructField(name, type, nullable);
    }

    /** What to do when the output already exists. */
    public enum Mode {
        /** Fail if the output exists (the default, as {@code mimi encode} without --overwrite). */
        ERROR_IF_EXISTS,
        /** Replace the output. */
        OVERWRITE,
        /** Skip inputs whose path is already in the output, append rows for the others. */
        RESUME
    }

    /** Options of a tokenize run; serializable, shipped to the executors. */
    public static final class Options implements Serializable {
        String model = "kyutai/mimi";
        String config;
        String modelId;
        int numQuantizers = 8;
        Padding padding = Padding.MOSHI;
        int filesPerTask = 64;
        String pathColumn = PATH;
        String audioColumn;
        // test hooks: fail, or block until killed, the first attempt of one task after it has produced some rows
        int failPartition = -1;
        int failAfterRows;
        boolean blockInsteadOfFailing;

        /** A folder or weight file on every node (or shipped with --files), a hub repo id, or "random", as the CLI's --model. */
        public Options model(String model) {
            this.model = model;
            return this;
        }

        /** config.json for a weight file without one beside it (the CLI's --config). */
        public Options config(String config) {
            this.config = config;
            return this;
        }

        /** What the model column holds (default: the model's source as the CLI records it, or the hub id). */
        public Options modelId(String id) {
            this.modelId = id;
            return this;
        }

        public Options numQuantizers(int n) {
            this.numQuantizers = n;
            return this;
        }

        public Options padding(Padding p) {
            this.padding = p;
            return this;
        }

        /** Inputs per Spark task (the unit Spark retries); 0 keeps the input's own partitioning. */
        public Options filesPerTask(int n) {
            this.filesPerTask = n;
            return this;
        }

        /** The input column with the path (or, for binary input, the name) of each file. Default "path". */
        public Options pathColumn(String c) {
            this.pathColumn = c;
            return this;
        }

        /** The input column with each file's bytes, if the audio is in the table rather than in files. */
        public Options audioColumn(String c) {
            this.audioColumn = c;
            return this;
        }

        Options failFirstAttempt(int partition, int afterRows) {
            this.failPartition = partition;
            this.failAfterRows = afterRows;
            return this;
        }

        /** The first attempt of the partition blocks after afterRows rows until it is killed ({@link #blockedTaskAttempt}). */
        Options blockFirstAttempt(int partition, int afterRows) {
            failFirstAttempt(partition, afterRows);
            this.blockInsteadOfFailing = true;
            return this;
        }

        ModelSpec spec() {
            return new ModelSpec(model, config);
        }
    }

    /** What a run did. */
    public record Summary(long inputs, long skipped, long encoded, long failed, double audioSeconds, double wallSeconds) {
        @Override
        public String toString() {
            return String.format(Locale.ROOT, "%d inputs: %d encoded (%.3f h of audio), %d failed, %d skipped (already in the output) in %.1f s",
                    inputs, encoded, audioSeconds / 3600, failed, skipped, wallSeconds);
        }
    }

    // ------------------------------------------------------------------ inputs

    /**
     * Audio files named by folders (every file below with an audio extension, as {@code mimi encode FOLDER}), globs
     * (Hadoop globs: {@code /data/*}{@code /*.flac}, {@code {a,b}}; every match, a matched folder listed as above) or
     * plain files, on any Hadoop file system; sorted, without duplicates. Local files are given as plain absolute
     * paths, others as URIs.
     */
    public static List<String> listAudio(SparkSession spark, List<String> foldersOrGlobs) throws IOException {
        Configuration conf = spark.sparkContext().hadoopConfiguration();
        java.util.TreeSet<String> out = new java.util.TreeSet<>();
        for (String s : foldersOrGlobs) {
            org.apache.hadoop.fs.Path p = new org.apache.hadoop.fs.Path(s);
            FileSystem fs = p.getFileSystem(conf);
            FileStatus[] matches = fs.globStatus(p);
            if (matches == null || matches.length == 0) throw new MimiException(s + ": no such file or directory");
            for (FileStatus m : matches) {
                if (m.isDirectory()) {
                    RemoteIterator<LocatedFileStatus> it = fs.listFiles(m.getPath(), true);
                    while (it.hasNext()) {
                        LocatedFileStatus f = it.next();
                        if (f.isFile() && isAudio(f.getPath(), m.getPath())) out.add(name(f.getPath()));
                    }
                } else {
                    out.add(name(m.getPath()));
                }
            }
        }
        // as mimi encode FOLDER: nothing to encode is a mistake (a wrong path), not a job of 0 files
        if (out.isEmpty()) throw new MimiException(String.join(", ", foldersOrGlobs) + ": no audio files (." + String.join(", .", EXTENSIONS) + ")");
        return new ArrayList<>(out);
    }

    private static boolean isAudio(org.apache.hadoop.fs.Path file, org.apache.hadoop.fs.Path root) {
        for (org.apache.hadoop.fs.Path p = file; p != null && !p.equals(root); p = p.getParent()) {
            if (p.getName().startsWith(".") || p.getName().startsWith("_")) return false; // hidden, or Spark/Hadoop metadata
        }
        String n = file.getName();
        int dot = n.lastIndexOf('.');
        return dot > 0 && EXTENSIONS.contains(n.substring(dot + 1).toLowerCase(Locale.ROOT));
    }

    private static String name(org.apache.hadoop.fs.Path p) {
        java.net.URI u = p.toUri();
        return "file".equals(u.getScheme()) ? u.getPath() : p.toString();
    }

    /** Reads a list of paths, one a line (blank lines and lines starting with # ignored), from a text file on any Hadoop file system. */
    public static List<String> readPathList(SparkSession spark, String listFile) throws IOException {
        org.apache.hadoop.fs.Path p = new org.apache.hadoop.fs.Path(listFile);
        FileSystem fs = p.getFileSystem(spark.sparkContext().hadoopConfiguration());
        List<String> out = new ArrayList<>();
        try (var r = new java.io.BufferedReader(new java.io.InputStreamReader(fs.open(p), java.nio.charset.StandardCharsets.UTF_8))) {
            for (String line; (line = r.readLine()) != null; ) {
                String s = line.strip();
                if (!s.isEmpty() && !s.startsWith("#")) out.add(s);
            }
        }
        return out;
    }

    /** A dataset with one column, {@code path}, of the given paths. */
    public static Dataset<Row> paths(SparkSession spark, List<String> paths) {
        StructType schema = new StructType(new StructField[]{field(PATH, DataTypes.StringType, false)});
        List<Row> rows = new ArrayList<>(paths.size());
        for (String p : paths) rows.add(RowFactory.create(p));
        return spark.createDataFrame(rows, schema);
    }

    // ------------------------------------------------------------------ tokenizing

    /**
     * The output rows for {@code input} (lazy: nothing runs before an action). {@code input} has the path column
     * ({@link Options#pathColumn}, a string) and, if {@link Options#audioColumn} is set, the binary audio column;
     * other columns are ignored. Each distinct path gives one output row (the path is the key: a repeated path is
     * encoded once, except in a binary table with {@code filesPerTask} 0, which is taken as it is). Repartitions to {@link Options#filesPerTask} inputs per task when that is positive (which counts
     * the input).
     */
    public static Dataset<Row> tokenize(SparkSession spark, Dataset<Row> input, Options o) {
        checkOptions(o);
        Dataset<Row> in = prepare(input, o);
        return encode(spark, in, o, o.filesPerTask > 0 ? in.count() : -1, null);
    }

    /** The path (and audio) columns under their own names, one row per path. */
    private static Dataset<Row> prepare(Dataset<Row> input, Options o) {
        List<Column> cols = new ArrayList<>();
        cols.add(input.col(o.pathColumn).cast(DataTypes.StringType).as(PATH));
        if (o.audioColumn != null) cols.add(input.col(o.audioColumn).cast(DataTypes.BinaryType).as("audio"));
        Dataset<Row> in = input.select(cols.toArray(new Column[0]));
        if (o.audioColumn == null) return in.distinct();
        return o.filesPerTask > 0 ? in.dropDuplicates(PATH) : in; // 0: no shuffle of the audio at all, the table's paths are taken as unique
    }

    private static Dataset<Row> encode(SparkSession spark, Dataset<Row> in, Options o, long count, Counters counters) {
        Mimi m = checkOptions(o);
        String modelId = modelId(o);
        if (o.filesPerTask > 0) in = in.repartition((int) Math.max(1, (count + o.filesPerTask - 1) / o.filesPerTask));
        HashMap<String, String> conf = new HashMap<>();
        for (Map.Entry<String, String> e : spark.sparkContext().hadoopConfiguration()) conf.put(e.getKey(), e.getValue());
        Broadcast<HashMap<String, String>> hadoopConf = JavaSparkContext.fromSparkContext(spark.sparkContext()).broadcast(conf);
        String paddingName = o.padding.name().toLowerCase(Locale.ROOT);
        boolean binary = o.audioColumn != null;
        MapPartitionsFunction<Row, Row> f = rows -> new EncodingIterator(rows, o, modelId, paddingName, binary, hadoopConf.value(), counters);
        return in.mapPartitions(f, Encoders.row(SCHEMA));
    }

    /** Tokenizes {@code input} into Parquet at {@code output} with Spark's output committer; see {@link Mode}. */
    public static Summary run(SparkSession spark, Dataset<Row> input, String output, Options o, Mode mode) throws IOException {
        long start = System.nanoTime();
        checkOptions(o);
        org.apache.hadoop.fs.Path out = new org.apache.hadoop.fs.Path(output);
        FileSystem fs = out.getFileSystem(spark.sparkContext().hadoopConfiguration());
        boolean exists = fs.exists(out) && (!fs.getFileStatus(out).isDirectory() || fs.listStatus(out).length > 0);
        Dataset<Row> todo = prepare(input, o);
        long inputs = -1, skipped = 0;
        SaveMode save = SaveMode.Overwrite; // the output is absent or an empty folder
        if (exists) {
            switch (mode) {
                case ERROR_IF_EXISTS -> throw new MimiException(output + ": already exists (resume to add what is missing, or overwrite)");
                case OVERWRITE -> save = SaveMode.Overwrite;
                case RESUME -> {
                    save = SaveMode.Append;
                    if (fs.exists(new org.apache.hadoop.fs.Path(out, "_SUCCESS")) || hasParquet(fs, out)) {
                        Dataset<Row> done = spark.read().schema(SCHEMA).parquet(output).select(col(PATH).as("_done_path")).distinct();
                        inputs = todo.count();
                        todo = todo.join(done, todo.col(PATH).equalTo(done.col("_done_path")), "left_anti");
                    }
                }
            }
        }
        long n = todo.count();
        if (inputs < 0) inputs = n;
        skipped = inputs - n;
        Counters c = new Counters(spark);
        if (n > 0 || !exists) encode(spark, todo, o, n, c).write().mode(save).parquet(output);
        return new Summary(inputs, skipped, c.encoded.value(), c.failed.value(), c.audioMillis.value() / 1000.0, (System.nanoTime() - start) / 1e9);
    }

    private static boolean hasParquet(FileSystem fs, org.apache.hadoop.fs.Path dir) throws IOException {
        for (FileStatus s : fs.listStatus(dir)) if (s.getPath().getName().endsWith(".parquet")) return true;
        return false;
    }

    /** Loads the model here (the driver) to check the options before any task starts. */
    private static Mimi checkOptions(Options o) {
        if (o.numQuantizers < 1) throw new MimiException("num_quantizers must be at least 1, got " + o.numQuantizers);
        if (o.pathColumn == null) throw new MimiException("a path column is needed");
        Mimi m = o.spec().get();
        if (m.cardinality() > Short.MAX_VALUE + 1) throw new MimiException("codebooks of " + m.cardinality() + " entries do not fit a short");
        if (o.numQuantizers > m.totalCodebooks()) {
            throw new MimiException("num_quantizers " + o.numQuantizers + " exceeds the model's " + m.totalCodebooks() + " codebooks");
        }
        return m;
    }

    private static String modelId(Options o) {
        if (o.modelId != null) return o.modelId;
        if (o.model.equals("random")) return "random";
        return o.spec().get().source();
    }

    private static final java.util.concurrent.atomic.AtomicInteger INJECTED_FAILURES = new java.util.concurrent.atomic.AtomicInteger();

    private static final java.util.concurrent.atomic.AtomicLong BLOCKED_TASK = new java.util.concurrent.atomic.AtomicLong(-1);

    /** The task attempt id that the blocking test hook holds (-1: none yet); resets it. */
    static long takeBlockedTaskAttempt() {
        return BLOCKED_TASK.getAndSet(-1);
    }

    /** Failures thrown by the test hook in this JVM. */
    static int injectedFailures() {
        return INJECTED_FAILURES.get();
    }

    /** Counts of a run; accumulators, updated once per successful task. */
    static final class Counters implements Serializable {
        final LongAccumulator encoded, failed, audioMillis;

        Counters(SparkSession spark) {
            encoded = spark.sparkContext().longAccumulator("mimi4j encoded");
            failed = spark.sparkContext().longAccumulator("mimi4j failed");
            audioMillis = spark.sparkContext().longAccumulator("mimi4j audio ms");
        }
    }

    /**
     * Encodes a partition's inputs, lazily, with the JVM's shared model, a window of inputs at a time: those of at
     * most 8 s ({@link org.mimi4j.Mimi#shortClipSamples}) are read whole and encoded together ({@link AudioEncoder#encodeTogether}: a short input alone leaves
     * the compute threads waiting at its small calls), the others one by one, streamed. Rows come out in the
     * partition's order.
     */
    private static final class EncodingIterator implements Iterator<Row> {
        /** Inputs read ahead, and the most encoded together: a window holds at most ~49 MB of samples. */
        private static final int WINDOW = 64, BATCH = 16;
        private final java.util.ArrayDeque<AudioEncoder.Result> ready = new java.util.ArrayDeque<>();
        private final Iterator<Row> rows;
        private final Options o;
        private final String modelId, padding;
        private final boolean binary;
        private final AudioEncoder encoder;
        private final Counters counters;
        private final boolean failHere;
        private int produced;

        EncodingIterator(Iterator<Row> rows, Options o, String modelId, String padding, boolean binary, Map<String, String> conf, Counters counters) {
            this.rows = rows;
            this.o = o;
            this.modelId = modelId;
            this.padding = padding;
            this.binary = binary;
            this.counters = counters;
            Configuration c = new Configuration(false);
            conf.forEach(c::set);
            encoder = new AudioEncoder(o.spec().get(), o.numQuantizers, o.padding, c);
            TaskContext tc = TaskContext.get();
            failHere = tc != null && o.failPartition == tc.partitionId() && tc.attemptNumber() == 0;
        }

        @Override
        public boolean hasNext() {
            return !ready.isEmpty() || rows.hasNext();
        }

        @Override
        public Row next() {
            if (!hasNext()) throw new NoSuchElementException();
            if (failHere && produced >= o.failAfterRows && o.blockInsteadOfFailing) {
                TaskContext tc = TaskContext.get();
                BLOCKED_TASK.set(tc.taskAttemptId());
                try {
                    Thread.sleep(300_000);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                tc.killTaskIfInterrupted(); // the kill: TaskKilledException
                throw new IllegalStateException("test hook: blocked task " + tc.taskAttemptId() + " was not killed");
            }
            if (failHere && produced >= o.failAfterRows) {
                INJECTED_FAILURES.incrementAndGet();
                throw new IllegalStateException("injected failure of partition " + o.failPartition + " after " + produced + " rows (test hook)");
            }
            if (ready.isEmpty()) readAhead();
            AudioEncoder.Result r = ready.poll();
            produced++;
            if (r.error() != null) {
                if (counters != null) counters.failed.add(1);
                return RowFactory.create(r.path() == null ? "" : r.path(), null, null, null, null, null, null, modelId, padding, r.error());
            }
            if (counters != null) {
                counters.encoded.add(1);
                counters.audioMillis.add(Math.round(r.samples() * 1000.0 / r.sampleRate()));
            }
            int[][] codes = r.codes();
            short[][] s = new short[codes.length][];
            for (int k = 0; k < codes.length; k++) {
                s[k] = new short[codes[k].length];
                for (int t = 0; t < codes[k].length; t++) s[k][t] = (short) codes[k][t];
            }
            return RowFactory.create(r.path(), r.sampleRate(), r.sourceSampleRate(), r.samples(), codes[0].length, codes.length, s,
                    modelId, padding, null);
        }

        /** The next window of inputs' results, in order, into {@link #ready}. */
        private void readAhead() {
            List<AudioEncoder.Result> window = new ArrayList<>();
            List<AudioEncoder.Read> reads = new ArrayList<>();
            List<Integer> at = new ArrayList<>(); // where each read's result goes in the window
            String path = null;
            try {
                while (window.size() < WINDOW && rows.hasNext()) {
                    Row in = rows.next();
                    path = in.getString(0);
                    byte[] audio = binary && !in.isNullAt(1) ? (byte[]) in.get(1) : null;
                    AudioEncoder.Result r = null;
                    if (path == null) {
                        r = AudioEncoder.Result.failed(null, "no path");
                    } else if (binary && audio == null) {
                        r = AudioEncoder.Result.failed(path, path + ": no audio (null)");
                    } else {
                        AudioEncoder.Read read = encoder.read(path, audio);
                        if (read.failed() != null) r = read.failed();
                        else if (read.samples() == null) r = encoder.encode(path, audio);
                        else {
                            reads.add(read);
                            at.add(window.size());
                        }
                    }
                    window.add(r);
                }
                path = null;
                List<AudioEncoder.Result> together = encoder.encodeTogether(reads, BATCH);
                for (int i = 0; i < together.size(); i++) window.set(at.get(i), together.get(i));
            } catch (IOException e) {
                String where = path != null ? path : "a window of short inputs"; // storage failure: Spark retries the task
                throw new UncheckedIOException(where + ": " + e.getMessage(), e);
            }
            ready.addAll(window);
        }
    }
}
