package org.mimi4j;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mimi4j.io.SafeTensors;
import org.mimi4j.io.SafeTensorsException;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every kind of bad input gets a specific exception whose one-line message names the problem. */
class BadInputTest {
    static Mimi model;

    @BeforeAll
    static void load() {
        model = Mimi.load(Golden.tinyDir().resolve("model.safetensors"));
    }

    static void assertMessage(RuntimeException e, String... parts) {
        String m = e.getMessage();
        assertTrue(!m.contains("\n"), "one line: " + m);
        for (String p : parts) assertTrue(m.contains(p), "message '" + m + "' should mention '" + p + "'");
    }

    static Path raw(Path dir, String header, byte[] data) throws Exception {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h).put(data);
        Path p = Files.createTempFile(dir, "bad", ".safetensors");
        Files.write(p, b.array());
        return p;
    }

    @Test
    void missingFileOrDirectory(@TempDir Path dir) {
        assertMessage(assertThrows(CheckpointException.class, () -> Mimi.load(dir.resolve("nope.safetensors"))), "nope.safetensors", "no such file");
        assertMessage(assertThrows(CheckpointException.class, () -> Mimi.load(dir)), "no .safetensors");
    }

    @Test
    void notSafetensors(@TempDir Path dir) throws Exception {
        Path p = dir.resolve("x.safetensors");
        Files.writeString(p, "hello, this is a text file and not weights");
        assertMessage(assertThrows(SafeTensorsException.class, () -> Mimi.load(p)), "x.safetensors", "not a safetensors file");
        Files.write(p, new byte[3]);
        assertMessage(assertThrows(SafeTensorsException.class, () -> Mimi.load(p)), "not a safetensors file");
    }

    @Test
    void truncatedFile(@TempDir Path dir) throws Exception {
        Path p = dir.resolve("t.safetensors");
        byte[] all = Files.readAllBytes(Golden.tinyDir().resolve("model.safetensors"));
        Files.write(p, java.util.Arrays.copyOf(all, all.length - 100));
        assertMessage(assertThrows(SafeTensorsException.class, () -> Mimi.load(p)), "truncated");
    }

    @Test
    void headerLengthBeyondFile(@TempDir Path dir) throws Exception {
        Path p = dir.resolve("h.safetensors");
        ByteBuffer b = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(1_000_000).putLong(0);
        Files.write(p, b.array());
        assertMessage(assertThrows(SafeTensorsException.class, () -> SafeTensors.open(p)), "header length 1000000");
    }

    @Test
    void badJson(@TempDir Path dir) throws Exception {
        Path p = raw(dir, "{\"a\": {\"dtype\": \"F32\", ", new byte[0]);
        assertMessage(assertThrows(SafeTensorsException.class, () -> SafeTensors.open(p)), "invalid safetensors header", "bad JSON");
    }

    @Test
    void unknownDtype(@TempDir Path dir) throws Exception {
        Path p = raw(dir, "{\"a\":{\"dtype\":\"Q4\",\"shape\":[1],\"data_offsets\":[0,4]}}", new byte[4]);
        assertMessage(assertThrows(SafeTensorsException.class, () -> SafeTensors.open(p)), "tensor a", "unknown dtype Q4");
    }

    @Test
    void shapeDoesNotMatchByteRange(@TempDir Path dir) throws Exception {
        Path p = raw(dir, "{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", new byte[8]);
        assertMessage(assertThrows(SafeTensorsException.class, () -> SafeTensors.open(p)), "tensor a", "[3]", "12 bytes", "holds 8");
    }

    @Test
    void overlappingRanges(@TempDir Path dir) throws Exception {
        Path p = raw(dir, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", new byte[12]);
        assertMessage(assertThrows(SafeTensorsException.class, () -> SafeTensors.open(p)), "overlap");
    }

    /** The tiny golden checkpoint with one tensor changed or removed. */
    static Path edited(Path dir, String remove, String reshape) throws Exception {
        Map<String, SafeTensors.Entry> out = new LinkedHashMap<>();
        try (SafeTensors st = SafeTensors.open(Golden.tinyDir().resolve("moshi.safetensors"))) {
            for (var t : st.tensors().values()) {
                if (t.name().equals(remove)) continue;
                float[] v = st.floats(t.name());
                long[] shape = t.shape();
                if (t.name().equals(reshape)) {
                    v = java.util.Arrays.copyOf(v, (int) (v.length / shape[shape.length - 1] * (shape[shape.length - 1] - 1)));
                    shape = shape.clone();
                    shape[shape.length - 1]--;
                }
                out.put(t.name(), SafeTensors.Entry.f32(v, shape));
            }
        }
        Path d = Files.createTempDirectory(dir, "ck");
        Path p = d.resolve("moshi.safetensors");
        SafeTensors.write(p, out, Map.of());
        Files.copy(Golden.tinyDir().resolve("config.json"), d.resolve("config.json"));
        return p;
    }

    @Test
    void missingTensorIsNamed(@TempDir Path dir) throws Exception {
        Path p = edited(dir, "decoder.model.14.conv.conv.weight", null);
        assertMessage(assertThrows(CheckpointException.class, () -> Mimi.load(p)), "missing tensor decoder.model.14.conv.conv.weight", "[1, 8, 3]");
    }

    @Test
    void wrongShapeIsNamedWithExpectedAndFound(@TempDir Path dir) throws Exception {
        Path p = edited(dir, null, "encoder.model.0.conv.conv.weight");
        assertMessage(assertThrows(CheckpointException.class, () -> Mimi.load(p)), "encoder.model.0.conv.conv.weight", "[8, 1, 6]", "expected [8, 1, 7]");
    }

    @Test
    void mixedAndUnknownLayouts(@TempDir Path dir) throws Exception {
        Map<String, SafeTensors.Entry> m = new LinkedHashMap<>();
        m.put("encoder.model.0.conv.conv.weight", SafeTensors.Entry.f32(new float[1], 1));
        m.put("encoder.layers.0.conv.weight", SafeTensors.Entry.f32(new float[1], 1));
        Path mixed = dir.resolve("mixed.safetensors");
        SafeTensors.write(mixed, m, Map.of());
        assertMessage(assertThrows(CheckpointException.class, () -> Mimi.load(mixed)), "mixed checkpoint layout");
        Path other = dir.resolve("other.safetensors");
        SafeTensors.write(other, Map.of("lm_head.weight", SafeTensors.Entry.f32(new float[1], 1)), Map.of());
        assertMessage(assertThrows(CheckpointException.class, () -> Mimi.load(other)), "not a Mimi checkpoint");
    }

    @Test
    void badConfig(@TempDir Path dir) throws Exception {
        Path c = dir.resolve("config.json");
        Files.writeString(c, "{\"hidden_size\": 32,");
        assertMessage(assertThrows(CheckpointException.class, () -> MimiConfig.fromJson(c)), "config.json", "bad JSON");
        Files.writeString(c, "{\"model_type\": \"encodec\"}");
        assertMessage(assertThrows(CheckpointException.class, () -> MimiConfig.fromJson(c)), "model_type");
    }

    /** Options whose other values change the output are refused, never ignored; their released values load. */
    @Test
    void unsupportedConfigOptions(@TempDir Path dir) throws Exception {
        Path c = dir.resolve("config.json");
        String base = Files.readString(Golden.tinyDir().resolve("config.json"));
        for (String[] bad : new String[][]{
                {"attention_bias", "true", "attention_bias true"},
                {"trim_right_ratio", "0.5", "trim_right_ratio 0.5"},
                {"sliding_window", "null", "sliding_window null"},
                {"use_conv_shortcut", "true", "use_conv_shortcut true"},
                {"pad_mode", "\"reflect\"", "pad_mode \"reflect\""},
                {"use_causal_conv", "false", "use_causal_conv false"},
                {"hidden_act", "\"relu\"", "hidden_act \"relu\""},
                {"num_key_value_heads", "2", "num_key_value_heads"},
                {"audio_channels", "2", "audio_channels 2"},
                {"upsample_groups", "3", "upsample_groups 3"},
                {"frame_rate", "7.0", "frame size 3429", "hop length 960"},
                {"frame_rate", "-12.5", "frame_rate -12.5 must be positive"},
                {"sampling_rate", "-24000", "sampling_rate must be an integer of at least 1, got -24000"},
                {"num_attention_heads", "0", "num_attention_heads must be an integer of at least 1, got 0"},
                {"sliding_window", "0", "sliding_window must be an integer of at least 1"},
                {"kernel_size", "2.5", "kernel_size must be an integer"},
                {"hidden_size", "\"32\"", "hidden_size must be an integer of at least 1, got \"32\""},
                {"num_hidden_layers", "-1", "num_hidden_layers must be an integer of at least 0"},
                {"head_dim", "16", "hidden_size 32 != num_attention_heads 4 x head_dim 16"},
                {"num_semantic_quantizers", "8", "num_quantizers > num_semantic_quantizers"}}) {
            Files.writeString(c, withValue(base, bad[0], bad[1]));
            String[] expected = java.util.Arrays.copyOfRange(bad, 1, bad.length);
            expected[0] = "config.json";
            assertMessage(assertThrows(CheckpointException.class, () -> MimiConfig.fromJson(c), bad[0]), expected);
        }
        Files.writeString(c, withValue(withValue(base, "attention_bias", "false"), "trim_right_ratio", "1"));
        assertEquals(MimiConfig.fromJson(Golden.tinyDir().resolve("config.json")).toString(), MimiConfig.fromJson(c).toString());
    }

    /** The config text with key's value replaced (the key must be there). */
    private static String withValue(String json, String key, String value) {
        String out = json.replaceFirst("\"" + key + "\": [^,}\\n]+", java.util.regex.Matcher.quoteReplacement("\"" + key + "\": " + value));
        assertTrue(!out.equals(json) || json.contains("\"" + key + "\": " + value), key);
        return out;
    }

    @Test
    void codesOutOfRangeOrTooMany() {
        int[][] codes = new int[4][3];
        codes[2][1] = 64;
        assertMessage(assertThrows(InvalidInputException.class, () -> model.decode(codes)), "code 64", "codebook 2", "frame 1", "[0, 64)");
        codes[2][1] = -1;
        assertMessage(assertThrows(InvalidInputException.class, () -> model.decode(codes)), "code -1");
        assertMessage(assertThrows(InvalidInputException.class, () -> model.decode(new int[9][3])), "9 codebooks", "model has 8");
        assertMessage(assertThrows(InvalidInputException.class, () -> model.decode(new int[][]{new int[3], new int[2]})), "not rectangular");
        assertMessage(assertThrows(InvalidInputException.class, () -> model.decode(new int[][]{{}})), "codes have no frames");
        assertMessage(assertThrows(InvalidInputException.class, () -> model.decode(new int[][]{new int[3], null})), "codebook 1 is null");
    }

    @Test
    void numQuantizersOutOfRange() {
        float[] a = new float[1920];
        assertMessage(assertThrows(InvalidInputException.class, () -> model.encode(a, 0)), "num_quantizers must be at least 1");
        assertMessage(assertThrows(InvalidInputException.class, () -> model.encode(a, 9)), "num_quantizers 9 exceeds", "8 codebooks");
    }

    @Test
    void emptyOrNonFiniteAudio() {
        assertMessage(assertThrows(InvalidInputException.class, () -> model.encode(new float[0], 8)), "no samples");
        float[] a = new float[5000];
        a[4321] = Float.NaN;
        assertMessage(assertThrows(InvalidInputException.class, () -> model.encode(a, 8)), "non-finite", "4321");
    }

    /**
     * A long encode runs in calls of 192 frames, the next call's first layers beside the rest of this one: a bad
     * sample or an overflow in a later call is still an error that names where it is.
     */
    @Test
    void badAudioInALaterCall() {
        int call = 192 * model.frameSize();
        float[] a = new float[3 * call + 777];
        for (int i = 0; i < a.length; i++) a[i] = (float) (0.1 * Math.sin(i * 0.01));
        a[2 * call + 12345] = Float.POSITIVE_INFINITY;
        assertMessage(assertThrows(InvalidInputException.class, () -> model.encode(a, 8)), "non-finite", String.valueOf(2 * call + 12345));
        a[2 * call + 12345] = 0f;
        for (int i = 2 * call; i < 2 * call + 5000; i++) a[i] = Float.MAX_VALUE / 2;
        assertMessage(assertThrows(InvalidInputException.class, () -> model.encode(a, 8)), "not finite", "from sample " + 2 * call);
    }

    /** A checkpoint with a NaN weight: encoding is an error, not codes that mean nothing. */
    @Test
    void nonFiniteWeights(@TempDir Path dir) throws Exception {
        Map<String, SafeTensors.Entry> t = new java.util.TreeMap<>();
        try (SafeTensors tiny = SafeTensors.open(Golden.tinyDir().resolve("model.safetensors"))) {
            for (SafeTensors.TensorInfo i : tiny.tensors().values()) {
                float[] v = tiny.floats(i.name());
                if (i.name().equals("encoder.layers.0.conv.weight") || i.name().equals("decoder.layers.0.conv.weight")) v[0] = Float.NaN;
                t.put(i.name(), SafeTensors.Entry.f32(v, i.shape()));
            }
        }
        Path bad = dir.resolve("model.safetensors");
        SafeTensors.write(bad, t, Map.of());
        Files.copy(Golden.tinyDir().resolve("config.json"), dir.resolve("config.json"));
        Mimi m = Mimi.load(dir);
        float[] a = new float[5000];
        for (int i = 0; i < a.length; i++) a[i] = (float) Math.sin(i * 0.01);
        assertMessage(assertThrows(InvalidInputException.class, () -> m.encode(a, 8)), "encoder's output is not finite", "non-finite weights");
        int[][] codes = model.encode(a, 8);
        assertMessage(assertThrows(InvalidInputException.class, () -> m.decode(codes)), "decoder's output is not finite", "non-finite weights");
        assertMessage(assertThrows(InvalidInputException.class, () -> m.decode(codes, (buf, off, len) -> { })), "decoder's output is not finite");
    }
}
