package org.mimi4j.spark;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Generated audio for the Spark tests and the benchmark: WAV files in several encodings (16/24-bit PCM, 32-bit
 * float), rates (8 to 48 kHz) and channel counts, copies of mimi4j-audio's FLAC/MP3/Ogg fixtures, and two corrupt
 * files. Deterministic for a seed.
 */
final class GeneratedCorpus {
    record Corpus(Path root, List<Path> good, List<Path> corrupt) {
        List<Path> all() {
            List<Path> a = new ArrayList<>(good);
            a.addAll(corrupt);
            return a;
        }
    }

    private static final int[] RATES = {16000, 24000, 44100, 48000, 8000, 22050};
    private static final String[] KINDS = {"pcm16", "pcm24", "float32"};

    /**
     * Writes {@code wavs} WAV files of {@code minSeconds..maxSeconds} into folders under {@code root}, the codec fixtures
     * (if {@code fixtures}) and the corrupt files (if {@code corrupt}).
     */
    static Corpus generate(Path root, int wavs, double minSeconds, double maxSeconds, boolean fixtures, boolean corrupt, long seed) throws IOException {
        Random rnd = new Random(seed);
        List<Path> good = new ArrayList<>(), bad = new ArrayList<>();
        for (int i = 0; i < wavs; i++) {
            int rate = RATES[i % RATES.length];
            String kind = KINDS[(i / RATES.length) % KINDS.length];
            int channels = i % 4 == 3 ? 2 : 1;
            double seconds = minSeconds + (maxSeconds - minSeconds) * rnd.nextDouble();
            int n = (int) Math.round(seconds * rate);
            Path dir = root.resolve("wav").resolve("speaker" + (i % 5));
            Files.createDirectories(dir);
            Path f = dir.resolve(String.format("utt%03d_%dhz_%s_%dch.wav", i, rate, kind, channels));
            Files.write(f, wav(signal(rnd, n, rate, channels), rate, channels, kind));
            good.add(f);
        }
        if (fixtures) {
            Path fx = fixtures();
            Path dir = root.resolve("codecs");
            Files.createDirectories(dir);
            for (String name : List.of("mono24k.mp3", "mono24k.ogg", "mono48k24.flac", "stereo16k16.flac", "stereo44k.mp3", "stereo44k.ogg")) {
                Path f = dir.resolve(name.replace('.', '_') + name.substring(name.lastIndexOf('.'))); // unique stems: x.mp3 and x.ogg would share x.safetensors in the CLI's output
                Files.copy(fx.resolve(name), f);
                good.add(f);
            }
        }
        if (corrupt) {
            Path dir = root.resolve("broken");
            Files.createDirectories(dir);
            Path garbage = dir.resolve("garbage.wav");   // not audio at all
            byte[] junk = new byte[3000];
            rnd.nextBytes(junk);
            System.arraycopy("this is not a WAV file".getBytes(), 0, junk, 0, 22);
            Files.write(garbage, junk);
            bad.add(garbage);
            Path cut = dir.resolve("truncated.flac");     // a FLAC file cut in its middle
            byte[] flac = Files.readAllBytes(fixtures().resolve("stereo16k16.flac"));
            Files.write(cut, java.util.Arrays.copyOf(flac, flac.length / 2));
            bad.add(cut);
        }
        return new Corpus(root, good, bad);
    }

    static Path fixtures() {
        for (String s : new String[]{"../mimi4j-audio/src/test/resources/fixtures", "mimi4j-audio/src/test/resources/fixtures"}) {
            Path p = Path.of(s);
            if (Files.isDirectory(p)) return p.toAbsolutePath().normalize();
        }
        throw new IllegalStateException("mimi4j-audio's test fixtures not found from " + Path.of("").toAbsolutePath());
    }

    /** Speech-like: a few harmonics of a gliding pitch under a syllable-rate envelope, plus a little noise. */
    private static float[][] signal(Random rnd, int n, int rate, int channels) {
        float[][] x = new float[channels][n];
        double f0 = 90 + 150 * rnd.nextDouble(), glide = (rnd.nextDouble() - 0.5) * 60, syll = 3 + 3 * rnd.nextDouble();
        double phase = 0;
        for (int i = 0; i < n; i++) {
            double t = i / (double) rate;
            double f = f0 + glide * Math.sin(2 * Math.PI * 0.7 * t);
            phase += 2 * Math.PI * f / rate;
            double env = 0.5 * (1 - Math.cos(2 * Math.PI * syll * t));
            double v = 0;
            for (int h = 1; h <= 6; h++) v += Math.sin(h * phase) / h;
            v = 0.25 * env * v + 0.01 * rnd.nextGaussian();
            for (int c = 0; c < channels; c++) x[c][i] = (float) (c == 0 ? v : 0.8 * v + 0.01 * rnd.nextGaussian());
        }
        return x;
    }

    static byte[] wav(float[][] x, int rate, int channels, String kind) {
        int n = x[0].length;
        int bytesPer = switch (kind) {
            case "pcm16" -> 2;
            case "pcm24" -> 3;
            default -> 4;
        };
        int data = n * channels * bytesPer;
        ByteBuffer b = ByteBuffer.allocate(44 + data).order(ByteOrder.LITTLE_ENDIAN);
        b.put("RIFF".getBytes()).putInt(36 + data).put("WAVE".getBytes());
        b.put("fmt ".getBytes()).putInt(16).putShort((short) (kind.equals("float32") ? 3 : 1)).putShort((short) channels)
                .putInt(rate).putInt(rate * channels * bytesPer).putShort((short) (channels * bytesPer)).putShort((short) (8 * bytesPer));
        b.put("data".getBytes()).putInt(data);
        for (int i = 0; i < n; i++) {
            for (int c = 0; c < channels; c++) {
                float v = Math.max(-1f, Math.min(1f, x[c][i]));
                switch (kind) {
                    case "pcm16" -> b.putShort((short) Math.round(v * 32767));
                    case "pcm24" -> {
                        int s = Math.round(v * 8388607);
                        b.put((byte) s).put((byte) (s >> 8)).put((byte) (s >> 16));
                    }
                    default -> b.putFloat(v);
                }
            }
        }
        return b.array();
    }
}
