package org.mimi4j.audio;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Format detection and the one-line errors for files that cannot be read. */
class AudioErrorsTest {
    static final String SUPPORTED = "supported: WAV, FLAC, MP3, Ogg Vorbis";

    @TempDir
    Path dir;

    private String error(Path p) {
        AudioFormatException e = assertThrows(AudioFormatException.class, () -> AudioIO.readMono(p));
        assertTrue(!e.getMessage().contains("\n"), e.getMessage());
        return e.getMessage();
    }

    private String error(String name, byte[] bytes) throws IOException {
        return error(Signals.write(dir, name, bytes));
    }

    @Test
    void notAFile() throws IOException {
        assertEquals(dir + ": is a directory, not an audio file", error(dir));
        assertEquals(dir.resolve("nope.wav") + ": no such file", error(dir.resolve("nope.wav")));
        Path empty = Signals.write(dir, "empty.flac", new byte[0]);
        assertEquals(empty + ": empty file", error(empty));
        AudioFormatException e = assertThrows(AudioFormatException.class,
                () -> AudioIO.open(new ByteArrayInputStream(new byte[0]), "upload"));
        assertEquals("upload: empty file", e.getMessage());
    }

    @Test
    void unknownContent() throws IOException {
        byte[] noise = new byte[5000];
        new Random(1).nextBytes(noise);
        Path p = Signals.write(dir, "noise.bin", noise);
        assertEquals(p + ": unrecognized audio format (" + SUPPORTED + ")", error(p));
        Path text = Signals.write(dir, "notes.wav", "hello, this is not audio".getBytes());
        assertEquals(text + ": unrecognized audio format (the content is not WAV; " + SUPPORTED + ")", error(text));
    }

    @Test
    void formatComesFromTheContentNotTheName() throws IOException {
        Path p = Signals.write(dir, "actually-a-wav.mp3", Signals.wav(Signals.fixture(8000, 1, 0.05), 8000, 16, 2, false));
        try (AudioSource s = AudioIO.open(p)) {
            assertEquals("WAV", s.formatName());
        }
        Path flac = CodecFixturesTest.fixture(dir, "stereo16k16.flac");
        Path renamed = Files.move(flac, dir.resolve("song.ogg"));
        try (AudioSource s = AudioIO.open(renamed)) {
            assertEquals("FLAC", s.formatName());
        }
    }

    @Test
    void knownButUnsupportedFormats() throws IOException {
        assertEquals(SUPPORTED, Formats.SUPPORTED);
        byte[] aiff = "FORM\0\0\0\u0010AIFFCOMM".getBytes();
        assertTrue(error("a.aiff", aiff).endsWith(": AIFF is not supported (" + SUPPORTED + ")"));
        byte[] mp4 = "\0\0\0\u0018ftypM4A \0\0\0\0".getBytes();
        assertTrue(error("a.m4a", mp4).endsWith(": MP4/M4A is not supported (" + SUPPORTED + ")"));
        byte[] opus = Arrays.copyOf("OggS".getBytes(), 64);
        opus[26] = 1;
        System.arraycopy("OpusHead".getBytes(), 0, opus, 28, 8);
        assertTrue(error("a.opus", opus).endsWith(": Ogg Opus is not supported (" + SUPPORTED + ")"));
        byte[] rifx = Signals.wav(Signals.fixture(8000, 1, 0.01), 8000, 16, 2, false);
        rifx[3] = 'X';
        assertTrue(error("b.wav", rifx).endsWith(": big-endian WAV (RIFX) is not supported (" + SUPPORTED + ")"));
        byte[] adts = {(byte) 0xFF, (byte) 0xF1, 0x50, (byte) 0x80, 0, 0x1F, (byte) 0xFC, 0, 0, 0};
        assertTrue(error("c.aac", adts).endsWith(": AAC (ADTS) is not supported (" + SUPPORTED + ")"));
    }

    @Test
    void id3TagWithoutAudio() throws IOException {
        byte[] id3 = new byte[30];
        System.arraycopy("ID3\u0004\0\0\0\0\0\u0014".getBytes(), 0, id3, 0, 10);
        Path p = Signals.write(dir, "tag.mp3", id3);
        assertEquals(p + ": contains no audio samples, only an ID3 tag", error(p));
    }

    @Test
    void mp3AfterAnId3TagDecodesTheSame() throws IOException {
        byte[] mp3 = Files.readAllBytes(CodecFixturesTest.fixture(dir, "mono24k.mp3"));
        byte[] tagged = new byte[10 + 300 + mp3.length];
        System.arraycopy("ID3\u0003\0\0\0\0\u0002\u002c".getBytes(), 0, tagged, 0, 10); // 0x12c = 300 bytes
        System.arraycopy(mp3, 0, tagged, 310, mp3.length);
        float[] plain = AudioIO.readMono(dir.resolve("mono24k.mp3")).samples();
        assertEquals(0, Signals.maxAbsDiff(plain, AudioIO.readMono(Signals.write(dir, "t.mp3", tagged)).samples()));
    }

    @Test
    void corruptFlacFrame() throws IOException {
        byte[] flac = Files.readAllBytes(CodecFixturesTest.fixture(dir, "stereo16k16.flac"));
        flac[flac.length / 2] ^= 0x55;
        assertTrue(error("bad.flac", flac).contains(": corrupt FLAC frame ("), error("bad.flac", flac));
    }

    @Test
    void truncatedFlac() throws IOException {
        byte[] flac = Files.readAllBytes(CodecFixturesTest.fixture(dir, "stereo16k16.flac"));
        String message = error("cut.flac", Arrays.copyOf(flac, flac.length / 2));
        assertTrue(message.matches(".*cut.flac: truncated or corrupt: the audio stops after \\d+ of its 4000 samples"), message);
        assertTrue(error("cut2.flac", Arrays.copyOf(flac, 20)).endsWith("cut2.flac: truncated: the file ends inside the FLAC metadata"));
    }

    @Test
    void truncatedAndCorruptOgg() throws IOException {
        byte[] ogg = Files.readAllBytes(CodecFixturesTest.fixture(dir, "mono24k.ogg"));
        assertTrue(error("cut.ogg", Arrays.copyOf(ogg, ogg.length - 500))
                .endsWith("cut.ogg: truncated: the Ogg stream ends without its last page"));
        assertTrue(error("cut2.ogg", Arrays.copyOf(ogg, 100)).endsWith("cut2.ogg: truncated: the file ends inside the Vorbis headers"));
        byte[] bad = ogg.clone();
        bad[bad.length - 300] ^= 0x55;
        assertTrue(error("bad.ogg", bad).endsWith("bad.ogg: corrupt Ogg page (bad checksum or lost sync)"));
    }

    @Test
    void truncatedMp3WithAFrameCount() throws IOException {
        byte[] mp3 = Files.readAllBytes(CodecFixturesTest.fixture(dir, "stereo44k.mp3"));
        String message = error("cut.mp3", Arrays.copyOf(mp3, mp3.length / 2));
        assertTrue(message.matches(".*cut.mp3: truncated or corrupt: the audio stops after \\d+ of its 22050 samples"), message);
    }

    @Test
    void streamIsClosedWhenOpeningFails() throws IOException {
        boolean[] closed = {false};
        InputStream in = new ByteArrayInputStream("garbage".getBytes()) {
            @Override
            public void close() {
                closed[0] = true;
            }
        };
        assertThrows(AudioFormatException.class, () -> AudioIO.open(in, "x"));
        assertTrue(closed[0]);
    }
}
