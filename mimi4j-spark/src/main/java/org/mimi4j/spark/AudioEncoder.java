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
        } catch (AudioFormatException | MimiException e) {
            return Result.failed(path, message(e));
        } catch (FileNotFoundException | NoSuchFileException | AccessDeniedException e) {
            return Result.failed(path, message(e));
        } catch (UncheckedIOException e) {
            throw e.getCause();
        } catch (IOException e) {
            throw e;
        } catch (RuntimeException | StackOverflowError e) {
            // a decoder tripping over damaged data in a way it does not report itself
            return Result.failed(path, path + ": cannot decode (" + message(e) + ")");
        }
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
