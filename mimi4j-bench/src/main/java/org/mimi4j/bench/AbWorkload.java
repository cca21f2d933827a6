package org.mimi4j.bench;

import org.mimi4j.Mimi;
import org.mimi4j.nn.Transformer;
import org.mimi4j.perf.Bench;
import org.mimi4j.perf.Profiler;

import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;

/** One round of an {@link AbBench} workload, run inside the class loader of the mimi4j version under test. */
public final class AbWorkload implements Callable<Double> {
    private final String what;
    private final Mimi m;
    private final float[] audio;
    private int[][] codes;
    private Mimi.EncoderState[] es;
    private Mimi.DecoderState[] ds;
    private int[] items;
    private float[][] x;
    private long frame;
    private float[][] emb;
    private int[][][] previousCodes; // duplexN: the codes the next frame's decode step takes
    private Profiler.Stage stage; // encode:STAGE, decode:STAGE: the stage whose time a round returns
    private int[] product; // encode:MxK, decode:MxK: the GEMM calls of that weight shape whose time a round returns
    private int codebooks = 8; // of the offline encode (encodeN: N)

    public AbWorkload(String what) throws java.io.IOException {
        java.util.regex.Matcher e = java.util.regex.Pattern.compile("encode([1-9][0-9]*)(.*)").matcher(what);
        if (e.matches()) { // encodeN[:STAGE]: N codebooks instead of 8
            codebooks = Integer.parseInt(e.group(1));
            what = "encode" + e.group(2);
        }
        this.what = what;
        m = Mimi.load(Bench.randomModel());
        // its own signal, public API only: this class also runs against older mimi4j-core jars
        audio = new float[60 * m.sampleRate()];
        for (int i = 0; i < audio.length; i++) {
            audio[i] = (float) (0.3 * Math.sin(i * 0.037) + 0.1 * Math.sin(i * 0.0031) + 0.05 * Math.sin(i * (double) i * 1e-7));
        }
        if (what.matches("(stream|duplex|encoder)[0-9]+")) {
            freshStreams(Integer.parseInt(what.replaceAll("[a-z]", "")));
        } else if (what.startsWith("quantize")) { // the latent of the 60 s, once
            Mimi.EncoderState[] st = {m.newEncoderState(Transformer.CacheMode.OFFLINE_EXACT)};
            int samples = audio.length / m.frameSize() * m.frameSize();
            emb = m.encodeToLatent(new float[][]{Arrays.copyOf(audio, samples)}, samples, st, false, null, new int[]{0});
        } else if (what.matches("(encode|decode):[a-z_]+")) { // one stage's own time in the call, from the profiler's hooks
            stage = Profiler.Stage.valueOf(what.substring(7).toUpperCase(java.util.Locale.ROOT));
            Profiler.enable(true);
        } else if (what.matches("(encode|decode):[0-9]+x[0-9]+")) { // one layer's products (as mimi bench's GEMM rows)
            String[] mk = what.substring(7).split("x");
            product = new int[]{Integer.parseInt(mk[0]), Integer.parseInt(mk[1])};
            Profiler.enable(true);
        } else if (!what.equals("encode") && !what.equals("decode") && !what.equals("load") && !what.equals("verify")) {
            throw new IllegalArgumentException("workload " + what + ": encode, encodeN, decode, encode:STAGE, decode:STAGE, encode:MxK, decode:MxK, load, streamN, duplexN, encoderN, quantizeN or verify");
        }
    }

    /**
     * For "verify": SHA-256 of what this version computes, by output, as "name hash" lines: the 60 s encoded at 8
     * and 32 codebooks (codes), decoded (audio), and streamed through fresh states, one stream for 150 frames and 16
     * for 30 (each frame's codes and audio).
     */
    public String digests() {
        StringBuilder sb = new StringBuilder();
        int[][] c8 = m.encode(audio, 8);
        sb.append("encode-8 ").append(sha(ints(c8))).append('\n');
        sb.append("encode-32 ").append(sha(ints(m.encode(audio, 32)))).append('\n');
        sb.append("decode ").append(sha(floats(new float[][]{m.decode(c8)}))).append('\n');
        for (int n : new int[]{1, 16}) {
            freshStreams(n);
            java.security.MessageDigest codes = sha(), out = sha();
            int fs = m.frameSize();
            for (int f = 0; f < (n == 1 ? 150 : 30); f++) {
                for (int b = 0; b < n; b++) System.arraycopy(audio, (int) ((f * (long) fs + b * 977L) % (audio.length - fs)), x[b], 0, fs);
                int[][][] q = m.quantize(m.encodeToLatent(x, fs, es, false, null, items), 1, 8);
                for (int[][] s : q) codes.update(ints(s));
                out.update(floats(m.decodeStep(q, 1, ds, null, items)));
            }
            sb.append("stream").append(n).append("-codes ").append(hex(codes)).append('\n');
            sb.append("stream").append(n).append("-audio ").append(hex(out)).append('\n');
        }
        return sb.toString();
    }

    /** n streams from fresh upstream-mode states, and their input frames. */
    private void freshStreams(int n) {
        es = new Mimi.EncoderState[n];
        ds = new Mimi.DecoderState[n];
        items = new int[n];
        x = new float[n][m.frameSize()];
        for (int i = 0; i < n; i++) {
            es[i] = m.newEncoderState(Transformer.CacheMode.UPSTREAM);
            ds[i] = m.newDecoderState(Transformer.CacheMode.UPSTREAM);
            items[i] = i;
        }
    }

    private static java.security.MessageDigest sha() {
        try {
            return java.security.MessageDigest.getInstance("SHA-256");
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String sha(byte[] b) {
        java.security.MessageDigest d = sha();
        d.update(b);
        return hex(d);
    }

    private static String hex(java.security.MessageDigest d) {
        return java.util.HexFormat.of().formatHex(d.digest()).substring(0, 16);
    }

    private static byte[] ints(int[][] a) {
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(4 * Arrays.stream(a).mapToInt(r -> r.length).sum());
        for (int[] r : a) for (int v : r) b.putInt(v);
        return b.array();
    }

    private static byte[] floats(float[][] a) {
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(4 * Arrays.stream(a).mapToInt(r -> r.length).sum());
        for (float[] r : a) for (float v : r) b.putInt(Float.floatToRawIntBits(v));
        return b.array();
    }

    @Override
    public Double call() {
        if (stage != null || product != null) {
            if (codes == null) codes = m.encode(audio, 8);
            Profiler.reset();
            if (what.startsWith("encode")) codes = m.encode(audio, codebooks);
            else m.decode(codes);
            if (product == null) return Profiler.nanos(stage) / 1e6;
            List<Profiler.Shape> calls = Profiler.shapes().stream().filter(s -> s.m() == product[0] && s.k() == product[1]).toList();
            if (calls.isEmpty()) {
                throw new IllegalArgumentException("no product of a " + product[0] + " x " + product[1] + " weight in this call (mimi bench's GEMM rows name those it makes)");
            }
            return calls.stream().mapToLong(Profiler.Shape::nanos).sum() / 1e6;
        }
        switch (what) {
            case "encode" -> {
                long t0 = System.nanoTime();
                codes = m.encode(audio, codebooks);
                return (System.nanoTime() - t0) / 1e6;
            }
            case "load" -> { // the full-size float32 checkpoint, from a clean heap (as Bench's load row)
                System.gc();
                try {
                    long t0 = System.nanoTime();
                    Mimi.load(Bench.randomModel());
                    return (System.nanoTime() - t0) / 1e6;
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }
            case "decode" -> {
                if (codes == null) codes = m.encode(audio, 8);
                long t0 = System.nanoTime();
                m.decode(codes);
                return (System.nanoTime() - t0) / 1e6;
            }
            default -> {
                if (emb != null) { // quantizeN[/F]: the nearest-codebook search of 60 s at N codebooks [in calls of F frames]
                    String[] spec = what.substring("quantize".length()).split("/");
                    int nq = Integer.parseInt(spec[0]), d = m.config().hiddenSize(), t = emb[0].length / d;
                    int f = spec.length > 1 ? Integer.parseInt(spec[1]) : t;
                    long t0 = System.nanoTime();
                    for (int i0 = 0; i0 < t; i0 += f) {
                        int n = Math.min(f, t - i0);
                        float[] part = new float[d * n];
                        for (int c = 0; c < d; c++) System.arraycopy(emb[0], c * t + i0, part, c * n, n);
                        m.quantize(new float[][]{part}, n, nq);
                    }
                    return (System.nanoTime() - t0) / 1e6;
                }
                int n = x.length, fs = m.frameSize(), frames = n == 1 ? 150 : 30;
                boolean duplex = what.startsWith("duplex");
                double[] t = new double[frames];
                for (int f = 0; f < frames; f++, frame++) {
                    for (int b = 0; b < n; b++) {
                        int pos = (int) ((frame * fs + b * 977L) % (audio.length - fs));
                        System.arraycopy(audio, pos, x[b], 0, fs);
                    }
                    // duplexN's first frame: the codes of the frame before it, outside the timing
                    if (duplex && previousCodes == null) previousCodes = m.quantize(m.encodeToLatent(x, fs, es, false, null, items), 1, 8);
                    long t0 = System.nanoTime();
                    if (what.startsWith("encoder")) { // the encode steps alone, as a server's encode streams
                        m.quantize(m.encodeToLatent(x, fs, es, false, null, items), 1, 8);
                    } else if (duplex) { // this frame's encode step beside the decode step of the previous frame's codes
                        int[][][] previous = previousCodes;
                        int[][][][] next = new int[1][][][];
                        org.mimi4j.stream.Duplex.step(() -> next[0] = m.quantize(m.encodeToLatent(x, fs, es, false, null, items), 1, 8),
                                () -> m.decodeStep(previous, 1, ds, null, items));
                        previousCodes = next[0];
                    } else {
                        float[][] emb = m.encodeToLatent(x, fs, es, false, null, items);
                        m.decodeStep(m.quantize(emb, 1, 8), 1, ds, null, items);
                    }
                    t[f] = (System.nanoTime() - t0) / 1e6;
                }
                Arrays.sort(t);
                return t[frames / 2];
            }
        }
    }
}
