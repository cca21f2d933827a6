package org.mimi4j.audio;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WavWriterTest {
    @TempDir
    Path dir;

    private List<String> files() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void pcm16IsClippedAndRounded() throws IOException {
        float[] x = {0f, 0.1f, -0.1f, 0.5f, 1f, 1.5f, -1f, -1.5f, Float.NaN, 1f / 65536, -1f / 65536 + 1e-9f};
        Path p = dir.resolve("a.wav");
        WavWriter.write(p, x, 24000, WavWriter.Encoding.PCM_16);
        float[] want = {0f, 3277 / 32768f, -3277 / 32768f, 0.5f, 32767 / 32768f, 32767 / 32768f, -1f, -1f, 0f,
                1 / 32768f, 0f};
        Audio a = AudioIO.readMono(p);
        assertEquals(24000, a.sampleRate());
        assertArrayEquals(want, a.samples());
        assertEquals(44 + 2 * x.length, Files.size(p));
    }

    @Test
    void float32IsExactAndStreamed() throws IOException {
        float[] x = Signals.sine(44100, 997, 0.7, 100_000);
        Path p = dir.resolve("b.wav");
        try (WavWriter w = WavWriter.create(p, 44100, WavWriter.Encoding.FLOAT_32)) {
            for (int off = 0; off < x.length; off += 7777) w.write(x, off, Math.min(7777, x.length - off));
            assertEquals(x.length, w.samplesWritten());
            assertFalse(Files.exists(p), "visible before commit");
            w.commit();
        }
        try (AudioSource s = AudioIO.open(p)) {
            assertEquals(x.length, s.durationSamples());
            assertArrayEquals(x, AudioIO.readAll(s).samples());
        }
        ByteBuffer h = ByteBuffer.wrap(Files.readAllBytes(p)).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(Files.size(p) - 8, h.getInt(4));
        assertEquals(3, h.getShort(20)); // WAVE_FORMAT_IEEE_FLOAT
        assertEquals(x.length, h.getInt(46)); // fact chunk
        assertEquals(4 * x.length, h.getInt(54)); // data chunk
    }

    @Test
    void anExceptionMidWriteLeavesNothing() throws IOException {
        Path p = dir.resolve("c.wav");
        assertThrows(IllegalStateException.class, () -> {
            try (WavWriter w = WavWriter.create(p, 24000, WavWriter.Encoding.PCM_16)) {
                w.write(new float[200_000]);
                assertEquals(1, files().size());
                assertTrue(files().get(0).startsWith(".c.wav.") && files().get(0).endsWith(".part"), files().toString());
                throw new IllegalStateException("the model failed");
            }
        });
        assertEquals(List.of(), files());
    }

    @Test
    void aFailedRewriteKeepsTheOldFile() throws IOException {
        Path p = dir.resolve("d.wav");
        WavWriter.write(p, new float[] {0.25f}, 16000, WavWriter.Encoding.PCM_16);
        byte[] before = Files.readAllBytes(p);
        try (WavWriter w = WavWriter.create(p, 16000, WavWriter.Encoding.PCM_16)) {
            w.write(new float[1000]);
        } // no commit: discarded
        assertArrayEquals(before, Files.readAllBytes(p));
        WavWriter.write(p, new float[] {0.5f, 0.5f}, 16000, WavWriter.Encoding.PCM_16);
        assertEquals(2, AudioIO.readMono(p).samples().length);
        assertEquals(List.of("d.wav"), files());
    }

    @Test
    void misuse() throws IOException {
        Path p = dir.resolve("e.wav");
        WavWriter w = WavWriter.create(p, 8000, WavWriter.Encoding.PCM_16);
        w.write(new float[10]);
        w.commit();
        w.close();
        assertThrows(IllegalStateException.class, () -> w.write(new float[1]));
        assertThrows(IllegalStateException.class, w::commit);
        assertThrows(IOException.class, () -> WavWriter.create(dir.resolve("no/such/dir.wav"), 8000, WavWriter.Encoding.PCM_16));
        assertThrows(IOException.class, () -> WavWriter.create(dir, 8000, WavWriter.Encoding.PCM_16));
        assertThrows(IllegalArgumentException.class, () -> WavWriter.create(p, 0, WavWriter.Encoding.PCM_16));
        assertEquals(List.of("e.wav"), files());
    }
}
