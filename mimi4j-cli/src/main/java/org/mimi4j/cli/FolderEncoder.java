package org.mimi4j.cli;

import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import org.mimi4j.Mimi;
import org.mimi4j.Padding;
import org.mimi4j.io.CodesFile;
import org.mimi4j.io.Json;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

/**
 * Encodes every audio file below a folder into the mirrored tree under the output folder, with parallel workers
 * sharing one model, a progress bar on a terminal (plain log lines otherwise) and a JSONL manifest. A bad file is
 * recorded and skipped; the exit status is 1 if any file failed.
 */
final class FolderEncoder {
    static final List<String> EXTENSIONS = List.of("wav", "wave", "flac", "mp3", "ogg", "oga");

    private final Mimi model;
    private final Path in, out;
    private final int nq, jobs, streamChunk;
    private final Padding padding;
    private final CodesFile.Format format;
    private final boolean overwrite, resume;
    private final PrintWriter log;
    private BufferedWriter manifest;
    private final AtomicInteger ok = new AtomicInteger(), failed = new AtomicInteger(), skipped = new AtomicInteger();
    private double audioSeconds;

    FolderEncoder(Mimi model, Path in, Path out, int nq, Padding padding, CodesFile.Format format, boolean overwrite, boolean resume, int jobs, PrintWriter log,
                  int streamChunk) {
        this.log = log;
        this.streamChunk = streamChunk;
        this.model = model;
        this.in = in;
        this.out = out;
        this.nq = nq;
        this.padding = padding;
        this.format = format;
        this.overwrite = overwrite;
        this.resume = resume;
        this.jobs = jobs;
    }

    static boolean isAudio(Path p) {
        String n = p.getFileName().toString();
        int dot = n.lastIndexOf('.');
        return !n.startsWith(".") && dot > 0 && EXTENSIONS.contains(n.substring(dot + 1).toLowerCase(Locale.ROOT));
    }

    /** Whether a folder between {@code root} and the file is hidden (".git", ".cache"): skipped, as hidden files are. */
    static boolean inHiddenFolder(Path root, Path file) {
        Path rel = root.relativize(file).getParent();
        if (rel == null) return false;
        for (Path part : rel) if (part.toString().startsWith(".")) return true;
        return false;
    }

    /** out/rel/stem.safetensors for in/rel/stem.ext. */
    Path outputFor(Path file) {
        Path rel = in.relativize(file);
        String n = rel.getFileName().toString();
        String stem = n.substring(0, n.lastIndexOf('.'));
        Path parent = rel.getParent();
        String name = stem + (format == CodesFile.Format.NPY ? ".npy" : ".safetensors");
        return parent == null ? out.resolve(name) : out.resolve(parent).resolve(name);
    }

    /** The audio files below a folder, sorted; none is an error (checked before a model is loaded or fetched). */
    static List<Path> audioFiles(Path folder) throws IOException {
        List<Path> files;
        try (Stream<Path> s = Files.walk(folder)) {
            files = s.filter(Files::isRegularFile).filter(FolderEncoder::isAudio).filter(p -> !inHiddenFolder(folder, p)).sorted().toList();
        }
        if (files.isEmpty()) throw new MimiCli.UserException(folder + ": no audio files in the folder (." + String.join(", .", EXTENSIONS) + ")");
        return files;
    }

    /** Encodes {@code files}, the folder's {@link #audioFiles} (found before the model was loaded). */
    int run(List<Path> files) throws Exception {
        Files.createDirectories(out);
        manifest = Files.newBufferedWriter(out.resolve("manifest.jsonl"), StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                resume ? StandardOpenOption.APPEND : StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE);
        long start = System.nanoTime();
        Map<Path, Path> claimed = new HashMap<>();
        boolean terminal = System.console() != null;
        try (ProgressBar bar = terminal ? new ProgressBarBuilder().setTaskName("encode").setInitialMax(files.size())
                .setStyle(ProgressBarStyle.ASCII).setUnit(" files", 1).showSpeed().build() : null;
             ExecutorService pool = Executors.newFixedThreadPool(jobs)) {
            List<Future<?>> tasks = new ArrayList<>();
            for (Path f : files) {
                Path o = outputFor(f);
                Path other = claimed.putIfAbsent(o, f);
                tasks.add(pool.submit(() -> {
                    encodeOne(f, o, other);
                    int done = ok.get() + failed.get() + skipped.get();
                    double wall = (System.nanoTime() - start) / 1e9;
                    String status = String.format(Locale.ROOT, "%.2f h audio, %.1fx real time", audioHours(), audioSeconds() / Math.max(wall, 1e-9));
                    if (bar != null) {
                        bar.step();
                        bar.setExtraMessage(" " + status);
                    } else {
                        log.printf(Locale.ROOT, "[%d/%d] %s (%s)%n", done, files.size(), in.relativize(f), status);
                    }
                    return null;
                }));
            }
            for (Future<?> t : tasks) t.get();
        } finally {
            manifest.close();
        }
        Duration d = Duration.ofNanos(System.nanoTime() - start);
        log.printf(Locale.ROOT, "encoded %d of %d files (%.2f h of audio) in %s; %d failed, %d skipped; manifest: %s%n",
                ok.get(), files.size(), audioHours(), d.truncatedTo(java.time.temporal.ChronoUnit.SECONDS).toString().substring(2).toLowerCase(),
                failed.get(), skipped.get(), out.resolve("manifest.jsonl"));
        return failed.get() > 0 ? 1 : 0;
    }

    private synchronized double audioSeconds() {
        return audioSeconds;
    }

    private double audioHours() {
        return audioSeconds() / 3600;
    }

    private void encodeOne(Path f, Path o, Path clash) {
        Map<String, Object> rec = new LinkedHashMap<>();
        rec.put("path", in.relativize(f).toString());
        rec.put("codes", out.relativize(o).toString());
        try {
            if (clash != null) throw new MimiCli.UserException("output " + o + " is also the output of " + clash);
            if (Files.exists(o) && resume) {
                CodesFile.Codes c = CodesFile.read(o); // complete: written atomically
                // made with this run's settings? (a .npy records no padding: only its codebooks are compared)
                String pad = padding.name().toLowerCase(Locale.ROOT), had = c.metadata().getOrDefault("padding", pad);
                if (c.codes().length != nq || !had.equals(pad)) {
                    throw new MimiCli.UserException(o + ": exists with " + c.codes().length + " codebooks and padding " + had + ", this run asks "
                            + nq + " and " + pad + " (use --overwrite to redo it)");
                }
                String samples = c.metadata().get("input_samples");
                if (samples != null && samples.matches("\\d{1,18}")) rec.put("duration", Math.round(Long.parseLong(samples) * 1000.0 / model.sampleRate()) / 1000.0);
                rec.put("frames", c.frames());
                rec.put("status", "skipped");
                skipped.incrementAndGet();
                record(rec);
                return;
            }
            if (Files.exists(o) && !overwrite) throw new MimiCli.UserException(o + ": already exists (use --overwrite or --resume)");
            Files.createDirectories(o.getParent());
            double seconds = EncodeCommand.encodeFile(model, f, o, nq, padding, format, streamChunk);
            synchronized (this) {
                audioSeconds += seconds;
            }
            rec.put("duration", Math.round(seconds * 1000) / 1000.0);
            rec.put("frames", (long) Math.ceil(seconds * model.sampleRate() / model.frameSize() - 1e-9));
            rec.put("status", "ok");
            ok.incrementAndGet();
        } catch (Exception e) {
            if (!MimiCli.isUserError(e)) e.printStackTrace(log);
            rec.put("status", "error");
            rec.put("error", MimiCli.message(e));
            failed.incrementAndGet();
            String m = MimiCli.message(e);
            log.println("mimi: error: " + (m.contains(f.toString()) ? m : f + ": " + m));
        }
        record(rec);
    }

    private synchronized void record(Map<String, Object> rec) {
        try {
            manifest.write(Json.write(rec));
            manifest.newLine();
            manifest.flush();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
