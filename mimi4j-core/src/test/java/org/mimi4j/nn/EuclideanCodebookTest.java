package org.mimi4j.nn;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mimi4j.io.Checkpoint;
import org.mimi4j.io.SafeTensors;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The nearest-codebook search against a brute force in double precision (the first index on ties, as torch's argmin),
 * with exact ties and near ties planted, and the codebook lookup of decoding: both read the codebook in its packed
 * form, a slice of the checkpoint's weight arena.
 */
class EuclideanCodebookTest {
    static final int N = 300, D = 16, T = 120;

    @Test
    void nearestCodeAndLookup(@TempDir Path dir) throws Exception {
        SplittableRandom r = new SplittableRandom(7);
        float[] sum = new float[N * D], usage = new float[N];
        for (int i = 0; i < N; i++) usage[i] = 1 + r.nextInt(4); // embedding = sum / usage
        for (int i = 0; i < N * D; i++) sum[i] = (float) r.nextGaussian() * usage[i / D];
        float[] x = new float[D * T]; // [d][t], channel-major as the quantizer passes it
        for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
        for (int q = 0; q < 40; q++) { // plant ties around query column q: rows a < b
            int a = 2 * q + 1, b = 2 * q + 150;
            usage[b] = usage[a];
            for (int j = 0; j < D; j++) {
                float v = x[j * T + q];
                sum[a * D + j] = (v + (j == 0 ? 1e-3f : 0)) * usage[a];
                // even q: the same vector twice (an exact tie: the first index wins); odd q: nearly as far the other way
                sum[b * D + j] = q % 2 == 0 ? sum[a * D + j] : (v + (j == 1 ? 1e-3f + 1e-6f * q : 0)) * usage[b];
            }
        }
        Map<String, SafeTensors.Entry> t = new LinkedHashMap<>();
        String p = "quantizer.rvq_first.vq.layers.0._codebook";
        t.put(p + ".embedding_sum", SafeTensors.Entry.f32(sum, N, D));
        t.put(p + ".cluster_usage", SafeTensors.Entry.f32(usage, N));
        Path f = dir.resolve("codebook.safetensors");
        SafeTensors.write(f, t, Map.of());
        EuclideanCodebook cb;
        try (Checkpoint ck = Checkpoint.open(f)) {
            cb = new EuclideanCodebook(ck, p, N, D);
        }
        float[] emb = new float[N * D];
        for (int i = 0; i < N * D; i++) emb[i] = sum[i] / Math.max(usage[i / D], 1e-5f);

        int[] codes = new int[T];
        cb.encode(x, T, codes, new float[N * T]);
        for (int i = 0; i < T; i++) {
            double best = Double.POSITIVE_INFINITY;
            int want = -1;
            for (int c = 0; c < N; c++) {
                double s = 0;
                for (int j = 0; j < D; j++) {
                    double diff = (double) x[j * T + i] - emb[c * D + j];
                    s += diff * diff;
                }
                if (s < best) {
                    best = s;
                    want = c;
                }
            }
            assertEquals(want, codes[i], "column " + i);
        }

        float[] y = new float[D * T];
        cb.accumulate(codes, y, T, 1f);
        for (int i = 0; i < T; i++) for (int j = 0; j < D; j++) assertEquals(emb[codes[i] * D + j], y[j * T + i], "lookup of column " + i);
        cb.accumulate(codes, y, T, -1f);
        for (float v : y) assertEquals(0f, v);
    }
}
