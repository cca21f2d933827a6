package org.mimi4j;

import org.mimi4j.io.Json;
import org.mimi4j.io.SafeTensors;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** The goldens of ../shared/golden/tiny: outputs of untouched upstream PyTorch on small random weights. */
public final class Golden implements AutoCloseable {
    public final Path dir;
    public final SafeTensors cases, hfCases;
    public final Map<String, Object> json;

    public Golden() {
        dir = tinyDir();
        cases = SafeTensors.open(dir.resolve("cases.safetensors"));
        hfCases = SafeTensors.open(dir.resolve("transformers_cases.safetensors"));
        try {
            @SuppressWarnings("unchecked")
            Map<String, Object> j = (Map<String, Object>) Json.parse(Files.readString(dir.resolve("cases.json")));
            json = j;
        } catch (IOException e) {
            throw new RuntimeException(e);
        }
    }

    public static Path root() {
        String p = System.getProperty("mimi4j.golden", System.getenv("MIMI4J_GOLDEN"));
        if (p == null) p = "../shared/golden";
        Path r = Path.of(p);
        if (!Files.isDirectory(r)) r = Path.of("../../shared/golden");
        return r.toAbsolutePath().normalize();
    }

    public static Path tinyDir() {
        return root().resolve("tiny");
    }

    /** The golden case descriptions (name, lengths, ...). */
    @SuppressWarnings("unchecked")
    public List<Map<String, Object>> caseList() {
        return (List<Map<String, Object>>) json.get("cases");
    }

    public static int[] lengths(Map<String, Object> c) {
        List<?> l = (List<?>) c.get("lengths");
        int[] out = new int[l.size()];
        for (int i = 0; i < out.length; i++) out[i] = ((Long) l.get(i)).intValue();
        return out;
    }

    public long[] shape(String name) {
        return cases.info(name).shape();
    }

    public float[] f(String name) {
        return cases.floats(name);
    }

    /** audio [B][1][N] as [B][N]. */
    public float[][] audio(String c) {
        long[] s = shape(c + ".audio");
        float[] a = f(c + ".audio");
        int b = (int) s[0], n = (int) s[2];
        float[][] out = new float[b][n];
        for (int i = 0; i < b; i++) System.arraycopy(a, i * n, out[i], 0, n);
        return out;
    }

    /** int64 [B][K][T] as int. */
    public static int[][][] codes(SafeTensors st, String name) {
        long[] s = st.info(name).shape();
        long[] v = st.longs(name);
        int b = (int) s[0], k = (int) s[1], t = (int) s[2];
        int[][][] out = new int[b][k][t];
        for (int i = 0; i < b; i++) for (int q = 0; q < k; q++) for (int j = 0; j < t; j++) out[i][q][j] = (int) v[(i * k + q) * t + j];
        return out;
    }

    public int[][][] codes(String name) {
        return codes(cases, name);
    }

    public List<String> caseNames() {
        List<String> out = new ArrayList<>();
        for (Map<String, Object> c : caseList()) out.add((String) c.get("name"));
        return out;
    }

    @Override
    public void close() {
        cases.close();
        hfCases.close();
    }

    /** Relative L2 error |a-b| / |b| over n values. */
    public static double relL2(float[] a, int ao, float[] b, int bo, int n) {
        double num = 0, den = 0;
        for (int i = 0; i < n; i++) {
            double d = a[ao + i] - b[bo + i];
            num += d * d;
            den += (double) b[bo + i] * b[bo + i];
        }
        return Math.sqrt(num / Math.max(den, 1e-30));
    }

    public static double maxAbs(float[] a, int ao, float[] b, int bo, int n) {
        double m = 0;
        for (int i = 0; i < n; i++) m = Math.max(m, Math.abs(a[ao + i] - b[bo + i]));
        return m;
    }
}
