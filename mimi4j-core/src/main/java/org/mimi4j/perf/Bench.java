package org.mimi4j.perf;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.mimi4j.Mimi;
import org.mimi4j.MimiConfig;
import org.mimi4j.io.Checkpoint;
import org.mimi4j.io.Json;
import org.mimi4j.io.RandomCheckpoint;
import org.mimi4j.io.SafeTensors;
import org.mimi4j.kernels.Parallel;
import org.mimi4j.kernels.Simd;
import org.mimi4j.nn.Transformer;
import org.mimi4j.stream.Duplex;

import java.io.IOException;
import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The speed table of {@code mimi bench}: offline encode and decode per stage (ms, GFLOP/s, % of the FMA peak measured
 * in the same run, real-time factor), the time in GEMM calls against the rest and the GEMM shapes (layers) that take
 * it, streaming steps of one stream (median, p99, the memory-bandwidth bound, and the GB/s of the GEMMs that read its
 * weights), batched streams, load time, 32 vs 8 codebooks. Runs on the full-size model: a given checkpoint, or random
 * weights with the released shapes written once to a cache file.
 */
public final class Bench {
    /** What to run. {@code model} null: random full-size float32 weights. */
    public record Options(Path model, double seconds, int codebooks, int streamFrames, int batch, int batchFrames, boolean quick) {
        public static Options defaults() {
            return new Options(null, 60, 8, 300, 16, 60, false);
        }
    }

    /** One row of the table. */
    public record Row(String section, String name, double ms, double gflop, double audioSeconds, String note) {
        public double gflops() {
            return ms > 0 && gflop > 0 ? gflop / (ms / 1e3) : Double.NaN;
        }

        public double realTime() {
            return ms > 0 && audioSeconds > 0 ? audioSeconds / (ms / 1e3) : Double.NaN;
        }
    }

    /** Everything measured. */
    public record Report(int threads, double peak1, double peakN, double bandwidthGBs, String modelPath, List<Row> rows,
                         Map<String, Double> facts, Map<String, Double> sectionPeaks) {
        /** The FMA peak measured around a section (mean of right before and right after), else the run's. */
        public double peak(String section) {
            return sectionPeaks.getOrDefault(section, peakN);
        }
    }

    private final Map<String, Double> sectionPeaks = new LinkedHashMap<>();

    /** Runs a section between two FMA peak measurements: a shared machine's speed drifts within minutes. */
    private void section(String name, Runnable body) {
        int threads = Parallel.threads();
        double before = FmaPeak.measure(threads);
        body.run();
        double after = FmaPeak.measure(threads);
        sectionPeaks.put(name, (before + after) / 2);
        say(String.format(Locale.ROOT, "%s: FMA peak %.0f before, %.0f after", name, before, after));
    }

    private static final int SR = 24000;
    private final Options opt;
    private final PrintStream log;

    private Bench(Options opt, PrintStream log) {
        this.opt = opt;
        this.log = log;
    }

    public static Report run(Options opt, PrintStream log) throws IOException {
        return new Bench(opt, log).run();
    }

    private void say(String s) {
        if (log != null) log.println(s);
    }

    /** The cached random full-size float32 checkpoint (released shapes and config), written on first use. */
    public static Path randomModel() throws IOException {
        Path dir = Path.of(System.getProperty("java.io.tmpdir"), "mimi4j-bench");
        Path f = dir.resolve("mimi-full-random-f32-seed1.safetensors");
        if (!Files.isRegularFile(f)) {
            Files.createDirectories(dir);
            Path tmp = dir.resolve("tmp-" + ProcessHandle.current().pid() + ".safetensors");
            RandomCheckpoint.write(tmp, MimiConfig.released(), Checkpoint.Layout.MOSHI, SafeTensors.DType.F32, 1);
            Files.move(tmp, f, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        }
        return f;
    }

    private Report run() throws IOException {
        int threads = Parallel.threads();
        Path modelPath = opt.model() != null ? opt.model() : randomModel();
        say("model: " + modelPath + (opt.model() == null ? " (random weights, released shapes)" : ""));
        double peak1 = FmaPeak.measure(1), peakN = FmaPeak.measure(threads);
        say(String.format(Locale.ROOT, "FMA peak: %.0f GFLOP/s on 1 thread, %.0f on %d (%d-bit vectors)", peak1, peakN, threads,
                Simd.S.vectorBitSize()));
        double bw = bandwidth();
        say(String.format(Locale.ROOT, "reading heap memory: %.1f GB/s on %d threads", bw, threads));
        List<Row> rows = new ArrayList<>();
        Map<String, Double> facts = new LinkedHashMap<>();
        facts.put("vector_bits", (double) Simd.S.vectorBitSize()); // of every kernel (org.mimi4j.kernels.Simd)

        // load
        double[] loads = new double[opt.quick() ? 2 : 5];
        Mimi m = null;
        long heap0 = 0;
        for (int i = 0; i < loads.length; i++) {
            m = null;
            System.gc(); // each load from a clean heap, as in a new process (not timing the collection of the last model)
            heap0 = usedHeap();
            long t0 = System.nanoTime();
            m = Mimi.load(modelPath);
            loads[i] = (System.nanoTime() - t0) / 1e6;
        }
        System.gc();
        double heapMb = (usedHeap() - heap0) / 1e6; // what the model holds against -Xmx (G1 regions, not just its arrays)
        rows.add(new Row("load", "load full-size checkpoint (median of " + loads.length + ")", median(loads), 0, 0,
                "first load of the process (packing code not yet compiled) " + fmt(loads[0]) + " ms, min " + fmt(min(loads))
                        + " ms; the loaded model holds " + fmt0(heapMb) + " MB of heap"));
        facts.put("load_median_ms", median(loads));
        facts.put("load_first_ms", loads[0]);
        facts.put("model_heap_mb", heapMb);

        Mimi model = m;
        float[] audio = audio(opt.seconds());
        double sec = audio.length / (double) SR;
        say("warming up");
        for (int i = 0; i < (opt.quick() ? 1 : 3); i++) model.decode(model.encode(Arrays.copyOf(audio, Math.min(audio.length, 10 * SR)), 32));

        // offline encode, 8 and 32 codebooks
        int[][] codes = null;
        int[][][] codesHolder = new int[1][][];
        for (int nq : opt.codebooks() == 32 ? new int[]{32} : new int[]{opt.codebooks(), 32}) {
            String sect = "encode " + fmt0(sec) + " s, " + nq + " codebooks";
            section(sect, () -> {
                Timed<int[][]> enc = timed(() -> model.encode(audio, nq));
                if (nq == opt.codebooks()) codesHolder[0] = enc.value;
                rows.add(new Row(sect, "total", enc.ms, enc.gflop, sec, allocated(enc.allocatedMb)));
                addStages(rows, sect, enc, sec);
                facts.put("encode_ms_" + nq, enc.ms);
                facts.put("encode_gemm_ms_" + nq, enc.gemmNanos / 1e6);
                facts.put("encode_allocated_mb_" + nq, enc.allocatedMb);
            });
        }
        if (facts.containsKey("encode_ms_32") && facts.containsKey("encode_ms_" + opt.codebooks()) && opt.codebooks() != 32) {
            facts.put("encode_32_over_" + opt.codebooks(), facts.get("encode_ms_32") / facts.get("encode_ms_" + opt.codebooks()));
        }
        int[][] c8 = codesHolder[0];
        String dsect = "decode " + fmt0(sec) + " s, " + opt.codebooks() + " codebooks";
        section(dsect, () -> {
            Timed<float[]> dec = timed(() -> model.decode(c8));
            rows.add(new Row(dsect, "total", dec.ms, dec.gflop, sec, allocated(dec.allocatedMb)));
            addStages(rows, dsect, dec, sec);
            facts.put("decode_ms", dec.ms);
            facts.put("decode_gemm_ms", dec.gemmNanos / 1e6);
            facts.put("decode_allocated_mb", dec.allocatedMb);
        });

        // streaming, one stream: encode step + decode step per 80 ms frame
        section(streamSection(1), () -> streaming(model, rows, facts, 1, opt.streamFrames(), bw, threads));
        if (opt.batch() > 1) section(streamSection(opt.batch()), () -> streaming(model, rows, facts, opt.batch(), opt.batchFrames(), bw, threads));
        return new Report(threads, peak1, peakN, bw, modelPath.toString(), rows, facts, sectionPeaks);
    }

    private void addStages(List<Row> rows, String sect, Timed<?> t, double sec) {
        for (Profiler.Stage s : Profiler.Stage.values()) {
            if (t.stageNanos[s.ordinal()] == 0) continue;
            rows.add(new Row(sect, stageName(s), t.stageNanos[s.ordinal()] / 1e6, t.stageFlops[s.ordinal()] / 1e9, sec, ""));
        }
        double other = t.ms;
        for (long n : t.stageNanos) other -= n / 1e6;
        rows.add(new Row(sect, "other (glue, copies)", Math.max(0, other), 0, sec, ""));
        rows.add(new Row(sect, GEMMS, t.gemmNanos / 1e6, t.gemmFlops / 1e9, sec, GEMMS_NOTE + fmt(Math.max(0, t.ms - t.gemmNanos / 1e6)) + " ms"));
        rows.addAll(shapeRows(sect, t.shapes, t.ms, sec, 1));
    }

    private static final double SHAPE_SHARE = 0.015;
    private static final int MAX_SHAPES = 12;

    /**
     * Rows "GEMM M x K" for the GEMM shapes (longest first) that take at least 1.5% of a section of {@code ms}, at most
     * 12: which layers take the time (a layer is a weight shape and a number of columns per call; a residual block's
     * two convs run as one chain, "M x K, then M2 x M"). Over {@code frames} streaming frames: means per frame, and for
     * calls of 1-2 columns the GB/s at which they read their weights.
     */
    static List<Row> shapeRows(String sect, List<Profiler.Shape> shapes, double ms, double sec, int frames) {
        List<Row> rows = new ArrayList<>();
        for (Profiler.Shape g : shapes) {
            double gms = g.nanos() / 1e6 / frames;
            if (gms < SHAPE_SHARE * ms || rows.size() == MAX_SHAPES) break;
            long whole = g.calls() / frames; // calls per frame when every frame makes the same calls
            String calls = (g.calls() % frames == 0 ? whole + (whole == 1 ? " call" : " calls") : fmt((double) g.calls() / frames) + " calls")
                    + (frames == 1 ? "" : " per frame");
            double weights = (double) g.weightBytes() * g.calls() / frames; // bytes per frame
            rows.add(new Row(sect, "GEMM " + g.product() + (frames == 1 ? "" : " (mean)"), gms, g.flops() / 1e9 / frames, sec,
                    calls + " of " + g.columns() + (g.columns() == 1 ? " column" : " columns")
                            + (g.columns() <= 2 ? ", weights read at " + fmt(weights / 1e6 / gms) + " GB/s" : "")));
        }
        return rows;
    }

    private static final String GEMMS = "of which in GEMM calls (all stages)";
    private static final String GEMMS_NOTE = "the products and their fused epilogues (ELU, residual add, interleave); their GFLOP "
            + "are those run (the Winograd convs' 2/3 of the direct form's, which the stage rows count); outside them "
            + "(attention, norms, unfused activations, copies, waits): ";

    static String stageName(Profiler.Stage s) {
        return switch (s) {
            case CONV -> "SEANet convs";
            case CONV_TRANSPOSE -> "transposed convs";
            case TRANSFORMER -> "transformer";
            case QUANTIZER -> "quantizer";
        };
    }

    private void streaming(Mimi m, List<Row> rows, Map<String, Double> facts, int streams, int frames, double bwStart, int threads) {
        int fs = m.frameSize(), nq = opt.codebooks();
        // one stream's products read their weights from memory: its bound takes the read rate of these minutes, the
        // median of the run's first measurement and one each before and after this section (on a shared machine the rate
        // moves from minute to minute: on the Zen 4 one between ~30 and ~55 GB/s, in phases)
        double bwBefore = streams == 1 ? bandwidth() : Double.NaN;
        Mimi.EncoderState[] es = new Mimi.EncoderState[streams];
        Mimi.DecoderState[] ds = new Mimi.DecoderState[streams];
        for (int i = 0; i < streams; i++) {
            es[i] = m.newEncoderState(Transformer.CacheMode.UPSTREAM);
            ds[i] = m.newDecoderState(Transformer.CacheMode.UPSTREAM);
        }
        int[] items = new int[streams];
        for (int i = 0; i < streams; i++) items[i] = i;
        float[] src = audio(Math.max(1, (frames + 50) * fs / (double) SR + 1));
        float[][] x = new float[streams][fs], y = new float[streams][fs];
        // warm-up: at least 50 frames (a third of short runs), then until the JIT has compiled nothing for 50 frames, for
        // at most 3000 frames or 60 s (its compiler threads share the cores: compiling the step's big methods, 20 s into
        // a streaming run, slowed a dozen frames 2-3x). One stream's run (the first) also goes past frame 1200: at the
        // default thresholds C2 compiles the per-step methods (SeanetEncoder.forward, Transformer.forward, Frames.encode:
        // called a few times per frame) only after ~800-1100 frames, after hundreds of quiet ones, each taking a core for
        // up to ~0.4 s; that burst of 5-6 slow frames made the p99 of 300 measured frames (-XX:+PrintCompilation)
        java.lang.management.CompilationMXBean jit = java.lang.management.ManagementFactory.getCompilationMXBean();
        boolean jitTimed = jit != null && jit.isCompilationTimeMonitoringSupported();
        int minWarm = Math.min(50, frames / 3 + 1), maxWarm = opt.quick() ? minWarm : 3000, warmed = 0, quiet = 0;
        int steady = streams == 1 && !opt.quick() ? 1200 : 0;
        long jitMs = jitTimed ? jit.getTotalCompilationTime() : 0, warmEnd = System.nanoTime() + 60_000_000_000L;
        while (warmed < minWarm || jitTimed && (quiet < 50 || warmed < steady) && warmed < maxWarm && System.nanoTime() < warmEnd) {
            frame(m, es, ds, items, x, y, src, warmed++, nq);
            long now = jitTimed ? jit.getTotalCompilationTime() : 0;
            quiet = now == jitMs ? quiet + 1 : 0;
            jitMs = now;
        }
        double[] ms = new double[frames];
        long[] nanos = new long[Profiler.Stage.values().length], flops = new long[nanos.length];
        Profiler.reset();
        Profiler.enable(true);
        long a0 = allocatedBytes();
        for (int f = 0; f < frames; f++) {
            long t0 = System.nanoTime();
            frame(m, es, ds, items, x, y, src, warmed + f, nq);
            ms[f] = (System.nanoTime() - t0) / 1e6;
        }
        long jitDuring = jitTimed ? jit.getTotalCompilationTime() - jitMs : -1;
        Profiler.enable(false);
        double kbPerFrame = (allocatedBytes() - a0) / 1e3 / frames;
        // after the allocation count: bandwidth() allocates its own 400 MB
        double bwAfter = streams == 1 ? bandwidth() : Double.NaN;
        double bw = streams == 1 ? median(new double[]{bwStart, bwBefore, bwAfter}) : bwStart;
        String bwNote = fmt(bw) + " GB/s" + (streams == 1 ? ", the median of " + fmt(bwStart) + " at the start, " + fmt(bwBefore)
                + " before this section and " + fmt(bwAfter) + " after it" : "");
        for (Profiler.Stage s : Profiler.Stage.values()) {
            nanos[s.ordinal()] = Profiler.nanos(s);
            flops[s.ordinal()] = Profiler.flops(s);
        }
        List<Profiler.Shape> shapes = Profiler.shapes();
        long[] gemmNanos = new long[Profiler.Gemms.values().length], gemmFlops = new long[gemmNanos.length], gemmBytes = new long[gemmNanos.length];
        for (Profiler.Gemms g : Profiler.Gemms.values()) {
            gemmNanos[g.ordinal()] = Profiler.nanos(g);
            gemmFlops[g.ordinal()] = Profiler.flops(g);
            gemmBytes[g.ordinal()] = Profiler.bytes(g);
        }
        double[] sorted = ms.clone();
        Arrays.sort(sorted);
        double med = sorted[sorted.length / 2], p99 = sorted[Math.min(sorted.length - 1, (int) Math.ceil(0.99 * sorted.length) - 1)];
        double frameSec = fs / (double) SR;
        double totalGflop = 0;
        for (long fl : flops) totalGflop += fl / 1e9;
        String sect = streamSection(streams);
        rows.add(new Row(sect, "median", med, totalGflop / frames, frameSec * streams, "p99 " + fmt(p99) + " ms, max " + fmt(sorted[sorted.length - 1]) + " ms"
                + (a0 < 0 ? "" : "; " + fmt(kbPerFrame) + " KB allocated per frame")
                + "; after " + warmed + " warm-up frames" + (jitDuring < 0 ? "" : ", JIT compiling " + jitDuring + " ms during the measured ones")));
        for (Profiler.Stage s : Profiler.Stage.values()) {
            if (nanos[s.ordinal()] == 0) continue;
            rows.add(new Row(sect, stageName(s) + " (mean)", nanos[s.ordinal()] / 1e6 / frames, flops[s.ordinal()] / 1e9 / frames, frameSec * streams, ""));
        }
        // the GEMM calls by kind: with at most 2 columns per weight (one stream's step) each call reads its weights
        // from memory once, so it is bound by the bandwidth; with more it is arithmetic
        String key = "stream" + streams;
        double gemmMs = 0;
        for (Profiler.Gemms g : Profiler.Gemms.values()) {
            double gms = gemmNanos[g.ordinal()] / 1e6 / frames, mb = gemmBytes[g.ordinal()] / 1e6 / frames;
            if (gms == 0) continue;
            gemmMs += gms;
            boolean few = g == Profiler.Gemms.FEW_COLUMNS;
            double gbs = mb / gms;
            String note = fmt0(mb) + " MB of weights per frame" + (few ? ", read at " + fmt(gbs) + " GB/s = " + fmt0(100 * gbs / bw)
                    + "% of the memory read rate measured (" + bwNote + ")" : "");
            rows.add(new Row(sect, (few ? "of which GEMMs with 1-2 columns per weight (mean)" : "of which GEMMs with more columns per weight (mean)"),
                    gms, gemmFlops[g.ordinal()] / 1e9 / frames, frameSec * streams, note));
            String key0 = key + (few ? "_gemm_few_columns" : "_gemm_many_columns");
            facts.put(key0 + "_ms", gms);
            if (few) facts.put(key0 + "_gbs", gbs);
        }
        double mean = Arrays.stream(ms).average().orElse(0);
        facts.put(key + "_outside_gemm_ms", Math.max(0, mean - gemmMs));
        rows.add(new Row(sect, "of which outside GEMM calls (mean)", Math.max(0, mean - gemmMs), 0, frameSec * streams,
                "of a mean frame of " + fmt(mean) + " ms: attention, norms, unfused activations, copies, waits"));
        rows.addAll(shapeRows(sect, shapes, mean, frameSec * streams, frames));
        facts.put(key + "_median_ms", med);
        facts.put(key + "_p99_ms", p99);
        if (a0 >= 0) facts.put(key + "_allocated_kb_per_frame", kbPerFrame);
        facts.put(key + "_warmup_frames", (double) warmed);
        if (streams == 1) {
            double bytes = weightBytesPerFrame(m, nq);
            double boundMs = bytes / (bw * 1e9) * 1e3;
            facts.put("stream_weight_mb_per_frame", bytes / 1e6);
            facts.put("stream_bandwidth_bound_ms", boundMs);
            facts.put("stream_bandwidth_gbs", bw);
            rows.add(new Row(sect, "memory bound: weights / bandwidth", boundMs, 0, 0,
                    fmt0(bytes / 1e6) + " MB of weights per frame at " + fmt(bw) + " GB/s; median is " + fmt(med / boundMs) + "x the bound"));
        } else {
            facts.put(key + "_realtime_streams", streams * frameSec * 1e3 / med);
        }
        // the same frames with the encode and decode steps at once (a warm-up of a fifth of them first)
        duplexFrames(m, es, ds, items, x, y, src, warmed + frames, frames / 5 + 1, nq);
        double[] dup = duplexFrames(m, es, ds, items, x, y, src, warmed + frames + frames / 5 + 2, frames, nq);
        Arrays.sort(dup);
        double dupMed = dup[dup.length / 2], dupP99 = dup[Math.min(dup.length - 1, (int) Math.ceil(0.99 * dup.length) - 1)];
        rows.add(new Row(sect, "median, encode and decode steps at once", dupMed, totalGflop / frames, frameSec * streams,
                "p99 " + fmt(dupP99) + " ms; " + fmt(dupMed / med) + "x the median above: frame f's encode step beside the decode step of frame f - 1's"
                        + " codes, one per compute thread (Duplex.step)"));
        facts.put(key + "_duplex_median_ms", dupMed);
        facts.put(key + "_duplex_p99_ms", dupP99);
    }

    private static long usedHeap() {
        Runtime r = Runtime.getRuntime();
        return r.totalMemory() - r.freeMemory();
    }

    /** One 80 ms frame of every stream: encode step, quantize, decode step into y (frame f of the test signal). */
    private static void frame(Mimi m, Mimi.EncoderState[] es, Mimi.DecoderState[] ds, int[] items, float[][] x, float[][] y, float[] src, int f, int nq) {
        m.decodeStep(encodeFrame(m, es, items, x, src, f, nq), 1, ds, null, items, y, 0);
    }

    /** The encode step and quantizer of {@link #frame}: the frame's codes. */
    private static int[][][] encodeFrame(Mimi m, Mimi.EncoderState[] es, int[] items, float[][] x, float[] src, int f, int nq) {
        int fs = x[0].length;
        for (int i = 0; i < x.length; i++) System.arraycopy(src, (f * fs + i * 977) % (src.length - fs), x[i], 0, fs);
        float[][] emb = m.encodeToLatent(x, fs, es, false, null, items);
        return m.quantize(emb, 1, nq);
    }

    /**
     * {@code frames} frames as a duplex stream or server steps them ({@link Duplex}): frame f's encode step and the
     * decode step of frame f - 1's codes at once, one per compute thread. Milliseconds per frame.
     */
    private static double[] duplexFrames(Mimi m, Mimi.EncoderState[] es, Mimi.DecoderState[] ds, int[] items, float[][] x, float[][] y, float[] src,
                                         int f0, int frames, int nq) {
        int[][][][] codes = {encodeFrame(m, es, items, x, src, f0, nq)};
        double[] ms = new double[frames];
        for (int f = 0; f < frames; f++) {
            int[][][] previous = codes[0];
            int next = f0 + 1 + f;
            long t0 = System.nanoTime();
            Duplex.step(() -> codes[0] = encodeFrame(m, es, items, x, src, next, nq), () -> m.decodeStep(previous, 1, ds, null, items, y, 0));
            ms[f] = (System.nanoTime() - t0) / 1e6;
        }
        return ms;
    }

    private static String streamSection(int streams) {
        return streams == 1 ? "streaming, 1 stream, per 80 ms frame (encode + decode step)"
                : "streaming, " + streams + " streams batched, per 80 ms frame (encode + decode step)";
    }

    /** Bytes of float32 weights one frame of one stream reads: everything but the unused codebooks. */
    static double weightBytesPerFrame(Mimi m, int nq) {
        MimiConfig c = m.config();
        long params = 0;
        for (long[] shape : RandomCheckpoint.shapes(c).values()) {
            long n = 1;
            for (long s : shape) n *= s;
            params += n;
        }
        params -= (long) (c.numQuantizers() - nq) * c.codebookSize() * (c.codebookDim() + 2);
        return 4.0 * params;
    }

    // ---------------------------------------------------------------- helpers

    private record Timed<T>(T value, double ms, double gflop, long[] stageNanos, long[] stageFlops, double allocatedMb, long gemmNanos,
                            long gemmFlops, List<Profiler.Shape> shapes) {
    }

    /**
     * Bytes allocated on the heap so far by all threads (-1 where the JVM cannot tell): a kernel that allocates in
     * steady state (e.g. a vector boxed because C2 did not inline a helper) shows here before it shows in the times.
     */
    static long allocatedBytes() {
        return java.lang.management.ManagementFactory.getThreadMXBean() instanceof com.sun.management.ThreadMXBean t
                && t.isThreadAllocatedMemorySupported() && t.isThreadAllocatedMemoryEnabled() ? t.getTotalThreadAllocatedBytes() : -1;
    }

    private interface Body<T> {
        T run();
    }

    private static String allocated(double mb) {
        return mb < 0 ? "" : fmt(mb) + " MB allocated";
    }

    /** Best of a few runs (fewest ms), with that run's stage counters. */
    private <T> Timed<T> timed(Body<T> body) {
        Timed<T> best = null;
        for (int r = 0; r < (opt.quick() ? 1 : 3); r++) {
            Profiler.reset();
            Profiler.enable(true);
            long a0 = allocatedBytes(), t0 = System.nanoTime();
            T v = body.run();
            double ms = (System.nanoTime() - t0) / 1e6, mb = a0 < 0 ? -1 : (allocatedBytes() - a0) / 1e6;
            Profiler.enable(false);
            long[] n = new long[Profiler.Stage.values().length], f = new long[n.length];
            double gflop = 0;
            for (Profiler.Stage s : Profiler.Stage.values()) {
                n[s.ordinal()] = Profiler.nanos(s);
                f[s.ordinal()] = Profiler.flops(s);
                gflop += f[s.ordinal()] / 1e9;
            }
            long gemmNanos = 0, gemmFlops = 0;
            for (Profiler.Gemms g : Profiler.Gemms.values()) {
                gemmNanos += Profiler.nanos(g);
                gemmFlops += Profiler.flops(g);
            }
            if (best == null || ms < best.ms) best = new Timed<>(v, ms, gflop, n, f, mb, gemmNanos, gemmFlops, Profiler.shapes());
        }
        return best;
    }

    /** Speech-like test signal: a few harmonics with vibrato plus noise. */
    static float[] audio(double seconds) {
        int n = (int) Math.round(seconds * SR);
        float[] a = new float[n];
        SplittableRandom r = new SplittableRandom(42);
        for (int i = 0; i < n; i++) {
            double t = i / (double) SR;
            double f0 = 140 + 30 * Math.sin(2 * Math.PI * 0.7 * t);
            double v = 0.3 * Math.sin(2 * Math.PI * f0 * t) + 0.15 * Math.sin(2 * Math.PI * 2 * f0 * t) + 0.05 * Math.sin(2 * Math.PI * 3 * f0 * t);
            a[i] = (float) (v * (0.6 + 0.4 * Math.sin(2 * Math.PI * 3 * t)) + 0.02 * (r.nextDouble() - 0.5));
        }
        return a;
    }

    /**
     * GB/s of summing 400 MB of heap floats (where the packed weights live, so this is what a streaming step can
     * read them at) as float vectors on the compute threads, each task reading {@link #READ_STREAMS} parts of its
     * 4 MB at once as the narrow GEMM reads 4 panels of A at once (one sequential read per core reaches only ~60% of
     * that here: 13-15 against 21-28 GB/s on the Intel Xeon, 2026-12-03); the loop is compiled on a small array
     * first, the best of 5 rounds counts.
     */
    static double bandwidth() {
        int chunk = 1 << 20;
        float[] big = new float[100 * chunk];
        Arrays.fill(big, 1f);
        float[] sinks = new float[big.length / chunk];
        for (int warm = 0; warm < 200; warm++) sinks[0] += sum(big, 0, chunk / 16);
        double best = 0;
        for (int round = 0; round < 5; round++) {
            long t0 = System.nanoTime();
            Parallel.forEach(sinks.length, c -> sinks[c] += sum(big, c * chunk, chunk));
            long ns = System.nanoTime() - t0;
            best = Math.max(best, 4.0 * big.length / ns);
        }
        return best;
    }

    private static final VectorSpecies<Float> SUM_SPECIES = FloatVector.SPECIES_PREFERRED; // a constant, or C2 won't vectorize
    private static final int READ_STREAMS = 8;

    /** Sum of a[off..off+n) read as READ_STREAMS consecutive parts side by side (n a multiple of 2 vectors per part). */
    private static float sum(float[] a, int off, int n) {
        VectorSpecies<Float> s = SUM_SPECIES;
        FloatVector a0 = FloatVector.zero(s), a1 = FloatVector.zero(s), a2 = FloatVector.zero(s), a3 = FloatVector.zero(s);
        int l = s.length(), part = n / READ_STREAMS;
        for (int i = off, e = off + part; i < e; i += 2 * l) {
            for (int p = 0; p < READ_STREAMS; p += 2) {
                int o = i + p * part;
                a0 = a0.add(FloatVector.fromArray(s, a, o));
                a1 = a1.add(FloatVector.fromArray(s, a, o + l));
                a2 = a2.add(FloatVector.fromArray(s, a, o + part));
                a3 = a3.add(FloatVector.fromArray(s, a, o + part + l));
            }
        }
        return a0.add(a1).add(a2).add(a3).reduceLanes(VectorOperators.ADD);
    }

    private static double median(double[] a) {
        double[] s = a.clone();
        Arrays.sort(s);
        return s[s.length / 2];
    }

    private static double min(double[] a) {
        return Arrays.stream(a).min().orElse(Double.NaN);
    }

    static String fmt(double v) {
        return Double.isNaN(v) ? "-" : String.format(Locale.ROOT, v >= 100 ? "%.0f" : v >= 10 ? "%.1f" : "%.2f", v);
    }

    static String fmt0(double v) {
        return String.format(Locale.ROOT, "%.0f", v);
    }

    // ---------------------------------------------------------------- output

    /** The table as Markdown. */
    public static String table(Report r) {
        StringBuilder b = new StringBuilder();
        // on a shared machine the peak drifts within minutes: the one at the start may be far from the sections' own
        String around = "";
        if (!r.sectionPeaks().isEmpty()) {
            double lo = Collections.min(r.sectionPeaks().values()), hi = Collections.max(r.sectionPeaks().values());
            around = String.format(Locale.ROOT, " at the start, %s around the sections", lo == hi ? fmt0(lo) : fmt0(lo) + "-" + fmt0(hi));
        }
        b.append(String.format(Locale.ROOT, "FMA peak measured in this run: %.0f GFLOP/s (1 thread), %.0f GFLOP/s (%d threads)%s; %.0f-bit vectors; memory read %.1f GB/s%n%n",
                r.peak1(), r.peakN(), r.threads(), around, r.facts().getOrDefault("vector_bits", Double.NaN), r.bandwidthGBs()));
        String sect = null;
        for (Row row : r.rows()) {
            if (!row.section().equals(sect)) {
                sect = row.section();
                String pk = r.sectionPeaks().containsKey(sect) ? String.format(Locale.ROOT, " (FMA peak around it: %.0f GFLOP/s)", r.peak(sect)) : "";
                b.append(String.format("%n| %s%s | ms | GFLOP | GFLOP/s | %% of peak | x real time | |%n|---|--:|--:|--:|--:|--:|---|%n", sect, pk));
            }
            double g = row.gflops();
            b.append("| ").append(row.name()).append(" | ").append(fmt(row.ms())).append(" | ")
                    .append(row.gflop() > 0 ? fmt(row.gflop()) : "").append(" | ")
                    .append(Double.isNaN(g) ? "" : fmt(g)).append(" | ")
                    .append(Double.isNaN(g) ? "" : String.format(Locale.ROOT, "%.0f%%", 100 * g / r.peak(row.section()))).append(" | ")
                    .append(row.name().startsWith("total") || row.name().startsWith("median") ? fmt(row.realTime()) : "").append(" | ")
                    .append(row.note()).append(" |\n");
        }
        b.append('\n');
        for (Map.Entry<String, Double> e : r.facts().entrySet()) b.append("- ").append(e.getKey()).append(": ").append(fmt(e.getValue())).append('\n');
        return b.toString();
    }

    /** The report as JSON. */
    public static String json(Report r) {
        StringBuilder b = new StringBuilder("{\n");
        b.append(String.format(Locale.ROOT, "  \"threads\": %d,%n  \"fma_peak_gflops_1thread\": %.2f,%n  \"fma_peak_gflops\": %.2f,%n  \"memory_read_gbs\": %.2f,%n",
                r.threads(), r.peak1(), r.peakN(), r.bandwidthGBs()));
        b.append("  \"model\": ").append(Json.write(r.modelPath())).append(",\n  \"rows\": [\n");
        for (int i = 0; i < r.rows().size(); i++) {
            Row row = r.rows().get(i);
            b.append(String.format(Locale.ROOT, "    {\"section\": %s, \"name\": %s, \"ms\": %.4f, \"gflop\": %.4f, \"gflops\": %s, \"peak_fraction\": %s, \"peak_gflops\": %s, \"realtime\": %s, \"note\": %s}%s%n",
                    Json.write(row.section()), Json.write(row.name()), row.ms(), row.gflop(), num(row.gflops()), num(row.gflops() / r.peak(row.section())), num(r.peak(row.section())), num(row.realTime()), Json.write(row.note()),
                    i + 1 < r.rows().size() ? "," : ""));
        }
        b.append("  ],\n  \"facts\": {");
        int i = 0;
        for (Map.Entry<String, Double> e : r.facts().entrySet()) {
            b.append(i++ == 0 ? "\n" : ",\n").append("    ").append(Json.write(e.getKey())).append(": ").append(num(e.getValue()));
        }
        return b.append("\n  }\n}\n").toString();
    }

    private static String num(double v) {
        return Double.isNaN(v) || Double.isInfinite(v) ? "null" : String.format(Locale.ROOT, "%.4f", v);
    }

    /**
     * {@code java --add-modules jdk.incubator.vector -cp mimi4j-core.jar org.mimi4j.perf.Bench [--model PATH]
     * [--seconds S] [--codebooks K] [--streams B] [--frames F] [--quick] [--json]}.
     */
    public static void main(String[] args) throws IOException {
        Options d = Options.defaults();
        Path model = d.model();
        double seconds = d.seconds();
        int cb = d.codebooks(), streams = d.batch(), frames = d.streamFrames(), batchFrames = d.batchFrames();
        boolean json = false, quick = false;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--model" -> model = Path.of(args[++i]);
                case "--seconds" -> seconds = Double.parseDouble(args[++i]);
                case "--codebooks" -> cb = Integer.parseInt(args[++i]);
                case "--streams" -> streams = Integer.parseInt(args[++i]);
                case "--frames" -> frames = Integer.parseInt(args[++i]);
                case "--batch-frames" -> batchFrames = Integer.parseInt(args[++i]);
                case "--quick" -> quick = true;
                case "--json" -> json = true;
                default -> {
                    System.err.println("unknown option " + args[i]);
                    System.exit(2);
                }
            }
        }
        Report r = run(new Options(model, seconds, cb, frames, streams, batchFrames, quick), System.err);
        System.out.print(json ? json(r) : table(r));
    }
}
