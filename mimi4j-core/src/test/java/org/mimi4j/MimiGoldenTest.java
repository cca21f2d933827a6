package org.mimi4j;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Offline encode/decode against upstream moshi's outputs, for both weight layouts. */
class MimiGoldenTest {
    static final double TOL = 1e-4;
    static Golden g;
    static final Map<String, Mimi> models = new HashMap<>();

    @BeforeAll
    static void load() {
        g = new Golden();
        models.put("model.safetensors", Mimi.load(g.dir.resolve("model.safetensors")));
        models.put("moshi.safetensors", Mimi.load(g.dir.resolve("moshi.safetensors")));
    }

    @AfterAll
    static void close() {
        g.close();
    }

    static Stream<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        try (Golden gg = new Golden()) {
            for (String w : List.of("model.safetensors", "moshi.safetensors")) for (String c : gg.caseNames()) out.add(Arguments.of(w, c));
        }
        return out.stream();
    }

    /** Collects traced chunks into whole [B][C][T] tensors. */
    static final class Collector implements Trace {
        final Map<String, float[][]> t = new HashMap<>();
        final Map<String, int[]> dims = new HashMap<>();
        final int batch, steps25;

        Collector(int batch, int steps25) {
            this.batch = batch;
            this.steps25 = steps25;
        }

        @Override
        public synchronized void record(String name, int item, int offset, float[] data, int channels, int steps) {
            int total = name.equals("emb") || name.equals("latent") ? steps25 / 2 : steps25;
            float[][] a = t.computeIfAbsent(name, k -> new float[batch][channels * total]);
            dims.put(name, new int[]{channels, total});
            for (int c = 0; c < channels; c++) System.arraycopy(data, c * steps, a[item], c * total + offset, steps);
        }

        void check(String name, float[] golden, String what) {
            float[][] a = t.get(name);
            int[] d = dims.get(name);
            int n = d[0] * d[1];
            for (int b = 0; b < batch; b++) {
                double e = Golden.relL2(a[b], 0, golden, b * n, n);
                assertTrue(e < TOL, what + " " + name + " item " + b + ": relative L2 " + e + ", max abs " + Golden.maxAbs(a[b], 0, golden, b * n, n));
            }
        }
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void encodeMatchesUpstream(String weights, String c) {
        Mimi m = models.get(weights);
        float[][] audio = g.audio(c);
        int[] lengths = Golden.lengths(caseInfo(c));
        for (int k : new int[]{4, 8}) {
            int[][][] want = g.codes(c + ".codes_q" + k);
            Collector col = new Collector(audio.length, 2 * want[0][0].length);
            Mimi.EncodeResult r = m.encode(audio, lengths, k, Padding.MOSHI, col);
            if (k == 8) {
                col.check("seanet_out", g.f(c + ".seanet_out"), weights + " " + c);
                col.check("enc_transformer_out", g.f(c + ".enc_transformer_out"), weights + " " + c);
                col.check("emb", g.f(c + ".emb"), weights + " " + c);
            }
            for (int b = 0; b < audio.length; b++) {
                for (int q = 0; q < k; q++) assertArrayEquals(want[b][q], r.audioCodes()[b][q], weights + " " + c + " q" + k + " item " + b + " codebook " + q);
            }
            if (g.cases.has(c + ".codes_mask")) {
                long[] mask = g.cases.longs(c + ".codes_mask");
                int t = want[0][0].length;
                for (int b = 0; b < audio.length; b++) for (int i = 0; i < t; i++) assertEquals(mask[b * t + i] != 0, r.codesMask()[b][i]);
            }
        }
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void decodeMatchesUpstream(String weights, String c) {
        Mimi m = models.get(weights);
        for (int k : new int[]{4, 8}) {
            int[][][] codes = g.codes(c + ".codes_q" + k);
            int t = codes[0][0].length;
            Collector col = new Collector(codes.length, 2 * t);
            float[][][] audio = m.decode(codes, col);
            float[] want = g.f(c + ".decoded_q" + k);
            int n = t * 1920;
            for (int b = 0; b < codes.length; b++) {
                assertEquals(n, audio[b][0].length);
                double e = Golden.relL2(audio[b][0], 0, want, b * n, n);
                assertTrue(e < TOL, weights + " " + c + " decoded_q" + k + " item " + b + ": relative L2 " + e + ", max abs " + Golden.maxAbs(audio[b][0], 0, want, b * n, n));
            }
            col.check("latent", g.f(c + ".latent_q" + k), weights + " " + c + " q" + k);
            if (k == 8) {
                col.check("dec_upsampled", g.f(c + ".dec_upsampled_q8"), weights + " " + c);
                col.check("dec_transformer_out", g.f(c + ".dec_transformer_out_q8"), weights + " " + c);
            }
        }
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void transformersPaddingMatchesTransformers(String weights, String c) {
        Mimi m = models.get(weights);
        float[][] audio = g.audio(c);
        int[] lengths = Golden.lengths(caseInfo(c));
        for (int b = 0; b < audio.length; b++) {
            String name = audio.length == 1 ? c : c + b;
            for (int k : new int[]{4, 8}) {
                int[][][] want = Golden.codes(g.hfCases, name + ".hf_codes_q" + k);
                float[] x = java.util.Arrays.copyOf(audio[b], lengths[b]);
                int[][] got = m.encode(x, k, Padding.TRANSFORMERS);
                for (int q = 0; q < k; q++) assertArrayEquals(want[0][q], got[q], weights + " " + name + " hf q" + k + " codebook " + q);
            }
        }
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void batchItemsEqualSoloRuns(String weights, String c) {
        Mimi m = models.get(weights);
        float[][] audio = g.audio(c);
        int[] lengths = Golden.lengths(caseInfo(c));
        Mimi.EncodeResult batch = m.encode(audio, lengths, 8, Padding.MOSHI, null);
        for (int b = 0; b < audio.length; b++) {
            int[][] solo = m.encode(java.util.Arrays.copyOf(audio[b], lengths[b]), 8);
            int frames = solo[0].length;
            for (int q = 0; q < 8; q++) {
                assertArrayEquals(solo[q], java.util.Arrays.copyOf(batch.audioCodes()[b][q], frames), c + " item " + b);
            }
        }
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void paddingMaskAndForwardFollowTransformers(String weights, String c) {
        Mimi m = models.get(weights);
        float[][] audio = g.audio(c);
        int[] lengths = Golden.lengths(caseInfo(c));
        int[][] mask = new int[audio.length][audio[0].length];
        for (int b = 0; b < audio.length; b++) java.util.Arrays.fill(mask[b], 0, lengths[b], 1);
        Mimi.EncodeResult r = m.encode(audio, mask, 8);
        int[][][] want = g.codes(c + ".codes_q8");
        for (int b = 0; b < audio.length; b++) assertArrayEquals(want[b], r.audioCodes()[b]);
        if (audio.length == 1) {
            Mimi.ForwardResult f = m.forward(audio[0], 8);
            assertArrayEquals(want[0], f.audioCodes());
            float[] dec = g.f(c + ".decoded_q8");
            assertEquals(audio[0].length, f.audioValues().length);
            assertTrue(Golden.relL2(f.audioValues(), 0, dec, 0, audio[0].length) < TOL);
        }
    }

    /**
     * Offline calls are bounded (Mimi's CHUNK_FRAMES, summed over a batch), and a single golden case is shorter than one
     * call: copies of each case in one batch share a call's frames, so each item crosses call boundaries (the "long"
     * case at 75 frames, 4 copies: every 48 frames), and every item must still give upstream's codes and audio.
     */
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void callBoundariesChangeNothing(String weights, String c) {
        Mimi m = models.get(weights);
        float[][] audio = g.audio(c);
        if (audio.length != 1) return; // the batch case is a batch already
        int copies = 4;
        float[][] x = new float[copies][];
        int[] lengths = new int[copies];
        for (int b = 0; b < copies; b++) {
            x[b] = audio[0];
            lengths[b] = Golden.lengths(caseInfo(c))[0];
        }
        int[][][] want = g.codes(c + ".codes_q8");
        Mimi.EncodeResult r = m.encode(x, lengths, 8, Padding.MOSHI, null);
        int[][][] codes = new int[copies][][];
        for (int b = 0; b < copies; b++) {
            assertArrayEquals(want[0], r.audioCodes()[b], weights + " " + c + " copy " + b);
            codes[b] = want[0];
        }
        float[][][] y = m.decode(codes);
        float[] dec = g.f(c + ".decoded_q8");
        for (int b = 0; b < copies; b++) {
            double e = Golden.relL2(y[b][0], 0, dec, 0, dec.length);
            assertTrue(e < TOL, weights + " " + c + " decoded copy " + b + ": relative L2 " + e);
        }
    }

    static Map<String, Object> caseInfo(String c) {
        for (Map<String, Object> m : g.caseList()) if (m.get("name").equals(c)) return m;
        throw new IllegalArgumentException(c);
    }
}
