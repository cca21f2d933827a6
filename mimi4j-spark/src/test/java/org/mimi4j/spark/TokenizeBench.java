package org.mimi4j.spark;

import org.apache.spark.sql.SparkSession;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * Throughput of the Spark job on generated speech-like data (not a unit test; run by {@code mimi4j-spark/bench.sh}):
 * <pre>TokenizeBench DATA_DIR MASTER MODEL [FILES SECONDS_MIN SECONDS_MAX]</pre>
 * Generates FILES WAV files (16/24-bit/float, 8 to 48 kHz, mono/stereo) into DATA_DIR if it has none, warms up on
 * a few of them (model load, JIT), then tokenizes all of them once and prints files per second and audio hours per
 * hour.
 */
public final class TokenizeBench {
    public static void main(String[] args) throws Exception {
        Path data = Path.of(args[0]);
        String master = args[1], model = args[2];
        int files = args.length > 3 ? Integer.parseInt(args[3]) : 120;
        double min = args.length > 4 ? Double.parseDouble(args[4]) : 3, max = args.length > 5 ? Double.parseDouble(args[5]) : 8;
        if (!Files.isDirectory(data.resolve("wav"))) GeneratedCorpus.generate(data, files, min, max, false, false, 7);
        Path out = Files.createTempDirectory("mimi4j-bench");
        SparkSession spark = SparkTestSupport.session(master);
        try {
            List<String> paths = MimiTokenizer.listAudio(spark, List.of(data.toString()));
            MimiTokenizer.Options o = new MimiTokenizer.Options().model(model).numQuantizers(8).filesPerTask(Integer.getInteger("bench.filesPerTask", 8));
            MimiTokenizer.run(spark, MimiTokenizer.paths(spark, paths.subList(0, Math.min(16, paths.size()))), out.resolve("warmup").toString(), o,
                    MimiTokenizer.Mode.OVERWRITE);
            MimiTokenizer.Summary s = MimiTokenizer.run(spark, MimiTokenizer.paths(spark, paths), out.resolve("run").toString(), o, MimiTokenizer.Mode.OVERWRITE);
            System.out.printf(Locale.ROOT, "%s model=%s mimi4j.threads=%s: %d files, %.1f min of audio in %.1f s: %.2f files/s, %.1f audio hours per hour (%s)%n",
                    master, model, System.getProperty("mimi4j.threads", "default(" + Runtime.getRuntime().availableProcessors() + ")"),
                    s.encoded(), s.audioSeconds() / 60, s.wallSeconds(), s.encoded() / s.wallSeconds(), s.audioSeconds() / s.wallSeconds(), s);
        } finally {
            spark.stop();
        }
    }
}
