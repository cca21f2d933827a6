package org.mimi4j.stream;

import org.mimi4j.Mimi;
import org.mimi4j.MimiConfig;
import org.mimi4j.io.Checkpoint;
import org.mimi4j.io.RandomCheckpoint;
import org.mimi4j.io.SafeTensors;
import org.mimi4j.kernels.Parallel;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * Streaming latency and batch capacity on the full-size model (random weights of the released shapes unless
 * {@code --model} names a checkpoint). Prints markdown tables:
 * <ul>
 * <li>one encode step (1920 samples in, one frame out) and one decode step (one frame in, 1920 samples out) of a
 *     single stream: median, p99, mean, after the transformer context has filled (steady state);</li>
 * <li>for batches of B streams: the time of one batched step (one frame for every stream) for encode, decode and
 *     both; a batch keeps real time while a step takes at most one frame, 80 ms.</li>
 * </ul>
 * Wall times suffer when other processes share the cores, so the process CPU time per step (all threads) is
 * printed too: on an otherwise idle machine with C cores a step cannot take less than CPU time / C.
 * <pre>
 * java --add-modules jdk.incubator.vector -cp mimi4j-core/target/classes org.mimi4j.stream.StreamBench \
 *     [--model FILE] [--steps 300] [--warmup 130] [--batch-steps 30] [--batch-warmup 5] [--batches 1,2,4,8,12,16,24,32]
 *     [--nq 8] [--max-step-ms 2000]    (stops growing B once an encode+decode step takes longer than that)
 * </pre>
 */
public final class StreamBench {
    private StreamBench() {
    }

    public static void main(String[] args) throws Exception {
        String model = null;
        int steps = 300, warmup = 130, batchSteps = 30, batchWarmup = 5, nq = 8;
        double maxStepMs = 2000;
        int[] batches = {1, 2, 4, 8, 12, 16, 24, 32};
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--model" -> model = args[++i];
                case "--steps" -> steps = Integer.parseInt(args[++i]);
                case "--warmup" -> warmup = Integer.parseInt(args[++i]);
                case "--batch-steps" -> batchSteps = Integer.parseInt(args[++i]);
                case "--batch-warmup" -> batchWarmup = Integer.parseInt(args[++i]);
                case "--batches" -> batches = Arrays.stream(args[++i].split(",")).mapToInt(Integer::parseInt).toArray();
                case "--nq" -> nq = Integer.parseInt(args[++i]);
                case "--max-step-ms" -> maxStepMs = Double.parseDouble(args[++i]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        Mimi m;
        if (model == null) {
            Path tmp = Files.createTempFile("mimi-bench", ".safetensors");
            try {
                RandomCheckpoint.write(tmp, MimiConfig.released(), Checkpoint.Layout.TRANSFORMERS, SafeTensors.DType.F32, 1);
                m = Mimi.load(tmp, MimiConfig.released());
            } finally {
                Files.deleteIfExists(tmp);
            }
        } else {
            m = Mimi.load(Path.of(model));
        }
        int fs = m.frameSize();
        double frameMs = 1000.0 * fs / m.sampleRate();
        System.out.printf(Locale.ROOT, "model %s (%s), %d compute threads, %d cores, Java %s, %d codebooks%n%n",
                model == null ? "full-size random weights" : model, m.config().hiddenSize() == 512 ? "released shapes" : "custom shapes",
                Parallel.threads(), Runtime.getRuntime().availableProcessors(), Runtime.version(), nq);
        System.out.printf(Locale.ROOT, "load average at the start: %.2f%n%n", java.lang.management.ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());

        // ---- single stream
        float[][] audio = signal(1, fs, 7);
        MimiEncoderStream enc = m.encoderStream(nq);
        MimiDecoderStream dec = m.decoderStream();
        long[] te = new long[steps], td = new long[steps], ce = new long[steps], cd = new long[steps];
        for (int i = 0; i < warmup + steps; i++) {
            long c0 = cpu(), t0 = System.nanoTime();
            int[][] fr = enc.push(audio[0]);
            long t1 = System.nanoTime(), c1 = cpu();
            dec.push(fr[0]);
            long t2 = System.nanoTime(), c2 = cpu();
            if (i >= warmup) {
                te[i - warmup] = t1 - t0;
                td[i - warmup] = t2 - t1;
                ce[i - warmup] = c1 - c0;
                cd[i - warmup] = c2 - c1;
            }
        }
        System.out.println("| single stream, one step (80 ms of audio) | median | p99 | mean | CPU time mean (all threads) |");
        System.out.println("| --- | --- | --- | --- | --- |");
        row("encode step (1920 samples -> 1 frame)", te, ce);
        row("decode step (1 frame -> 1920 samples)", td, cd);
        System.out.printf(Locale.ROOT, "%n(%d steps measured after %d warm-up steps; state %d bytes encoder, %d bytes decoder)%n%n",
                steps, warmup, enc.stateBytes(), dec.stateBytes());

        // ---- batches
        System.out.printf(Locale.ROOT, "| streams B | encode step median / p99 (ms) | decode step median / p99 (ms) | encode+decode median / p99 (ms) | CPU mean encode / decode (ms) | real time by median (by p99) |%n");
        System.out.println("| --- | --- | --- | --- | --- | --- |");
        int[] maxMed = new int[3], maxP99 = new int[3];
        for (int b : batches) {
            EncoderBatch eb = m.encoderBatch(b, nq);
            DecoderBatch db = m.decoderBatch(b);
            EncoderBatch.Slot[] es = new EncoderBatch.Slot[b];
            DecoderBatch.Slot[] ds = new DecoderBatch.Slot[b];
            for (int i = 0; i < b; i++) {
                es[i] = eb.join();
                ds[i] = db.join();
            }
            float[][] x = signal(b, fs, 11 + b);
            long[][] t = new long[3][batchSteps];
            long[] cbe = new long[batchSteps], cbd = new long[batchSteps];
            for (int s = 0; s < batchWarmup + batchSteps; s++) {
                long c0 = cpu(), t0 = System.nanoTime();
                for (int i = 0; i < b; i++) es[i].push(x[i]);
                eb.step();
                long t1 = System.nanoTime(), c1 = cpu();
                for (int i = 0; i < b; i++) ds[i].push(es[i].poll());
                db.step();
                for (int i = 0; i < b; i++) ds[i].poll();
                long t2 = System.nanoTime(), c2 = cpu();
                if (s >= batchWarmup) {
                    cbe[s - batchWarmup] = c1 - c0;
                    cbd[s - batchWarmup] = c2 - c1;
                    t[0][s - batchWarmup] = t1 - t0;
                    t[1][s - batchWarmup] = t2 - t1;
                    t[2][s - batchWarmup] = t2 - t0;
                }
            }
            StringBuilder rt = new StringBuilder();
            String[] names = {"enc", "dec", "both"};
            for (int k = 0; k < 3; k++) {
                boolean med = pct(t[k], 50) <= frameMs, p99 = pct(t[k], 99) <= frameMs;
                if (med) maxMed[k] = b;
                if (p99) maxP99[k] = b;
                if (med) rt.append(names[k]).append(p99 ? "" : " (not by p99)").append(' ');
            }
            System.out.printf(Locale.ROOT, "| %d | %.1f / %.1f | %.1f / %.1f | %.1f / %.1f | %.1f / %.1f | %s |%n", b, pct(t[0], 50), pct(t[0], 99),
                    pct(t[1], 50), pct(t[1], 99), pct(t[2], 50), pct(t[2], 99), mean(cbe), mean(cbd), rt.toString().strip());
            System.out.flush();
            if (pct(t[2], 50) > maxStepMs) break; // larger batches only get slower per step
        }
        System.out.printf(Locale.ROOT, "%nlargest B measured at real time (step <= %.0f ms) by median: encode %d, decode %d, encode+decode %d; by p99: %d, %d, %d%n",
                frameMs, maxMed[0], maxMed[1], maxMed[2], maxP99[0], maxP99[1], maxP99[2]);
        System.out.printf(Locale.ROOT, "load average at the end: %.2f%n", java.lang.management.ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
    }

    /** Speech-like test signal: a gliding tone with harmonics and noise, a different one per stream. */
    public static float[][] signal(int n, int len, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[][] x = new float[n][len];
        for (int b = 0; b < n; b++) {
            double f0 = 100 + 150 * r.nextDouble();
            for (int i = 0; i < len; i++) {
                double t = i / 24_000.0;
                x[b][i] = (float) (0.2 * Math.sin(2 * Math.PI * f0 * t) + 0.1 * Math.sin(2 * Math.PI * 3 * f0 * t) + 0.02 * (r.nextDouble() - 0.5));
            }
        }
        return x;
    }

    private static void row(String what, long[] ns, long[] cpuNs) {
        System.out.printf(Locale.ROOT, "| %s | %.2f ms | %.2f ms | %.2f ms | %.2f ms |%n", what, pct(ns, 50), pct(ns, 99),
                Arrays.stream(ns).average().orElse(0) / 1e6, mean(cpuNs));
    }

    private static final com.sun.management.OperatingSystemMXBean OS =
            (com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean();

    /** CPU time of the whole process (all threads), ns: robust to other processes competing for the cores. */
    private static long cpu() {
        return OS.getProcessCpuTime();
    }

    static double mean(long[] ns) {
        return Arrays.stream(ns).average().orElse(0) / 1e6;
    }

    /** Percentile in ms (nearest rank). */
    static double pct(long[] ns, double p) {
        long[] s = ns.clone();
        Arrays.sort(s);
        int i = (int) Math.ceil(p / 100.0 * s.length) - 1;
        return s[Math.max(0, Math.min(s.length - 1, i))] / 1e6;
    }
}
