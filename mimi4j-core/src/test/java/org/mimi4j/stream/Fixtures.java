package org.mimi4j.stream;

import org.mimi4j.Golden;
import org.mimi4j.Mimi;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;

import org.junit.jupiter.params.provider.Arguments;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Goldens and both tiny models, loaded once for all stream tests. */
final class Fixtures {
    static final double TOL = 1e-4;
    static final List<String> WEIGHTS = List.of("model.safetensors", "moshi.safetensors");
    static final Golden G = new Golden();
    private static final Map<String, Mimi> MODELS = new LinkedHashMap<>();

    private Fixtures() {
    }

    static synchronized Mimi model(String weights) {
        return MODELS.computeIfAbsent(weights, w -> Mimi.load(G.dir.resolve(w)));
    }

    /** (weights, case, item) for every golden stream. */
    static Stream<Arguments> streams() {
        List<Arguments> out = new ArrayList<>();
        for (String w : WEIGHTS) {
            for (String c : G.caseNames()) {
                int b = (int) G.shape(c + ".audio")[0];
                for (int i = 0; i < b; i++) out.add(Arguments.of(w, c, i));
            }
        }
        return out.stream();
    }

    /** The golden input of one stream: the (zero right-padded) audio row, as upstream streamed it. */
    static float[] audio(String c, int item) {
        return G.audio(c)[item];
    }

    /** Chunk schedules: fixed sizes, and a seeded random mix (0 to 10000 samples, including 0 and 1). */
    static int[] schedule(String name, int total) {
        List<Integer> sizes = new ArrayList<>();
        if (name.startsWith("mix")) {
            SplittableRandom r = new SplittableRandom(name.hashCode());
            for (int done = 0; done < total; ) {
                int pick = r.nextInt(6);
                int n = switch (pick) {
                    case 0 -> 0;
                    case 1 -> 1;
                    case 2 -> r.nextInt(1, 100);
                    case 3 -> 1920;
                    default -> r.nextInt(1, 10001);
                };
                n = Math.min(n, total - done);
                sizes.add(n);
                done += n;
            }
        } else {
            int size = Integer.parseInt(name);
            for (int done = 0; done < total; done += size) sizes.add(Math.min(size, total - done));
        }
        return sizes.stream().mapToInt(Integer::intValue).toArray();
    }

    static final List<String> CHUNKINGS = List.of("1", "7", "480", "1920", "5000", "100000", "mix1", "mix2");

    /** Codes [K][T] of item b of a golden int64 [B][K][T] tensor. */
    static int[][] codes(String name, int item) {
        return G.codes(name)[item];
    }

    /** Frame-major [T][K] to codebook-major [K][T]. */
    static int[][] transpose(int[][] frames, int k) {
        int[][] out = new int[k][frames.length];
        for (int t = 0; t < frames.length; t++) {
            assertEquals(k, frames[t].length, "frame " + t + " codebooks");
            for (int q = 0; q < k; q++) out[q][t] = frames[t][q];
        }
        return out;
    }

    static void assertCodes(int[][] want, int[][] gotKT, String what) {
        assertEquals(want.length, gotKT.length, what + ": codebooks");
        for (int q = 0; q < want.length; q++) assertArrayEquals(want[q], gotKT[q], what + ": codebook " + q);
    }

    /** A golden float [B][C][T] tensor's item as [C*T]. */
    static float[] item(String name, int item) {
        long[] s = G.shape(name);
        int n = (int) (s[1] * s[2]);
        return java.util.Arrays.copyOfRange(G.f(name), item * n, (item + 1) * n);
    }

    static void assertClose(float[] got, float[] want, String what) {
        assertEquals(want.length, got.length, what + ": length");
        double e = Golden.relL2(got, 0, want, 0, want.length);
        assertTrue(e < TOL, what + ": relative L2 " + e + ", max abs " + Golden.maxAbs(got, 0, want, 0, want.length));
    }

    /**
     * Same computation, possibly run by different JIT tiers: the Vector API kernels (lane reductions, vector EXPM1)
     * round the last bit differently when interpreted than when compiled, so repeated runs agree to float noise,
     * not always bit for bit. Relative L2 below 1e-5 (ten times tighter than the golden tolerance).
     */
    static void assertSameRun(float[] want, float[] got, String what) {
        assertEquals(want.length, got.length, what + ": length");
        double e = Golden.relL2(got, 0, want, 0, want.length);
        assertTrue(e < 1e-5, what + ": relative L2 " + e + ", max abs " + Golden.maxAbs(got, 0, want, 0, want.length));
    }

    /** Collects latent columns into channel-major [D][T]. */
    static final class Latents implements LatentListener {
        final List<float[]> cols = new ArrayList<>();

        @Override
        public void onLatent(long frame, float[] latent) {
            assertEquals(cols.size(), frame, "latent frames arrive in order");
            cols.add(latent);
        }

        float[] channelMajor() {
            int t = cols.size(), d = t == 0 ? 0 : cols.get(0).length;
            float[] out = new float[d * t];
            for (int i = 0; i < t; i++) for (int c = 0; c < d; c++) out[c * t + i] = cols.get(i)[c];
            return out;
        }
    }

    /** Runs a solo encoder stream over audio with a chunk schedule; returns frames [T][K]. */
    static int[][] encode(MimiEncoderStream s, float[] audio, int[] sizes) {
        List<int[]> frames = new ArrayList<>();
        int pos = 0;
        for (int n : sizes) {
            int before = frames.size();
            for (int[] f : s.push(audio, pos, n)) frames.add(f);
            pos += n;
            // frames come out as soon as they are complete
            assertEquals(pos / 1920, frames.size(), "frames after " + pos + " samples (chunk added " + (frames.size() - before) + ")");
        }
        assertEquals(audio.length, pos);
        for (int[] f : s.end()) frames.add(f);
        return frames.toArray(new int[0][]);
    }

    static float[] concat(List<float[]> parts) {
        int n = 0;
        for (float[] p : parts) n += p.length;
        float[] out = new float[n];
        int i = 0;
        for (float[] p : parts) {
            System.arraycopy(p, 0, out, i, p.length);
            i += p.length;
        }
        return out;
    }

    /** What a duplex loop gave: the encoder's frames [T][K] and the decoder's audio. */
    record DuplexRun(int[][] codes, float[] audio) {
    }

    /**
     * A voice agent's loop: each tick one chunk of the microphone in beside one reply frame out ({@link Duplex}), until
     * both are used up; then the encoder's end.
     */
    static DuplexRun duplexLoop(Mimi m, float[] mic, int chunk, int[][] reply) {
        MimiEncoderStream enc = m.encoderStream(8);
        MimiDecoderStream dec = m.decoderStream();
        List<int[]> codes = new ArrayList<>();
        List<float[]> speech = new ArrayList<>();
        int ticks = Math.max((mic.length + chunk - 1) / chunk, reply.length);
        for (int t = 0; t < ticks; t++) {
            int from = Math.min(mic.length, t * chunk), to = Math.min(mic.length, from + chunk);
            int[][][] out = new int[1][][];
            float[][] pcm = new float[1][];
            int[] frame = t < reply.length ? reply[t] : null;
            Duplex.step(() -> out[0] = enc.push(mic, from, to - from), () -> pcm[0] = frame == null ? new float[0] : dec.push(frame));
            for (int[] f : out[0]) codes.add(f);
            speech.add(pcm[0]);
        }
        for (int[] f : enc.end()) codes.add(f);
        return new DuplexRun(codes.toArray(new int[0][]), concat(speech));
    }
}
