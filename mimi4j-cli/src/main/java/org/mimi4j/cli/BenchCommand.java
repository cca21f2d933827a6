package org.mimi4j.cli;

import org.mimi4j.perf.Bench;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/** mimi bench: the speed table of this machine (org.mimi4j.perf.Bench). */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = {"Measure speed on the full-size model: offline encode and decode per stage (ms, GFLOP/s, %% of the FMA peak "
                + "measured in the same run, real-time factor), the time in GEMM calls and the layers that take it (by weight shape), streaming steps of one stream (median, p99, "
                + "memory-bandwidth bound, the GB/s its weight-reading GEMMs reach) and of a batch of streams, load time, 32 vs 8 codebooks.",
                "Threads: -Dmimi4j.threads=N in MIMI_JAVA_OPTS (default: all cores). Progress goes to stderr, the table to stdout."})
final class BenchCommand implements Callable<Integer> {
    @Option(names = {"-m", "--model"}, paramLabel = "FILE|random", defaultValue = "random",
            description = "A full-size .safetensors file (either layout), or 'random': random float32 weights of the released shapes, "
                    + "written once to the temporary folder. Default: ${DEFAULT-VALUE}.")
    String model;

    @Option(names = "--seconds", defaultValue = "60", description = "Audio length for offline encode/decode. Default: ${DEFAULT-VALUE}.")
    double seconds;

    @Option(names = {"-n", "--num-quantizers"}, defaultValue = "8", description = "Codebooks (32 is also measured for encoding). Default: ${DEFAULT-VALUE}.")
    int codebooks;

    @Option(names = "--streams", defaultValue = "16", description = "Streams of the batched streaming measurement (1: skip it). Default: ${DEFAULT-VALUE}.")
    int streams;

    @Option(names = "--frames", defaultValue = "300", description = "Measured 80 ms frames of the one-stream streaming run. Default: ${DEFAULT-VALUE}.")
    int frames;

    @Option(names = "--batch-frames", defaultValue = "60", description = "Measured frames of the batched streaming run. Default: ${DEFAULT-VALUE}.")
    int batchFrames;

    @Option(names = "--quick", description = "One run per measurement instead of the best of three.")
    boolean quick;

    @Option(names = "--json", description = "Print JSON instead of the Markdown table.")
    boolean json;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        Path p = null;
        if (!model.equals("random")) {
            p = Path.of(model);
            if (!Files.isRegularFile(p)) throw new MimiCli.UserException(model + ": no such weight file (give a .safetensors file or 'random')");
        }
        if (seconds <= 0 || frames < 1 || batchFrames < 1 || streams < 1) throw new MimiCli.UsageException("--seconds, --frames, --batch-frames and --streams must be positive");
        Bench.Report r = Bench.run(new Bench.Options(p, seconds, codebooks, frames, streams, batchFrames, quick), System.err);
        PrintWriter out = spec.commandLine().getOut();
        out.print(json ? Bench.json(r) : Bench.table(r));
        out.flush();
        return 0;
    }
}
