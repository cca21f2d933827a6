package org.mimi4j.io;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mimi4j.Golden;
import org.mimi4j.Mimi;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** Mimi.fromPretrained through a hub on loopback serving the golden checkpoints, in both layouts. */
class HubLoadTest {
    @Test
    void fromPretrainedDownloadsAndLoadsBothLayouts(@TempDir Path tmp) throws Exception {
        Path tiny = Golden.tinyDir();
        try (HfHubTest.FakeHub server = new HfHubTest.FakeHub(); Golden g = new Golden()) {
            server.repo("kyutai/mimi", "a".repeat(40))
                    .lfs("model.safetensors", Files.readAllBytes(tiny.resolve("model.safetensors")))
                    .small("config.json", Files.readAllBytes(tiny.resolve("config.json")));
            server.repo("kyutai/moshiko-pytorch-bf16", "b".repeat(40))
                    .lfs("tokenizer-e351c8d8-checkpoint125.safetensors", Files.readAllBytes(tiny.resolve("moshi.safetensors")));
            HfHub hub = HfHub.fromEnvironment().withEndpoint(server.url()).withCacheDir(tmp.resolve("cache")).withToken(null);
            Mimi hf = Mimi.fromPretrained(hub, "kyutai/mimi");
            assertEquals(Checkpoint.Layout.TRANSFORMERS, hf.layout());
            int[][][] want = g.codes("long.codes_q8");
            assertArrayEquals(want[0], hf.encode(g.audio("long")[0], 8));
            assertEquals("kyutai/mimi", hf.source());
            assertEquals(tmp.resolve("cache/models--kyutai--mimi/snapshots/" + "a".repeat(40) + "/model.safetensors"),
                    hub.download("kyutai/mimi", "model.safetensors"));
            // the original checkpoint carries no config: this one is tiny, so the config is passed explicitly
            Path w = hub.download("kyutai/moshiko-pytorch-bf16", "tokenizer-e351c8d8-checkpoint125.safetensors");
            Mimi moshi = Mimi.load(w, tiny.resolve("config.json"));
            assertEquals(Checkpoint.Layout.MOSHI, moshi.layout());
            assertArrayEquals(want[0], moshi.encode(g.audio("long")[0], 8));
        }
    }
}
