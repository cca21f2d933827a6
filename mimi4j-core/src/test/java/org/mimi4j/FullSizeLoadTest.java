package org.mimi4j;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mimi4j.io.Checkpoint;
import org.mimi4j.io.Json;
import org.mimi4j.io.RandomCheckpoint;
import org.mimi4j.io.SafeTensors;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The full-size layouts: names and shapes of both released files, and that such files load. */
class FullSizeLoadTest {
    @SuppressWarnings("unchecked")
    static Map<String, List<Long>> released(String file) throws Exception {
        Map<String, Object> j = (Map<String, Object>) Json.parse(Files.readString(Golden.root().resolve("full/tensors.json")));
        Map<String, Object> layout = (Map<String, Object>) ((Map<String, Object>) j.get("layouts")).get(file);
        Map<String, List<Long>> out = new TreeMap<>();
        for (Map.Entry<String, Object> e : layout.entrySet()) out.put(e.getKey(), (List<Long>) ((Map<String, Object>) e.getValue()).get("shape"));
        return out;
    }

    @Test
    void releasedConfigMatchesFullConfigJson() {
        assertEquals(MimiConfig.released(), MimiConfig.fromJson(Golden.root().resolve("full/config.json")));
    }

    @Test
    void randomCheckpointsHaveTheReleasedNamesAndShapes() throws Exception {
        MimiConfig c = MimiConfig.released();
        for (var layout : Checkpoint.Layout.values()) {
            Map<String, List<Long>> got = new TreeMap<>();
            for (var t : RandomCheckpoint.fileTensors(c, layout).entrySet()) got.put(t.getKey(), java.util.Arrays.stream(t.getValue().getValue()).boxed().toList());
            assertEquals(released(layout == Checkpoint.Layout.MOSHI ? "moshi.safetensors" : "model.safetensors"), got, layout.toString());
        }
    }

    @Test
    void fullSizeCheckpointsLoadInBothLayouts(@TempDir Path dir) throws Exception {
        MimiConfig c = MimiConfig.released();
        for (var layout : Checkpoint.Layout.values()) {
            Path f = dir.resolve(layout + ".safetensors");
            RandomCheckpoint.write(f, c, layout, SafeTensors.DType.F32, 7);
            Mimi m = Mimi.load(f);
            assertEquals(layout, m.layout());
            assertEquals(32, m.totalCodebooks());
            assertTrue(m.unusedTensors().isEmpty(), m.unusedTensors().toString());
            int[][] codes = m.encode(new float[1920], 8);
            assertEquals(8, codes.length);
            assertEquals(1, codes[0].length);
            Files.delete(f);
        }
    }
}
