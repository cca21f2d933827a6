package org.mimi4j.cli;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mimi4j.Mimi;
import org.mimi4j.Padding;
import org.mimi4j.audio.AudioIO;
import org.mimi4j.audio.WavWriter;
import org.mimi4j.io.CodesFile;
import org.mimi4j.io.SafeTensors;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CliTest {
    static SafeTensors cases;

    @BeforeAll
    static void open() {
        cases = SafeTensors.open(Cli.golden().resolve("tiny/cases.safetensors"));
    }

    static float[] audio(String c) {
        return cases.floats(c + ".audio");
    }

    static int[][] codes(String name) {
        long[] s = cases.info(name).shape();
        long[] v = cases.longs(name);
        int k = (int) s[1], t = (int) s[2];
        int[][] out = new int[k][t];
        for (int q = 0; q < k; q++) for (int i = 0; i < t; i++) out[q][i] = (int) v[q * t + i];
        return out;
    }

    static Path wav(Path dir, String name, float[] x, WavWriter.Encoding enc) throws Exception {
        Path p = dir.resolve(name);
        WavWriter.write(p, x, 24000, enc);
        return p;
    }

    static void assertNoTemporaries(Path dir) throws Exception {
        try (Stream<Path> s = Files.walk(dir)) {
            assertTrue(s.noneMatch(p -> p.getFileName().toString().endsWith(".part")), "temporary files left in " + dir);
        }
    }

    @Test
    void encodeGoldenWavGivesGoldenCodesAndDecodeGivesGoldenAudio(@TempDir Path dir) throws Exception {
        for (String c : new String[]{"odd", "long"}) {
            Path in = wav(dir, c + ".wav", audio(c), WavWriter.Encoding.FLOAT_32);
            Path codes = dir.resolve(c + ".safetensors");
            Cli r = Cli.run("encode", in.toString(), "-o", codes.toString(), "--model", Cli.tinyModel());
            assertEquals(0, r.status(), r.err());
            CodesFile.Codes got = CodesFile.read(codes);
            assertArrayEquals(codes(c + ".codes_q8"), got.codes());
            assertEquals(Integer.toString(audio(c).length), got.metadata().get("input_samples"));
            assertEquals("8", got.metadata().get("num_quantizers"));
            assertEquals("24000", got.metadata().get("sample_rate"));

            Path out = dir.resolve(c + ".out.safetensors");
            r = Cli.run("decode", codes.toString(), "-o", out.toString(), "--model", Cli.tinyModel());
            assertEquals(0, r.status(), r.err());
            float[] want = cases.floats(c + ".decoded_q8");
            try (SafeTensors st = SafeTensors.open(out)) {
                float[] y = st.floats("audio_values");
                assertEquals(audio(c).length, y.length, "trimmed to input_samples");
                double num = 0, den = 0;
                for (int i = 0; i < y.length; i++) {
                    num += (y[i] - want[i]) * (y[i] - want[i]);
                    den += want[i] * want[i];
                }
                assertTrue(Math.sqrt(num / den) < 1e-4, "decoded relative L2 " + Math.sqrt(num / den));
            }
        }
        assertNoTemporaries(dir);
    }

    @Test
    void transformersPaddingAndNpyAndFourCodebooks(@TempDir Path dir) throws Exception {
        Path in = wav(dir, "odd.wav", audio("odd"), WavWriter.Encoding.FLOAT_32);
        Path npy = dir.resolve("odd.npy");
        Cli r = Cli.run("encode", in.toString(), "-o", npy.toString(), "--model", Cli.tinyModel(), "--padding", "transformers", "-n", "4");
        assertEquals(0, r.status(), r.err());
        long[] s;
        long[] v;
        try (SafeTensors hf = SafeTensors.open(Cli.golden().resolve("tiny/transformers_cases.safetensors"))) {
            s = hf.info("odd.hf_codes_q4").shape();
            v = hf.longs("odd.hf_codes_q4");
        }
        int[][] got = CodesFile.read(npy).codes();
        for (int q = 0; q < 4; q++) for (int i = 0; i < s[2]; i++) assertEquals(v[(int) (q * s[2] + i)], got[q][i]);
        // decode reads npy too (no metadata: all T*1920 samples)
        Path wavOut = dir.resolve("odd.out.wav");
        r = Cli.run("decode", npy.toString(), "-o", wavOut.toString(), "--model", Cli.tinyModel());
        assertEquals(0, r.status(), r.err());
        assertEquals(44 + 2L * got[0].length * 1920, Files.size(wavOut));
    }

    @Test
    void sixteenBitWavAndRoundtripAndInfo(@TempDir Path dir) throws Exception {
        Path in = wav(dir, "long.wav", audio("long"), WavWriter.Encoding.PCM_16);
        Path out = dir.resolve("rt.wav");
        Cli r = Cli.run("roundtrip", in.toString(), "-o", out.toString(), "--model", Cli.tinyModel());
        assertEquals(0, r.status(), r.err());
        assertTrue(r.out().contains("SNR") && r.out().contains("6.00 s"), r.out());
        assertEquals(44 + 2L * audio("long").length, Files.size(out));
        // the SNR the command computes in chunks is that of the whole file encoded and decoded through the API
        float[] x = AudioIO.readMono(in, 24000).samples();
        Mimi m = Mimi.load(Path.of(Cli.tinyModel()));
        float[] y = m.decode(m.encode(x, 8, Padding.MOSHI));
        double err = 0, sig = 0;
        for (int i = 0; i < x.length; i++) {
            err += (double) (y[i] - x[i]) * (y[i] - x[i]);
            sig += (double) x[i] * x[i];
        }
        String snr = String.format(java.util.Locale.ROOT, "SNR %.2f dB", 10 * Math.log10(sig / err));
        assertTrue(r.out().contains(snr), snr + " in " + r.out());

        Path codes = dir.resolve("c.safetensors");
        assertEquals(0, Cli.run("encode", in.toString(), "-o", codes.toString(), "--model", Cli.tinyModel()).status());
        r = Cli.run("info", codes.toString());
        assertEquals(0, r.status(), r.err());
        assertTrue(r.out().contains("[8 codebooks, 75 frames]") && r.out().contains("6.00 s"), r.out());
        r = Cli.run("info", Cli.tinyModel());
        assertEquals(0, r.status(), r.err());
        assertTrue(r.out().contains("transformers") && r.out().contains("sha256"), r.out());
        // a folder describes its weight file as fully as the file itself
        Cli folder = Cli.run("info", Path.of(Cli.tinyModel()).getParent().toString());
        assertEquals(0, folder.status(), folder.err());
        assertEquals(r.out(), folder.out());
    }

    /** A JVM started without the Vector API module: one error line saying how to start it, before any model is read. */
    @Test
    void withoutTheVectorApiModule(@TempDir Path dir) throws Exception {
        Path in = wav(dir, "in.wav", audio("frame1"), WavWriter.Encoding.PCM_16), out = dir.resolve("out.safetensors");
        String jvm = ProcessHandle.current().info().command().orElse("java");
        Process p = new ProcessBuilder(jvm, "-cp", System.getProperty("java.class.path"), MimiCli.class.getName(),
                "encode", in.toString(), "-o", out.toString(), "--model", Cli.tinyModel())
                .redirectErrorStream(true).redirectOutput(dir.resolve("log.txt").toFile()).start();
        assertTrue(p.waitFor(2, java.util.concurrent.TimeUnit.MINUTES), "timed out");
        List<String> log = Files.readAllLines(dir.resolve("log.txt"));
        assertEquals(1, p.exitValue(), String.join("\n", log));
        assertEquals(List.of("mimi: error: mimi4j needs the JDK's Vector API: start java with --add-modules jdk.incubator.vector"), log);
        assertFalse(Files.exists(out));
    }

    @Test
    void badInputsGiveOneLineAndNoOutput(@TempDir Path dir) throws Exception {
        Path good = wav(dir, "good.wav", audio("frame1"), WavWriter.Encoding.PCM_16);
        Path out = dir.resolve("o.safetensors");
        // missing input
        Cli r = Cli.run("encode", dir.resolve("missing.wav").toString(), "-o", out.toString(), "--model", Cli.tinyModel());
        assertEquals(1, r.status());
        assertTrue(r.errorLine().contains("missing.wav"));
        // corrupt WAV
        Path bad = dir.resolve("bad.wav");
        Files.write(bad, "RIFF\u0010\u0000\u0000\u0000WAVEjunkjunk".getBytes());
        r = Cli.run("encode", bad.toString(), "-o", out.toString(), "--model", Cli.tinyModel());
        assertEquals(1, r.status());
        assertTrue(r.errorLine().contains("bad.wav"), r.err());
        assertFalse(Files.exists(out));
        // not a model
        r = Cli.run("encode", good.toString(), "-o", out.toString(), "--model", bad.toString());
        assertEquals(1, r.status());
        assertTrue(r.errorLine().contains("safetensors"), r.err());
        // num-quantizers
        r = Cli.run("encode", good.toString(), "-o", out.toString(), "--model", Cli.tinyModel(), "-n", "0");
        assertEquals(2, r.status()); // a value that does not fit the option: a usage error
        assertTrue(r.errorLine().contains("at least 1"), r.err());
        r = Cli.run("encode", good.toString(), "-o", out.toString(), "--model", Cli.tinyModel(), "-n", "9");
        assertEquals(1, r.status());
        assertTrue(r.errorLine().contains("exceeds the model's 8 codebooks"), r.err());
        assertFalse(Files.exists(out));
        // roundtrip checks -n the same way, and writes nothing
        Path rt = dir.resolve("rt.wav");
        r = Cli.run("roundtrip", good.toString(), "-o", rt.toString(), "--model", Cli.tinyModel(), "-n", "0");
        assertEquals(2, r.status());
        assertTrue(r.errorLine().contains("--num-quantizers must be at least 1"), r.err());
        r = Cli.run("roundtrip", good.toString(), "-o", rt.toString(), "--model", Cli.tinyModel(), "-n", "9");
        assertEquals(1, r.status());
        assertTrue(r.errorLine().contains("--num-quantizers 9 exceeds the model's 8 codebooks"), r.err());
        assertFalse(Files.exists(rt));
        // existing output
        assertEquals(0, Cli.run("encode", good.toString(), "-o", out.toString(), "--model", Cli.tinyModel()).status());
        r = Cli.run("encode", good.toString(), "-o", out.toString(), "--model", Cli.tinyModel());
        assertEquals(1, r.status());
        assertTrue(r.errorLine().contains("already exists"), r.err());
        // codes with too many codebooks / out of range / wrong tensor
        Path c9 = dir.resolve("c9.safetensors");
        CodesFile.write(c9, new int[9][2], Map.of(), CodesFile.Format.SAFETENSORS);
        r = Cli.run("decode", c9.toString(), "-o", dir.resolve("x.wav").toString(), "--model", Cli.tinyModel());
        assertEquals(1, r.status());
        assertTrue(r.errorLine().contains("9 codebooks"), r.err());
        int[][] big = new int[4][2];
        big[1][1] = 4096;
        Path cbig = dir.resolve("cbig.npy");
        CodesFile.write(cbig, big, Map.of(), CodesFile.Format.NPY);
        r = Cli.run("decode", cbig.toString(), "-o", dir.resolve("x.wav").toString(), "--model", Cli.tinyModel());
        assertEquals(1, r.status());
        assertTrue(r.errorLine().contains("code 4096"), r.err());
        Path wrong = dir.resolve("wrong.safetensors");
        SafeTensors.write(wrong, Map.of("codes", SafeTensors.Entry.i64(new long[2], 1, 1, 2)), Map.of());
        r = Cli.run("decode", wrong.toString(), "-o", dir.resolve("x.wav").toString(), "--model", Cli.tinyModel());
        assertEquals(1, r.status());
        assertTrue(r.errorLine().contains("no tensor audio_codes"), r.err());
        SafeTensors.write(wrong, Map.of("audio_codes", SafeTensors.Entry.f32(new float[2], 1, 1, 2)), Map.of());
        r = Cli.run("decode", wrong.toString(), "-o", dir.resolve("x.wav").toString(), "--model", Cli.tinyModel());
        assertEquals(1, r.status());
        assertTrue(r.errorLine().contains("dtype F32"), r.err());
        assertFalse(Files.exists(dir.resolve("x.wav")));
        // empty file, directory given as a codes file, wrong shape, unwritable output folder
        Path empty = dir.resolve("empty.wav");
        Files.write(empty, new byte[0]);
        r = Cli.run("encode", empty.toString(), "-o", dir.resolve("e.safetensors").toString(), "--model", Cli.tinyModel());
        assertEquals(1, r.status());
        assertTrue(r.errorLine().contains("empty.wav: empty file"), r.err());
        r = Cli.run("decode", dir.toString(), "-o", dir.resolve("x.wav").toString(), "--model", Cli.tinyModel());
        assertEquals(1, r.status());
        assertTrue(r.errorLine().contains("is a directory"), r.err());
        SafeTensors.write(wrong, Map.of("audio_codes", SafeTensors.Entry.i64(new long[8], 2, 2, 2)), Map.of());
        r = Cli.run("decode", wrong.toString(), "-o", dir.resolve("x.wav").toString(), "--model", Cli.tinyModel());
        assertEquals(1, r.status());
        assertTrue(r.errorLine().contains("shape [2, 2, 2]"), r.err());
        Path ro = Files.createDirectories(dir.resolve("readonly"));
        ro.toFile().setWritable(false);
        r = Cli.run("encode", good.toString(), "-o", ro.resolve("o.safetensors").toString(), "--model", Cli.tinyModel());
        ro.toFile().setWritable(true);
        if (!"root".equals(System.getProperty("user.name"))) { // root writes anywhere
            assertEquals(1, r.status());
            assertTrue(r.errorLine().contains("not writable"), r.err());
        }
        r = Cli.run("encode", good.toString(), "-o", dir.resolve("no/such/dir/o.safetensors").toString(), "--model", Cli.tinyModel());
        assertEquals(1, r.status());
        assertTrue(r.errorLine().contains("no such directory"), r.err());
        // usage error
        assertEquals(2, Cli.run("encode").status());
        assertNoTemporaries(dir);
    }

    /** Tensors the config does not account for are dropped with a warning naming them, as transformers warns. */
    @Test
    void unusedTensorsAreReported(@TempDir Path dir) throws Exception {
        Map<String, SafeTensors.Entry> t = new java.util.TreeMap<>();
        try (SafeTensors tiny = SafeTensors.open(Path.of(Cli.tinyModel()))) {
            for (SafeTensors.TensorInfo i : tiny.tensors().values()) {
                t.put(i.name(), new SafeTensors.Entry(i.dtype(), i.shape(), tiny.segment(i.name()).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE)));
            }
        }
        Path in = wav(dir, "odd.wav", audio("odd"), WavWriter.Encoding.FLOAT_32);
        Path folder = Files.createDirectories(dir.resolve("model"));
        Files.copy(Cli.golden().resolve("tiny/config.json"), folder.resolve("config.json"));
        SafeTensors.write(folder.resolve("model.safetensors"), t, Map.of());
        Cli r = Cli.run("encode", in.toString(), "-o", dir.resolve("a.safetensors").toString(), "--model", folder.toString());
        assertEquals(0, r.status(), r.err());
        assertFalse(r.err().contains("warning"), r.err());
        t.put("encoder_transformer.layers.0.self_attn.q_proj.bias", SafeTensors.Entry.f32(new float[32], 32));
        SafeTensors.write(folder.resolve("model.safetensors"), t, Map.of());
        r = Cli.run("encode", in.toString(), "-o", dir.resolve("b.safetensors").toString(), "--model", folder.toString());
        assertEquals(0, r.status(), r.err());
        assertTrue(r.err().strip().startsWith("mimi: warning: ") && r.err().contains("1 tensor of the checkpoint is not used")
                && r.err().contains("encoder_transformer.layers.0.self_attn.q_proj.bias"), r.err());
        assertEquals(1, r.err().strip().split("\n").length, r.err());
    }

    /** A sample rate too far from the model's to convert is one error line naming the file (encode and roundtrip). */
    @Test
    void unconvertibleSampleRate(@TempDir Path dir) throws Exception {
        Path in = dir.resolve("r50.wav");
        WavWriter.write(in, new float[200], 50, WavWriter.Encoding.PCM_16);
        Cli r = Cli.run("encode", in.toString(), "-o", dir.resolve("c.safetensors").toString(), "--model", Cli.tinyModel());
        assertEquals(1, r.status(), r.err());
        assertTrue(r.errorLine().contains("r50.wav: sample rate 50 Hz cannot be converted to 24000 Hz (supported: 94 to"), r.err());
        r = Cli.run("roundtrip", in.toString(), "-o", dir.resolve("y.wav").toString(), "--model", Cli.tinyModel());
        assertEquals(1, r.status(), r.err());
        assertTrue(r.errorLine().contains("r50.wav: sample rate 50 Hz"), r.err());
        assertNoTemporaries(dir);
        assertFalse(Files.exists(dir.resolve("c.safetensors")) || Files.exists(dir.resolve("y.wav")));
    }

    /** A codes file's input_samples that is not a positive count is an error, for every output format. */
    @Test
    void badInputSamples(@TempDir Path dir) throws Exception {
        for (String bad : new String[]{"-5", "0", "abc", "100.7"}) {
            Path codes = dir.resolve("c.safetensors");
            CodesFile.write(codes, new int[8][3], Map.of("input_samples", bad), CodesFile.Format.SAFETENSORS);
            for (String out : new String[]{"y.wav", "y.safetensors"}) {
                Cli r = Cli.run("decode", codes.toString(), "-o", dir.resolve(out).toString(), "--model", Cli.tinyModel());
                assertEquals(1, r.status(), r.err());
                assertTrue(r.errorLine().contains("input_samples must be a positive count of samples, got " + bad), r.err());
                assertFalse(Files.exists(dir.resolve(out)));
            }
        }
    }

    /** Outputs: the extension must name the format written; not the input itself, a device or a symbolic link. */
    @Test
    void outputsThatWouldBeWrong(@TempDir Path dir) throws Exception {
        Path in = wav(dir, "in.wav", audio("odd"), WavWriter.Encoding.PCM_16);
        Path codes = dir.resolve("c.safetensors");
        assertEquals(0, Cli.run("encode", in.toString(), "-o", codes.toString(), "--model", Cli.tinyModel()).status());
        byte[] inBytes = Files.readAllBytes(in);
        // a killed run's temporary of an output is removed when the output is written next
        Path stale = dir.resolve(".c2.safetensors.123abc.part");
        Files.writeString(stale, "left by a SIGKILL");
        assertEquals(0, Cli.run("encode", in.toString(), "-o", dir.resolve("c2.safetensors").toString(), "--model", Cli.tinyModel()).status());
        assertFalse(Files.exists(stale));
        String[][] cases = {
                {"encode", in.toString(), "-o", dir.resolve("out.wav").toString(), "out.wav: codes are written as .safetensors or .npy"},
                {"encode", in.toString(), "-o", dir.resolve("o.safetensors").toString(), "--format", "npy", "o.safetensors: --format npy codes are written as .npy"},
                {"encode", in.toString(), "-o", in.toString(), "--overwrite", "in.wav: is the input file"},
                {"decode", codes.toString(), "-o", dir.resolve("y.flac").toString(), "y.flac: decoded audio files are written as .wav or .safetensors"},
                {"decode", codes.toString(), "-o", codes.toString(), "--overwrite", "c.safetensors: is the input file"},
                {"roundtrip", in.toString(), "-o", in.toString(), "--overwrite", "in.wav: is the input file"},
                {"decode", codes.toString(), "-o", dir.resolve("y.safetensors").toString(), "--float", "--float is for WAV output"},
                {"decode", in.toString(), "-o", dir.resolve("y.wav").toString(), "in.wav: is WAV audio, not a safetensors file"}};
        for (String[] c : cases) {
            String[] args = java.util.Arrays.copyOf(c, c.length + 1);
            args[c.length - 1] = "--model";
            args[c.length] = Cli.tinyModel();
            Cli r = Cli.run(args);
            int want = c[c.length - 1].startsWith("--") ? 2 : 1; // an option that does not fit: a usage error
            assertEquals(want, r.status(), String.join(" ", c) + ": " + r.err());
            assertTrue(r.errorLine().contains(c[c.length - 1]), r.err());
        }
        Path target = dir.resolve("target.wav"), link = dir.resolve("link.wav");
        Files.writeString(target, "not yet");
        Files.createSymbolicLink(link, target);
        Cli r = Cli.run("decode", codes.toString(), "-o", link.toString(), "--overwrite", "--model", Cli.tinyModel());
        assertEquals(1, r.status(), r.err());
        assertTrue(r.errorLine().contains("link.wav: is a symbolic link"), r.err());
        assertTrue(Files.isSymbolicLink(link) && Files.readString(target).equals("not yet"));
        assertArrayEquals(inBytes, Files.readAllBytes(in), "the input is untouched");
        // a special file (a FIFO here, as a device would be): refused, not replaced
        Path fifo = dir.resolve("fifo.wav");
        if (new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor() == 0) {
            r = Cli.run("decode", codes.toString(), "-o", fifo.toString(), "--overwrite", "--model", Cli.tinyModel());
            assertEquals(1, r.status(), r.err());
            assertTrue(r.errorLine().contains("fifo.wav: is not a regular file"), r.err());
            assertFalse(Files.isRegularFile(fifo), "the FIFO is still one");
        }
        assertNoTemporaries(dir);
    }

    /** A NaN sample is reported at its index in the whole file, offline and streaming alike, with the file's name. */
    @Test
    void nonFiniteSampleIndex(@TempDir Path dir) throws Exception {
        float[] x = new float[10000];
        x[5000] = Float.NaN;
        Path in = wav(dir, "nan.wav", x, WavWriter.Encoding.FLOAT_32);
        for (String[] extra : new String[][]{{}, {"--stream", "--chunk-samples", "1920"}}) {
            List<String> args = new java.util.ArrayList<>(List.of("encode", in.toString(), "-o", dir.resolve("c.safetensors").toString(), "--model", Cli.tinyModel()));
            args.addAll(List.of(extra));
            Cli r = Cli.run(args.toArray(String[]::new));
            assertEquals(1, r.status(), r.err());
            assertTrue(r.errorLine().contains("nan.wav: audio has a non-finite sample (NaN) at index 5000"), r.err());
        }
    }

    /** Codes made at another frame or sample rate are refused; made with another model, decoded with a warning. */
    @Test
    void codesOfAnotherModel(@TempDir Path dir) throws Exception {
        Path codes = dir.resolve("c.safetensors");
        Map<String, String> meta = new java.util.HashMap<>(Map.of("sample_rate", "16000", "frame_rate", "12.5"));
        CodesFile.write(codes, new int[8][3], meta, CodesFile.Format.SAFETENSORS);
        Cli r = Cli.run("decode", codes.toString(), "-o", dir.resolve("y.wav").toString(), "--model", Cli.tinyModel());
        assertEquals(1, r.status(), r.err());
        assertTrue(r.errorLine().contains("codes of a model at 16000 Hz, 12.5 frames/s; this model is at 24000 Hz, 12.5 frames/s"), r.err());
        meta = Map.of("sample_rate", "24000", "frame_rate", "12.5", "model", "kyutai/mimi");
        CodesFile.write(codes, new int[8][3], meta, CodesFile.Format.SAFETENSORS);
        r = Cli.run("decode", codes.toString(), "-o", dir.resolve("y.wav").toString(), "--model", Cli.tinyModel());
        assertEquals(0, r.status(), r.err());
        assertTrue(r.err().startsWith("mimi: warning: ") && r.err().contains("was encoded with kyutai/mimi"), r.err());
        // the same file named another way: no warning
        Path relative = Path.of("").toAbsolutePath().relativize(Path.of(Cli.tinyModel()));
        CodesFile.write(codes, new int[8][3], Map.of("model", relative.toString()), CodesFile.Format.SAFETENSORS);
        r = Cli.run("decode", codes.toString(), "-o", dir.resolve("z.wav").toString(), "--model", Cli.tinyModel());
        assertEquals(0, r.status(), r.err());
        assertEquals("", r.err());
    }
}
