package org.mimi4j.spark;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.mimi4j.Mimi;
import org.mimi4j.MimiException;
import org.mimi4j.Padding;
import org.mimi4j.SampleSource;
import org.mimi4j.audio.AudioFormatException;
import org.mimi4j.audio.AudioIO;
import org.mimi4j.audio.AudioSource;

import java.io.ByteArrayInputStream;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.AccessDeniedException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;

/**
 * Encodes one input the way {@code mimi encode} does (EncodeCommand.encodeFile): {@link AudioIO#open}, then
 * {@link AudioIO#resample} to the model's rate, then {@link Mimi#encode(SampleSource, int, Padding)} on the stream,
 * counting the samples the model reads. Local paths are opened with {@code AudioIO.open(Path)} exactly as the CLI
 * opens them; other file systems (hdfs:, s3a:, ...) and binary cells through {@code AudioIO.open(InputStream, name)}.
 */
final class AudioEncoder {
    /** What one input gave: codes [K][T] and counts, or the one-line reason it failed. */
    record Result(String path, int sourceSampleRate, int sampleRate, long samples, int[][] codes, String error) {
        static Result failed(String path, String error) {
            return new Result(path, 0, 0, 0, null, error);
        }
    }

    private final Mimi model;
    private final int numQuantizers;
    private final Padding padding;
    private final Configuration hadoopConf;

    AudioEncoder(Mimi model, int numQuantizers, Padding padding, Configuration hadoopConf) {
        this.model = model;
        this.numQuantizers = numQuantizers;
        this.padding = padding;
        this.hadoopConf = hadoopConf;
    }

    /**
     * Encodes the file at {@code path}, or {@code audio} (the file's bytes) when it is not null. Bad content ends
     * as a result with an error; an I/O failure of the storage itself (not a missing file) is thrown, so that Spark
     * retries the task.
     */
    Result encode(String path, byte[] audio) throws IOException {
        try {
            AudioSource original = audio != null ? AudioIO.open(new ByteArrayInputStream(audio), path) : open(path);
            try (AudioSource source = AudioIO.resample(original, model.sampleRate(), path)) {
                long[] samples = {0};
                SampleSource counted = (buf, off, len) -> {
                    int n = source.read(buf, off, len);
                    if (n > 0) samples[0] += n;
                    return n;
                };
                int[][] codes = model.encode(counted, numQuantizers, padding);
                return new Result(path, original.sampleRate(), model.sampleRate(), samples[0], codes, null);
            }
        } catch (Exception | StackOverflowError e) {
            return failure(path, e);
        }
    }

    /**
     * Bad content (and a missing or unreadable file) as a failed result; an I/O failure of the storage itself is
     * thrown, so that Spark retries the task.
     */
    private static Result failure(String path, Throwable e) throws IOException {
        if (e instanceof AudioFormatException || e instanceof MimiException) return Result.failed(path, message(e));
        if (e instanceof FileNotFoundException || e instanceof NoSuchFileException || e instanceof AccessDeniedException) return Result.failed(path, message(e));
        if (e instanceof UncheckedIOException u) throw u.getCause();
        if (e instanceof IOException io) throw io;
        if (e instanceof RuntimeException || e instanceof StackOverflowError) {
            // a decoder tripping over damaged data in a way it does not report itself
            return Result.failed(path, path + ": cannot decode (" + message(e) + ")");
        }
        throw new IllegalStateException(e);
    }

    /**
     * An input read whole: its samples at the model's rate and its own rate; or {@code failed}, why it cannot be read;
     * or neither (samples null): it is longer than asked, or empty, and is {@link #encode}d, streamed (decoding its
     * first samples a second time).
     */
    record Read(String path, int sourceSampleRate, float[] samples, Result failed) {
    }

    /** The input read whole if it has 1 to {@link Mimi#shortClipSamples} samples at the model's rate: see {@link Read}. */
    Read read(String path, byte[] audio) throws IOException {
        try {
            AudioSource original = audio != null ? AudioIO.open(new ByteArrayInputStream(audio), path) : open(path);
            try (AudioSource source = AudioIO.resample(original, model.sampleRate(), path)) {
                org.mimi4j.audio.Audio whole = AudioIO.readAtMost(source, model.shortClipSamples());
                return new Read(path, original.sampleRate(), whole == null || whole.samples().length == 0 ? null : whole.samples(), null);
            }
        } catch (Exception | StackOverflowError e) {
            return new Read(path, 0, null, failure(path, e));
        }
    }

    /**
     * Results of inputs read whole, in their order, each the result it gets alone: those of about the same length
     * encoded together, up to {@code batch} at a time ({@link Mimi#encodeClips}).
     */
    List<Result> encodeTogether(List<Read> reads, int batch) throws IOException {
        if (reads.isEmpty()) return List.of();
        List<Mimi.ClipCodes> codes = model.encodeClips(reads.stream().map(Read::samples).toList(), numQuantizers, padding, batch);
        List<Result> out = new java.util.ArrayList<>();
        for (int i = 0; i < reads.size(); i++) {
            Read r = reads.get(i);
            Mimi.ClipCodes c = codes.get(i);
            out.add(c.error() != null ? failure(r.path, c.error())
                    : new Result(r.path, r.sourceSampleRate, model.sampleRate(), r.samples.length, c.codes(), null));
        }
        return out;
    }

    private AudioSource open(String path) throws IOException {
        URI uri = toUri(path);
        if (uri == null || uri.getScheme() == null || uri.getScheme().equals("file")) {
            return AudioIO.open(uri == null || uri.getScheme() == null ? Path.of(path) : Path.of(uri));
        }
        org.apache.hadoop.fs.Path p = new org.apache.hadoop.fs.Path(uri);
        FileSystem fs = p.getFileSystem(hadoopConf);
        return AudioIO.open(fs.open(p), path);
    }

    private static URI toUri(String path) {
        if (path.length() > 2 && path.charAt(1) == ':' && Character.isLetter(path.charAt(0))) return null; // C:\...
        if (!path.matches("^[A-Za-z][A-Za-z0-9+.-]*:.*")) return null;
        try {
            return new URI(path);
        } catch (java.net.URISyntaxException e) {
            return null;
        }
    }

    /** One line, as the CLI prints its errors. */
    static String message(Throwable e) {
        if (e instanceof NoSuchFileException n) return n.getFile() + ": no such file or directory";
        if (e instanceof AccessDeniedException a) return a.getFile() + ": permission denied";
        String m = e.getMessage();
        if (m == null || m.isBlank()) m = e.getClass().getSimpleName();
        return m.lines().findFirst().orElse(m);
    }
}
