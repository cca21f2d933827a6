package org.mimi4j.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mimi4j.audio.WavWriter;
import org.mimi4j.io.CodesFile;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * One hour of audio encodes (and roundtrips) in a JVM whose heap (48 MB) is far below the decoded audio (one hour at
 * 24 kHz is 345 MB of floats): decoding, resampling, encoding, decoding and writing stream in chunks.
 */
class LongInputTest {
    @Test
    void oneHourEncodesWithTheHeapCapped(@TempDir Path dir) throws Exception {
        int rate = 16000, seconds = 3600;
        Path in = dir.resolve("hour.wav");
        try (WavWriter w = WavWriter.create(in, rate, WavWriter.Encoding.PCM_16)) {
            float[] block = new float[rate];
            for (int s = 0; s < seconds; s++) {
                for (int i = 0; i < rate; i++) block[i] = (float) (0.2 * Math.sin(2 * Math.PI * (200 + s % 50 * 10) * i / rate));
                w.write(block);
            }
            w.commit();
        }
        Path out = dir.resolve("hour.safetensors");
        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> cmd = new ArrayList<>(List.of(java, "-Xmx48m", "--add-modules", "jdk.incubator.vector",
                "-cp", System.getProperty("java.class.path"), MimiCli.class.getName(),
                "encode", in.toString(), "-o", out.toString(), "--model", Cli.tinyModel(), "-n", "2"));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(dir.resolve("log.txt").toFile()).start();
        assertTrue(p.waitFor(10, TimeUnit.MINUTES), "timed out");
        assertEquals(0, p.exitValue(), Files.readString(dir.resolve("log.txt")));
        CodesFile.Codes c = CodesFile.read(out);
        assertEquals(seconds * 25 / 2, c.frames());
        assertEquals(Long.toString(seconds * 24000L), c.metadata().get("input_samples"));

        // decoding the hour, interrupted (SIGTERM, as Ctrl-C): no output, no temporary left
        Path wav = dir.resolve("hour.mimi.wav");
        cmd = new ArrayList<>(cmd.subList(0, 7));
        cmd.addAll(List.of("decode", out.toString(), "-o", wav.toString(), "--model", Cli.tinyModel()));
        p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(dir.resolve("log2.txt").toFile()).start();
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(5);
        while (temporaries(dir) == 0 && p.isAlive() && System.nanoTime() < deadline) Thread.sleep(50);
        assertEquals(1, temporaries(dir), "the decode should be writing its temporary file");
        p.destroy();
        assertTrue(p.waitFor(1, TimeUnit.MINUTES));
        assertEquals(0, temporaries(dir), "temporary file left after the interrupt");
        assertTrue(!Files.exists(wav), "no output after the interrupt");

        // the hour's roundtrip streams too: encoded, decoded, written and compared with the input in chunks
        cmd = new ArrayList<>(cmd.subList(0, 7));
        cmd.addAll(List.of("roundtrip", in.toString(), "-o", wav.toString(), "--model", Cli.tinyModel(), "-n", "2"));
        p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(dir.resolve("log3.txt").toFile()).start();
        assertTrue(p.waitFor(10, TimeUnit.MINUTES), "timed out");
        String log = Files.readString(dir.resolve("log3.txt"));
        assertEquals(0, p.exitValue(), log);
        assertTrue(log.contains("3600.00 s of audio, 2 codebooks x 45000 frames, SNR "), log);
        assertEquals(44 + 2L * seconds * 24000, Files.size(wav));
    }

    static long temporaries(Path dir) throws Exception {
        try (var s = Files.list(dir)) {
            return s.filter(f -> f.getFileName().toString().endsWith(".part")).count();
        }
    }
}
