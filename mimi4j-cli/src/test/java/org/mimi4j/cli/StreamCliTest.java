package org.mimi4j.cli;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mimi4j.audio.WavWriter;
import org.mimi4j.io.CodesFile;
import org.mimi4j.io.SafeTensors;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** mimi encode --stream [--chunk-samples N] and mimi decode --stream against upstream's streaming goldens. */
class StreamCliTest {
    static final List<String> WEIGHTS = List.of("model.safetensors", "moshi.safetensors");
    static final List<String> CASES = List.of("frame1", "odd", "long", "batch");
    static SafeTensors cases;

    @BeforeAll
    static void open() {
        cases = SafeTensors.open(Cli.golden().resolve("tiny/cases.safetensors"));
    }

    static int items(String c) {
        return (int) cases.info(c + ".audio").shape()[0];
    }

    /** Row {@code item} of a golden [B][C][T] float tensor. */
    static float[] row(String name, int item) {
        long[] s = cases.info(name).shape();
        int n = (int) (s[1] * s[2]);
        return java.util.Arrays.copyOfRange(cases.floats(name), item * n, (item + 1) * n);
    }

    /** Item {@code item} of a golden int64 [B][K][T] tensor as [K][T]. */
    static int[][] codes(String name, int item) {
        long[] s = cases.info(name).shape();
        long[] v = cases.longs(name);
        int k = (int) s[1], t = (int) s[2];
        int[][] out = new int[k][t];
        for (int q = 0; q < k; q++) for (int i = 0; i < t; i++) out[q][i] = (int) v[(item * k + q) * t + i];
        return out;
    }

    static String model(String weights) {
        return Cli.golden().resolve("tiny").resolve(weights).toString();
    }

    @Test
    void encodeStreamGivesUpstreamStreamingCodesForAnyChunkSize(@TempDir Path dir) throws Exception {
        for (String c : CASES) {
            for (int item = 0; item < items(c); item++) {
                // the golden stream input: the (zero right-padded) audio row, as float WAV so the samples are exact
                Path in = dir.resolve(c + item + ".wav");
                WavWriter.write(in, row(c + ".audio", item), 24000, WavWriter.Encoding.FLOAT_32);
                for (String w : WEIGHTS) {
                    for (String chunk : List.of("1", "7", "480", "1920", "5000")) {
                        for (int k : new int[]{4, 8}) {
                            Path out = dir.resolve(c + item + "-" + w + "-" + chunk + "-" + k + ".safetensors");
                            Cli r = Cli.run("encode", in.toString(), "-o", out.toString(), "--model", model(w), "-n", "" + k,
                                    "--stream", "--chunk-samples", chunk);
                            String what = c + "[" + item + "] " + w + " chunk " + chunk + " q" + k;
                            assertEquals(0, r.status(), what + ": " + r.err());
                            CodesFile.Codes got = CodesFile.read(out);
                            assertArrayEquals(codes(c + ".stream_codes_q" + k, item), got.codes(), what);
                            assertEquals("stream-upstream", got.metadata().get("encoder"));
                        }
                    }
                }
            }
        }
        // the default chunk (1920) too
        Path in = dir.resolve("long0.wav"), out = dir.resolve("default.safetensors");
        assertEquals(0, Cli.run("encode", in.toString(), "-o", out.toString(), "--model", model("moshi.safetensors"), "--stream").status());
        assertArrayEquals(codes("long.stream_codes_q8", 0), CodesFile.read(out).codes());
    }

    @Test
    void decodeStreamGivesUpstreamStreamingAudio(@TempDir Path dir) throws Exception {
        for (String c : CASES) {
            for (int item = 0; item < items(c); item++) {
                for (int k : new int[]{4, 8}) {
                    Path codes = dir.resolve(c + item + "-" + k + ".safetensors");
                    CodesFile.write(codes, codes(c + ".codes_q" + k, item), Map.of(), CodesFile.Format.SAFETENSORS);
                    float[] want = row(c + ".stream_decoded_q" + k, item);
                    for (String w : WEIGHTS) {
                        Path out = dir.resolve(c + item + "-" + k + "-" + w + ".out.safetensors");
                        Cli r = Cli.run("decode", codes.toString(), "-o", out.toString(), "--model", model(w), "--stream");
                        String what = c + "[" + item + "] " + w + " q" + k;
                        assertEquals(0, r.status(), what + ": " + r.err());
                        try (SafeTensors st = SafeTensors.open(out)) {
                            float[] y = st.floats("audio_values");
                            assertEquals(want.length, y.length, what);
                            double num = 0, den = 0;
                            for (int i = 0; i < y.length; i++) {
                                num += (double) (y[i] - want[i]) * (y[i] - want[i]);
                                den += (double) want[i] * want[i];
                            }
                            assertTrue(Math.sqrt(num / den) < 1e-4, what + ": relative L2 " + Math.sqrt(num / den));
                        }
                    }
                }
            }
        }
    }

    @Test
    void streamOptionMistakes(@TempDir Path dir) throws Exception {
        Path in = dir.resolve("a.wav");
        WavWriter.write(in, row("odd.audio", 0), 24000, WavWriter.Encoding.FLOAT_32);
        String out = dir.resolve("a.safetensors").toString(), m = model("model.safetensors");
        Cli r = Cli.run("encode", in.toString(), "-o", out, "--model", m, "--chunk-samples", "480");
        assertEquals(2, r.status()); // usage errors: 2, as picocli's own
        assertTrue(r.errorLine().contains("--chunk-samples needs --stream"), r.err());
        r = Cli.run("encode", in.toString(), "-o", out, "--model", m, "--stream", "--chunk-samples", "0");
        assertEquals(2, r.status());
        assertTrue(r.errorLine().contains("--chunk-samples must be at least 1"), r.err());
        r = Cli.run("encode", in.toString(), "-o", out, "--model", m, "--stream", "--padding", "transformers");
        assertEquals(2, r.status());
        assertTrue(r.errorLine().contains("offline only"), r.err());
    }
}
