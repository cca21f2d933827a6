package org.mimi4j.bench;

import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * Old vs new in one JVM: each given mimi4j-core jar is loaded in its own class loader (with its own compute
 * threads), and the same workload runs on each in turn, round after round. On a shared machine whose speed drifts
 * by tens of percent within minutes, the rounds of the two versions then see the same drift, which separate JVMs
 * minutes apart do not.
 *
 * <pre>
 * java --add-modules jdk.incubator.vector -cp mimi4j-bench/target/benchmarks.jar org.mimi4j.bench.AbBench \
 *     old/mimi4j-core.jar new/mimi4j-core.jar encode|encode32|decode|encode:transformer|decode:1024x3584|load|stream1|stream16|duplex1|encoder24|quantize32|quantize8/64|verify [rounds]
 * </pre>
 * Workloads on the full-size random model: offline encode (8 codebooks; encodeN: N) or decode of 60 s (ms per call; encode:STAGE, decode:STAGE: the
 * ms of one stage in it, from the profiler's hooks, e.g. encode:transformer, or of one layer's products, e.g.
 * decode:1024x3584 or encode:32x192 for a residual block's chain, named as in mimi bench's GEMM rows), loading the model, or the median ms of
 * an encode + decode streaming step of 1 or 16 streams over a round of frames (duplexN: the encode step of a frame
 * beside the decode step of the previous frame's codes, {@code Duplex.step}; encoderN: the encode steps alone), or the quantizer alone on the latent of
 * the 60 s at N codebooks (quantizeN/F: in calls of F frames, as an offline encode quantizes its chunks of 192). Prints
 * each round and the medians. {@code verify} instead compares what the two versions compute, bit for bit (SHA-256 of
 * the codes and audio of offline encode and decode and of 1 and 16 streams: {@link AbWorkload#digests}), and exits
 * with 1 if any differs: for a change meant to leave every output as it was.
 */
public final class AbBench {
    private AbBench() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 3) fail("usage: AbBench A.jar B.jar encode|encode32|decode|encode:transformer|decode:1024x3584|load|stream1|stream16|duplex1|encoder24|quantize32|quantize8/64|verify [rounds]");
        String what = args[2];
        if (!what.matches("(encode([1-9][0-9]*)?|decode)(:(conv|conv_transpose|transformer|quantizer|[0-9]+x[0-9]+))?|load|verify|(stream|duplex|encoder)[1-9][0-9]*|quantize[1-9][0-9]*(/[1-9][0-9]*)?")) {
            fail("workload " + what + ": encode, encodeN (N codebooks instead of 8), decode, encode:STAGE or decode:STAGE (STAGE conv, conv_transpose, transformer or quantizer, or MxK: the GEMM calls of that weight shape, as mimi bench names them), load, streamN (e.g. stream16), duplexN, encoderN, quantizeN or quantizeN/F (e.g. quantize32, quantize8/64), or verify");
        }
        int rounds = 10;
        if (args.length > 3) {
            try {
                rounds = Integer.parseInt(args[3]);
            } catch (NumberFormatException e) {
                rounds = 0;
            }
            if (rounds < 1) fail("rounds must be a positive number, got " + args[3]);
        }
        URL self = AbBench.class.getProtectionDomain().getCodeSource().getLocation();
        Callable<?>[] runs = new Callable<?>[2];
        for (int v = 0; v < 2; v++) {
            Path jar = Path.of(args[v]);
            if (!Files.isRegularFile(jar)) fail("not a file: " + jar);
            // the given jar first, so its org.mimi4j classes win over the copies inside this uber-jar
            ClassLoader cl = new URLClassLoader(new URL[]{jar.toUri().toURL(), self}, ClassLoader.getPlatformClassLoader());
            runs[v] = (Callable<?>) cl.loadClass(AbWorkload.class.getName()).getConstructor(String.class).newInstance(what);
        }
        if (what.equals("verify")) {
            String[][] lines = new String[2][];
            for (int v = 0; v < 2; v++) lines[v] = ((String) runs[v].getClass().getMethod("digests").invoke(runs[v])).split("\n");
            int differ = 0;
            for (int i = 0; i < lines[0].length; i++) {
                String[] a = lines[0][i].split(" "), b = lines[1][i].split(" ");
                boolean same = a[1].equals(b[1]);
                if (!same) differ++;
                System.out.printf(Locale.ROOT, "%-14s A %s  B %s  %s%n", a[0], a[1], b[1], same ? "same" : "DIFFERENT");
            }
            System.out.println(differ == 0 ? "verify: every output bit-identical" : "verify: " + differ + " outputs differ");
            System.exit(differ == 0 ? 0 : 1);
        }
        try { // warm-up: JIT and a model per loader; a workload the model cannot run fails here, in one line
            for (int w = 0; w < 2; w++) for (Callable<?> r : runs) r.call();
        } catch (RuntimeException e) {
            fail(what + ": " + e.getMessage());
        }
        double[][] ms = new double[2][rounds];
        for (int i = 0; i < rounds; i++) {
            for (int v = 0; v < 2; v++) ms[v][i] = (Double) runs[v].call();
            System.out.printf(Locale.ROOT, "round %d: A %.1f ms, B %.1f ms%n", i + 1, ms[0][i], ms[1][i]);
        }
        double[] a = ms[0].clone(), b = ms[1].clone();
        Arrays.sort(a);
        Arrays.sort(b);
        int wins = 0;
        for (int i = 0; i < rounds; i++) if (ms[1][i] < ms[0][i]) wins++;
        System.out.printf(Locale.ROOT, "%s: A median %.1f ms (min %.1f), B median %.1f ms (min %.1f), B/A %.3f, B faster in %d of %d rounds%n",
                what, a[rounds / 2], a[0], b[rounds / 2], b[0], b[rounds / 2] / a[rounds / 2], wins, rounds);
        System.exit(0); // the loaders' compute threads are daemons, but do not wait for their spin
    }

    private static void fail(String message) {
        System.err.println("AbBench: " + message);
        System.exit(2);
    }
}
