package org.mimi4j.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mimi4j.audio.WavWriter;
import org.mimi4j.io.CodesFile;
import org.mimi4j.io.Json;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** mimi encode IN_DIR -o OUT_DIR: mirrored tree, manifest, bad files recorded and skipped, --resume. */
class FolderEncodeTest {
    static float[] tone(int n, double hz, int rate) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) (0.3 * Math.sin(2 * Math.PI * hz * i / rate));
        return x;
    }

    @SuppressWarnings("unchecked")
    static Map<String, Map<String, Object>> manifest(Path out) throws Exception {
        Map<String, Map<String, Object>> m = new HashMap<>();
        for (String line : Files.readAllLines(out.resolve("manifest.jsonl"))) {
            Map<String, Object> r = (Map<String, Object>) Json.parse(line);
            m.put((String) r.get("path"), r);
        }
        return m;
    }

    @Test
    @SuppressWarnings("unchecked")
    void folderWithACorruptFileAndResume(@TempDir Path dir) throws Exception {
        Path in = Files.createDirectories(dir.resolve("in/sub/deeper"));
        Path root = dir.resolve("in");
        WavWriter.write(root.resolve("a.wav"), tone(30000, 220, 24000), 24000, WavWriter.Encoding.PCM_16);
        WavWriter.write(in.resolve("b.wav"), tone(44100, 330, 44100), 44100, WavWriter.Encoding.FLOAT_32);
        WavWriter.write(root.resolve("sub/c.wav"), tone(8000, 440, 16000), 16000, WavWriter.Encoding.PCM_16);
        Files.copy(Path.of("../mimi4j-audio/src/test/resources/fixtures/stereo44k.mp3"), root.resolve("sub/d.mp3"));
        Files.write(root.resolve("sub/broken.flac"), "fLaC but not really a flac file at all".getBytes());
        Files.writeString(root.resolve("notes.txt"), "not audio, ignored");
        Files.createDirectories(root.resolve(".cache"));
        WavWriter.write(root.resolve(".cache/hidden.wav"), tone(8000, 440, 16000), 16000, WavWriter.Encoding.PCM_16); // in a hidden folder: skipped
        Path out = dir.resolve("out");

        Cli r = Cli.run("encode", root.toString(), "-o", out.toString(), "--model", Cli.tinyModel(), "-n", "4");
        assertEquals(1, r.status(), "a failed file makes the run fail");
        assertTrue(r.err().contains("broken.flac"), r.err());
        assertTrue(r.err().contains("encoded 4 of 5 files") && r.err().contains("1 failed"), r.err());
        for (String p : List.of("a.safetensors", "sub/deeper/b.safetensors", "sub/c.safetensors", "sub/d.safetensors")) {
            assertTrue(Files.exists(out.resolve(p)), p);
        }
        assertFalse(Files.exists(out.resolve("sub/broken.safetensors")));
        Map<String, Map<String, Object>> m = manifest(out);
        assertEquals(5, m.size());
        assertEquals("error", m.get("sub/broken.flac").get("status"));
        assertTrue(((String) m.get("sub/broken.flac").get("error")).contains("broken.flac"));
        assertEquals("ok", m.get("a.wav").get("status"));
        assertEquals(16L, m.get("a.wav").get("frames"));
        // a folder encode gives the codes a single-file encode gives
        Path single = dir.resolve("b.safetensors");
        assertEquals(0, Cli.run("encode", in.resolve("b.wav").toString(), "-o", single.toString(), "--model", Cli.tinyModel(), "-n", "4").status());
        assertArrayEquals(CodesFile.read(single).codes(), CodesFile.read(out.resolve("sub/deeper/b.safetensors")).codes());

        // an interrupted run: one output missing; --resume encodes only it and skips the others
        Files.delete(out.resolve("sub/c.safetensors"));
        long before = Files.getLastModifiedTime(out.resolve("a.safetensors")).toMillis();
        Files.delete(root.resolve("sub/broken.flac"));
        r = Cli.run("encode", root.toString(), "-o", out.toString(), "--model", Cli.tinyModel(), "-n", "4", "--resume");
        assertEquals(0, r.status(), r.err());
        assertTrue(r.err().contains("encoded 1 of 4 files") && r.err().contains("3 skipped"), r.err());
        Map<String, Object> skippedA = null;
        for (String line : Files.readAllLines(out.resolve("manifest.jsonl"))) {
            Map<String, Object> rec = (Map<String, Object>) Json.parse(line);
            if (rec.get("path").equals("a.wav") && rec.get("status").equals("skipped")) skippedA = rec;
        }
        assertEquals(1.25, skippedA.get("duration"), "a skipped file's duration, from its codes' input_samples"); // 30000 samples at 24 kHz
        assertTrue(Files.exists(out.resolve("sub/c.safetensors")));
        assertEquals(before, Files.getLastModifiedTime(out.resolve("a.safetensors")).toMillis());
        // --resume with other settings than the outputs were made with: each existing output is an error, kept
        r = Cli.run("encode", root.toString(), "-o", out.toString(), "--model", Cli.tinyModel(), "-n", "8", "--resume");
        assertEquals(1, r.status(), r.err());
        assertTrue(r.err().contains("a.safetensors: exists with 4 codebooks and padding moshi, this run asks 8 and moshi"), r.err());
        r = Cli.run("encode", root.toString(), "-o", out.toString(), "--model", Cli.tinyModel(), "-n", "4", "--padding", "transformers", "--resume");
        assertTrue(r.status() == 1 && r.err().contains("this run asks 4 and transformers") && r.err().contains("4 failed"), r.err());
        assertEquals(before, Files.getLastModifiedTime(out.resolve("a.safetensors")).toMillis());

        // without --resume or --overwrite an earlier run's folder is refused up front, its manifest kept
        List<String> manifestBefore = Files.readAllLines(out.resolve("manifest.jsonl"));
        r = Cli.run("encode", root.toString(), "-o", out.toString(), "--model", Cli.tinyModel(), "-n", "4");
        assertEquals(1, r.status());
        assertTrue(r.errorLine().contains("manifest.jsonl: an earlier run's output is here (use --resume"), r.err());
        assertEquals(manifestBefore, Files.readAllLines(out.resolve("manifest.jsonl")));
        // outputs there without a manifest (it was removed): each is an error, recorded, and the run goes on
        Files.delete(out.resolve("manifest.jsonl"));
        r = Cli.run("encode", root.toString(), "-o", out.toString(), "--model", Cli.tinyModel(), "-n", "4");
        assertEquals(1, r.status());
        assertTrue(r.err().contains("already exists"), r.err());
        assertTrue(r.err().contains("4 failed"), r.err());
        // options that do not fit
        assertTrue(Cli.run("encode", root.toString(), "-o", out.toString(), "--model", Cli.tinyModel(), "-j", "0").errorLine().contains("--jobs must be at least 1, got 0"));
        assertTrue(Cli.run("encode", root.toString(), "-o", out.toString(), "--model", Cli.tinyModel(), "--resume", "--overwrite").errorLine().contains("give one"));
        assertTrue(Cli.run("encode", root.resolve("a.wav").toString(), "-o", dir.resolve("x.safetensors").toString(), "--model", Cli.tinyModel(), "--resume")
                .errorLine().contains("--resume is for folders"));
    }

    /**
     * Short files of about the same size are encoded together (--batch): each gets the codes it gets alone (--batch 1),
     * and a file whose audio the model refuses (a NaN sample, found when the batch is computed) or that cannot be read
     * fails alone, named, while the others of its batch are written.
     */
    @Test
    @SuppressWarnings("unchecked")
    void batchedFilesGetTheirOwnCodesAndTheirOwnErrors(@TempDir Path dir) throws Exception {
        Path root = Files.createDirectories(dir.resolve("in"));
        for (int k = 0; k < 5; k++) { // 2 s of FLOAT_32 each (25 frames): 192 KB, one batch
            float[] x = tone(48000 - 331 * k, 180 + 57 * k, 24000);
            for (int i = 0; i < x.length; i += 7) x[i] += 0.05f * (float) Math.sin(i * (0.3 + k));
            WavWriter.write(root.resolve("t" + k + ".wav"), x, 24000, WavWriter.Encoding.FLOAT_32);
        }
        Path sub = Files.createDirectories(root.resolve("sub"));
        for (int k = 0; k < 4; k++) { // ~1 s of PCM_16 each (13 frames): 48 KB, a batch of its own without a bad file
            float[] x = tone(24000 - 200 * k, 410 + 33 * k, 24000);
            WavWriter.write(sub.resolve("s" + k + ".wav"), x, 24000, WavWriter.Encoding.PCM_16);
        }
        float[] nan = tone(47900, 300, 24000); // in the batch of the t files
        nan[12345] = Float.NaN;
        WavWriter.write(root.resolve("t5nan.wav"), nan, 24000, WavWriter.Encoding.FLOAT_32);
        byte[] junk = new byte[191000];
        new java.util.Random(3).nextBytes(junk);
        Files.write(root.resolve("t6junk.wav"), junk);

        Path batched = dir.resolve("batched"), alone = dir.resolve("alone");
        Cli r = Cli.run("encode", root.toString(), "-o", batched.toString(), "--model", Cli.tinyModel(), "-n", "4");
        assertEquals(1, r.status(), r.err());
        assertTrue(r.err().contains("encoded 9 of 11 files") && r.err().contains("2 failed"), r.err());
        Cli one = Cli.run("encode", root.toString(), "-o", alone.toString(), "--model", Cli.tinyModel(), "-n", "4", "--batch", "1");
        assertEquals(1, one.status(), one.err());
        Map<String, Map<String, Object>> m = manifest(batched), m1 = manifest(alone);
        assertEquals(m1.keySet(), m.keySet());
        for (String f : List.of("t0", "t1", "t2", "t3", "t4", "sub/s0", "sub/s1", "sub/s2", "sub/s3")) {
            String name = f + ".safetensors";
            CodesFile.Codes got = CodesFile.read(batched.resolve(name)), want = CodesFile.read(alone.resolve(name));
            assertArrayEquals(want.codes(), got.codes(), name);
            assertEquals(want.metadata().get("input_samples"), got.metadata().get("input_samples"), name);
            assertEquals(m1.get(f + ".wav"), m.get(f + ".wav"));
        }
        for (String bad : List.of("t5nan.wav", "t6junk.wav")) {
            assertEquals("error", m.get(bad).get("status"), bad);
            assertEquals(m1.get(bad).get("error"), m.get(bad).get("error"), bad);
            assertTrue(((String) m.get(bad).get("error")).contains(bad), m.get(bad).toString());
            assertFalse(Files.exists(batched.resolve(bad.replace(".wav", ".safetensors"))), bad);
        }
        assertTrue(((String) m.get("t5nan.wav").get("error")).contains("non-finite"), m.get("t5nan.wav").toString());
        assertTrue(Cli.run("encode", root.toString(), "-o", dir.resolve("x").toString(), "--model", Cli.tinyModel(), "--batch", "0")
                .errorLine().contains("--batch must be at least 1, got 0"));
    }

    /** A folder without audio files is an error, found before the model is loaded; no output folder or manifest is made. */
    @Test
    void folderWithoutAudio(@TempDir Path dir) throws Exception {
        Path in = Files.createDirectories(dir.resolve("in/sub"));
        Files.writeString(in.resolve("notes.txt"), "no audio here");
        Cli r = Cli.run("encode", dir.resolve("in").toString(), "-o", dir.resolve("out").toString(), "--model", Cli.tinyModel());
        assertEquals(1, r.status(), r.err());
        assertTrue(r.errorLine().contains("no audio files in the folder"), r.err());
        assertFalse(Files.exists(dir.resolve("out")));
        // found before the model is loaded (or fetched): a model that does not exist is not what the error says
        r = Cli.run("encode", dir.resolve("in").toString(), "-o", dir.resolve("out").toString(), "--model", dir.resolve("no-model").toString());
        assertTrue(r.errorLine().contains("no audio files in the folder"), r.err());
    }
}
