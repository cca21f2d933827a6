package org.mimi4j;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mimi4j.io.SafeTensors;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** F16 and BF16 checkpoints load and give exactly the results of the float32 model built from the same rounded weights. */
class DtypeTest {
    /** Copies a checkpoint with every tensor stored as dtype, or (asF32) rounded through dtype but stored as F32. */
    static void convert(Path src, Path dst, SafeTensors.DType dtype, boolean asF32) throws Exception {
        Map<String, SafeTensors.Entry> out = new LinkedHashMap<>();
        try (SafeTensors st = SafeTensors.open(src)) {
            for (var t : st.tensors().values()) {
                float[] v = st.floats(t.name());
                SafeTensors.Entry e = SafeTensors.Entry.floats(v, dtype, t.shape());
                if (asF32) {
                    Path tmp = Files.createTempFile("round", ".safetensors");
                    SafeTensors.write(tmp, Map.of("x", e), Map.of());
                    try (SafeTensors r = SafeTensors.open(tmp)) {
                        e = SafeTensors.Entry.f32(r.floats("x"), t.shape());
                    }
                    Files.delete(tmp);
                }
                out.put(t.name(), e);
            }
        }
        SafeTensors.write(dst, out, Map.of("format", "pt"));
        Files.copy(src.resolveSibling("config.json"), dst.resolveSibling("config.json"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }

    @Test
    void halfPrecisionCheckpointsEqualTheirFloat32Rounding(@TempDir Path dir) throws Exception {
        try (Golden g = new Golden()) {
            float[] audio = g.audio("odd")[0];
            for (String file : new String[]{"model.safetensors", "moshi.safetensors"}) {
                for (SafeTensors.DType dt : new SafeTensors.DType[]{SafeTensors.DType.F16, SafeTensors.DType.BF16}) {
                    Path half = Files.createDirectories(dir.resolve(dt + "-" + file)).resolve(file);
                    Path f32 = Files.createDirectories(dir.resolve(dt + "-f32-" + file)).resolve(file);
                    convert(g.dir.resolve(file), half, dt, false);
                    convert(g.dir.resolve(file), f32, dt, true);
                    try (SafeTensors st = SafeTensors.open(half)) {
                        assertEquals(dt, st.tensors().values().iterator().next().dtype());
                    }
                    Mimi a = Mimi.load(half), b = Mimi.load(f32);
                    int[][] ca = a.encode(audio, 8), cb = b.encode(audio, 8);
                    for (int k = 0; k < 8; k++) assertArrayEquals(cb[k], ca[k], dt + " " + file + " codebook " + k);
                    assertArrayEquals(b.decode(cb), a.decode(ca), 0f, dt + " " + file + " decode");
                }
            }
        }
    }
}
