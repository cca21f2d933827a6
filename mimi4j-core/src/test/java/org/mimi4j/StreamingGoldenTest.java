package org.mimi4j;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.mimi4j.nn.Transformer;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Frame-by-frame streaming with upstream cache semantics against moshi's streaming outputs ({@code stream_emb},
 * {@code stream_codes_q8}, {@code stream_decoded_q8}): guards the transformer's key/value cache.
 */
class StreamingGoldenTest {
    static Golden g;
    static Mimi m;

    @BeforeAll
    static void load() {
        g = new Golden();
        m = Mimi.load(g.dir.resolve("moshi.safetensors"));
    }

    @AfterAll
    static void close() {
        g.close();
    }

    static Stream<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        try (Golden gg = new Golden()) {
            for (String c : gg.caseNames()) if (gg.cases.has(c + ".stream_emb")) out.add(Arguments.of(c));
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void streamingMatchesUpstreamStreaming(String c) {
        float[][] audio = g.audio(c);
        int b = audio.length, fs = m.frameSize();
        long[] embShape = g.shape(c + ".stream_emb");
        int d = (int) embShape[1], t = (int) embShape[2];
        float[] wantEmb = g.f(c + ".stream_emb");
        int[][][] wantCodes = g.codes(c + ".stream_codes_q8");
        int[][][] offlineCodes = g.codes(c + ".codes_q8");
        float[] wantAudio = g.f(c + ".stream_decoded_q8");
        Mimi.EncoderState[] es = new Mimi.EncoderState[b];
        Mimi.DecoderState[] ds = new Mimi.DecoderState[b];
        int[] items = new int[b];
        for (int i = 0; i < b; i++) {
            es[i] = m.newEncoderState(Transformer.CacheMode.UPSTREAM);
            ds[i] = m.newDecoderState(Transformer.CacheMode.UPSTREAM);
            items[i] = i;
        }
        float[][] emb = new float[b][d * t];
        float[][] dec = new float[b][t * fs];
        int[][][] codes = new int[b][8][t];
        for (int f = 0; f < t; f++) {
            float[][] x = new float[b][fs];
            for (int i = 0; i < b; i++) {
                int from = f * fs, n = Math.max(0, Math.min(fs, audio[i].length - from));
                System.arraycopy(audio[i], from, x[i], 0, n);
            }
            float[][] e = m.encodeToLatent(x, fs, es, false, null, items);
            int[][][] q = m.quantize(e, 1, 8);
            int[][][] frameCodes = new int[b][8][1];
            for (int i = 0; i < b; i++) {
                for (int ch = 0; ch < d; ch++) emb[i][ch * t + f] = e[i][ch];
                for (int k = 0; k < 8; k++) {
                    codes[i][k][f] = q[i][k][0];
                    frameCodes[i][k][0] = offlineCodes[i][k][f];
                }
            }
            float[][] y = m.decodeStep(frameCodes, 1, ds, null, items);
            for (int i = 0; i < b; i++) System.arraycopy(y[i], 0, dec[i], f * fs, fs);
        }
        for (int i = 0; i < b; i++) {
            double e = Golden.relL2(emb[i], 0, wantEmb, i * d * t, d * t);
            assertTrue(e < 1e-4, c + " stream_emb item " + i + ": relative L2 " + e);
            for (int k = 0; k < 8; k++) assertArrayEquals(wantCodes[i][k], codes[i][k], c + " item " + i + " codebook " + k);
            double a = Golden.relL2(dec[i], 0, wantAudio, i * t * fs, t * fs);
            assertTrue(a < 1e-4, c + " stream_decoded item " + i + ": relative L2 " + a);
        }
    }
}
