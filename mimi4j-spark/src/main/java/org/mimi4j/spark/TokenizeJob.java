package org.mimi4j.spark;

import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.mimi4j.MimiException;
import org.mimi4j.Padding;
import org.mimi4j.audio.AudioFormatException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * The Spark job: {@code spark-submit --class org.mimi4j.spark.TokenizeJob mimi4j-spark-VERSION-job.jar INPUT... -o OUT}.
 * Prints a one-line summary; exit status 0 also when some files failed (their rows carry the error), 1 when the job
 * could not run, 2 for usage errors.
 */
@Command(name = "spark-tokenize", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Tokenize audio with Mimi on Spark into Parquet (one row per input: path, codes [K][T] as array<array<short>>, "
                + "counts, or an error).",
                "Inputs: folders (audio files below, by extension), Hadoop globs or files; or --list; or --parquet with a path or binary audio column."})
public final class TokenizeJob implements Callable<Integer> {
    @Parameters(paramLabel = "INPUT", arity = "0..*", description = "Folders, globs ('/data/*/*.flac') or files, on any Hadoop file system.")
    List<String> inputs = new ArrayList<>();

    @Option(names = "--list", paramLabel = "FILE", description = "A text file of paths, one a line.")
    String list;

    @Option(names = "--parquet", paramLabel = "TABLE", description = "A Parquet table of inputs (folder, file or glob).")
    String parquet;

    @Option(names = "--path-column", paramLabel = "NAME", defaultValue = "path",
            description = "With --parquet: the column with each file's path (or, with --audio-column, its name). Default: ${DEFAULT-VALUE}.")
    String pathColumn;

    @Option(names = "--audio-column", paramLabel = "NAME", description = "With --parquet: a binary column with each file's bytes.")
    String audioColumn;

    @Option(names = {"-o", "--output"}, required = true, paramLabel = "OUT", description = "Output Parquet folder.")
    String output;

    @Option(names = {"-m", "--model"}, paramLabel = "DIR|FILE|REPO", defaultValue = "kyutai/mimi",
            description = "As mimi encode --model: a folder or .safetensors file present on every node (or shipped with spark-submit --files), "
                    + "a Hugging Face repo, or 'random'. Default: ${DEFAULT-VALUE}.")
    String model;

    @Option(names = "--config", paramLabel = "CONFIG_JSON", description = "config.json for a weight file without one beside it.")
    String config;

    @Option(names = "--model-id", paramLabel = "ID", description = "What the model column says (default: the model's source, as the CLI's codes files record it).")
    String modelId;

    @Option(names = {"-n", "--num-quantizers"}, defaultValue = "8", paramLabel = "N", description = "Codebooks, as mimi encode -n. Default: ${DEFAULT-VALUE}.")
    int numQuantizers;

    @Option(names = "--padding", defaultValue = "moshi", paramLabel = "moshi|transformers", description = "As mimi encode --padding. Default: ${DEFAULT-VALUE}.")
    String padding;

    @Option(names = "--files-per-task", defaultValue = "64", paramLabel = "N",
            description = "Inputs per Spark task (what a failed task redoes); 0 keeps the input's partitioning. Default: ${DEFAULT-VALUE}.")
    int filesPerTask;

    @Option(names = "--resume", description = "Skip inputs whose path is already in OUT; append the others.")
    boolean resume;

    @Option(names = "--overwrite", description = "Replace OUT if it exists.")
    boolean overwrite;

    private java.io.PrintWriter err;

    @Option(names = "--master", paramLabel = "URL", description = "Spark master when spark-submit gives none (e.g. local[2] for a run without spark-submit). Default: local[*].")
    String master;

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the job with the arguments of the command line; returns the exit status. */
    public static int run(String... args) {
        return run(new java.io.PrintWriter(System.out, true), new java.io.PrintWriter(System.err, true), args);
    }

    /** Runs the job with the given output and error writers (for tests and embedding). */
    public static int run(java.io.PrintWriter out, java.io.PrintWriter err, String... args) {
        TokenizeJob job = new TokenizeJob();
        job.err = err;
        CommandLine cl = new CommandLine(job);
        cl.setOut(out);
        cl.setErr(err);
        cl.setExecutionExceptionHandler((e, cmd, parsed) -> {
            cmd.getErr().println("spark-tokenize: error: " + AudioEncoder.message(e));
            if (Boolean.getBoolean("mimi4j.debug") || !(e instanceof MimiException || e instanceof AudioFormatException
                    || e instanceof java.io.IOException || e instanceof CommandLine.ParameterException)) {
                e.printStackTrace(cmd.getErr());
            }
            return 1;
        });
        return cl.execute(args);
    }

    @Override
    public Integer call() throws Exception {
        int sources = (inputs.isEmpty() ? 0 : 1) + (list == null ? 0 : 1) + (parquet == null ? 0 : 1);
        if (sources != 1) throw new MimiException("give one kind of input: INPUT paths, --list FILE or --parquet TABLE");
        if (audioColumn != null && parquet == null) throw new MimiException("--audio-column goes with --parquet");
        if (resume && overwrite) throw new MimiException("--resume and --overwrite exclude each other");
        Padding pad = switch (padding.toLowerCase(Locale.ROOT)) {
            case "moshi" -> Padding.MOSHI;
            case "transformers" -> Padding.TRANSFORMERS;
            default -> throw new MimiException("--padding must be moshi or transformers, got " + padding);
        };
        MimiTokenizer.Options o = new MimiTokenizer.Options().model(model).config(config).modelId(modelId)
                .numQuantizers(numQuantizers).padding(pad).filesPerTask(filesPerTask);
        SparkSession.Builder b = SparkSession.builder().appName("mimi4j spark-tokenize");
        if (master != null) b.master(master);
        else if (System.getProperty("spark.master") == null) b.master("local[*]");
        SparkSession spark = b.getOrCreate();
        try {
            Dataset<Row> in;
            if (parquet != null) {
                in = spark.read().parquet(parquet);
                o.pathColumn(pathColumn).audioColumn(audioColumn);
            } else {
                List<String> paths = list != null ? MimiTokenizer.readPathList(spark, list) : MimiTokenizer.listAudio(spark, inputs);
                in = MimiTokenizer.paths(spark, paths);
            }
            MimiTokenizer.Mode mode = resume ? MimiTokenizer.Mode.RESUME : overwrite ? MimiTokenizer.Mode.OVERWRITE : MimiTokenizer.Mode.ERROR_IF_EXISTS;
            MimiTokenizer.Summary s = MimiTokenizer.run(spark, in, output, o, mode);
            err.println("spark-tokenize: " + s + " -> " + output);
            return 0;
        } finally {
            spark.stop();
        }
    }
}
