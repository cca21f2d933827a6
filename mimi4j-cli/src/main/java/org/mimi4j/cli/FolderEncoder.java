package org.mimi4j.cli;

import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import org.mimi4j.InvalidInputException;
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
    private final int nq, jobs, streamChunk, batch;
    private final Padding padding;
    private final CodesFile.Format format;
    private final boolean overwrite, resume;
    private final PrintWriter log;
    private BufferedWriter manifest;
    private final AtomicInteger ok = new AtomicInteger(), failed = new AtomicInteger(), skipped = new AtomicInteger();
    private double audioSeconds;
    private ProgressBar bar;
    private long start;
    private int total;

    FolderEncoder(Mimi model, Path in, Path out, int nq, Padding padding, CodesFile.Format format, boolean overwrite, boolean resume, int jobs, PrintWriter log,
                  int streamChunk, int batch) {
        this.batch = batch;
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
        start = System.nanoTime();
        total = files.size();
        Map<Path, Path> claimed = new HashMap<>();
        boolean terminal = System.console() != null;
        try (ProgressBar bar = terminal ? new ProgressBarBuilder().setTaskName("encode").setInitialMax(files.size())
                .setStyle(ProgressBarStyle.ASCII).setUnit(" files", 1).showSpeed().build() : null;
             ExecutorService pool = Executors.newFixedThreadPool(jobs)) {
            this.bar = bar;
            List<Future<?>> tasks = new ArrayList<>();
            List<Job> batchable = new ArrayList<>();
            for (Path f : files) {
                Path o = outputFor(f);
                Job j = new Job(f, o, claimed.putIfAbsent(o, f));
                if (batch > 1 && padding == Padding.MOSHI && streamChunk == 0) batchable.add(j);
                else tasks.add(pool.submit(() -> encodeGroup(List.of(j))));
            }
            for (List<Job> g : groups(batchable)) tasks.add(pool.submit(() -> encodeGroup(g)));
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

    /** A file to encode, its output, and the file that claimed that output first (null: none). */
    private record Job(Path in, Path out, Path clash) {
    }

    /** A file read whole for a batch: its samples at the model's rate and its own sample rate. */
    private record Read(Job job, Map<String, Object> rec, float[] samples, int sourceRate) {
    }

    /**
     * The batchable files in groups of up to 4 x {@code batch}, by size on disk, so that a group's files have about
     * the same length: a group ends where a file is more than 10% (and 16 KB) larger than its first. A group's files
     * of the same number of frames are then encoded together, up to {@code batch} at a time ({@link Mimi#encodeClips}).
     */
    private List<List<Job>> groups(List<Job> jobs) {
        Map<Path, Long> size = new HashMap<>();
        for (Job j : jobs) {
            try {
                size.put(j.in, Files.size(j.in));
            } catch (IOException e) {
                size.put(j.in, 0L); // its error comes when it is opened
            }
        }
        List<Job> sorted = new ArrayList<>(jobs);
        sorted.sort(java.util.Comparator.comparingLong((Job j) -> size.get(j.in)).thenComparing(j -> j.in));
        List<List<Job>> groups = new ArrayList<>();
        List<Job> g = new ArrayList<>();
        for (Job j : sorted) {
            if (!g.isEmpty() && (g.size() == 4 * batch || size.get(j.in) > size.get(g.get(0).in) * 1.1 + 16384)) {
                groups.add(g);
                g = new ArrayList<>();
            }
            g.add(j);
        }
        if (!g.isEmpty()) groups.add(g);
        return groups;
    }

    /**
     * Encodes a group of files: each one alone, streamed, if it is alone or longer than {@link Mimi#shortClipSamples};
     * the others read into memory and encoded together ({@link Mimi#encodeClips}: each gets the codes it gets alone,
     * and a file the model refuses fails alone, its error naming it).
     */
    private Void encodeGroup(List<Job> group) {
        List<Read> reads = new ArrayList<>();
        for (Job j : group) {
            Map<String, Object> rec = newRecord(j);
            try {
                if (prepare(j, rec)) { // else skipped (--resume)
                    Read r = group.size() == 1 ? null : readShort(j, rec);
                    if (r != null) {
                        reads.add(r);
                        continue;
                    }
                    encoded(rec, EncodeCommand.encodeFile(model, j.in, j.out, nq, padding, format, streamChunk)); // alone, streamed
                }
            } catch (Exception e) {
                failed(rec, j.in, e);
            }
            finish(j.in, rec);
        }
        if (reads.isEmpty()) return null;
        List<Mimi.ClipCodes> codes = model.encodeClips(reads.stream().map(Read::samples).toList(), nq, padding, batch);
        for (int i = 0; i < reads.size(); i++) {
            Read r = reads.get(i);
            Mimi.ClipCodes c = codes.get(i);
            try {
                if (c.error() != null) throw new InvalidInputException(r.job.in + ": " + c.error().getMessage());
                Map<String, String> meta = EncodeCommand.metadata(model, nq, r.samples.length, r.job.in, r.sourceRate, padding);
                Outputs.writing(r.job.out, () -> CodesFile.write(r.job.out, c.codes(), meta, format));
                encoded(r.rec, r.samples.length / (double) model.sampleRate());
            } catch (Exception e) {
                failed(r.rec, r.job.in, e);
            }
            finish(r.job.in, r.rec);
        }
        return null;
    }

    /**
     * The file's samples if it has at most {@link Mimi#shortClipSamples} (and at least one), else null (it is then encoded
     * alone, streamed, decoding its first samples a second time).
     */
    private Read readShort(Job j, Map<String, Object> rec) throws IOException {
        if (nq > model.totalCodebooks()) return null; // the error, from the file's own encode
        try (AudioInput a = new AudioInput(j.in, model.sampleRate())) {
            org.mimi4j.audio.Audio whole = org.mimi4j.audio.AudioIO.readAtMost(a.source, model.shortClipSamples());
            return whole == null || whole.samples().length == 0 ? null : new Read(j, rec, whole.samples(), a.sourceRate());
        }
    }

    private Map<String, Object> newRecord(Job j) {
        Map<String, Object> rec = new LinkedHashMap<>();
        rec.put("path", in.relativize(j.in).toString());
        rec.put("codes", out.relativize(j.out).toString());
        return rec;
    }

    /**
     * The checks before a file is encoded: its output's clash, --resume (a complete output made with this run's
     * settings is recorded as skipped: false), an existing output without --overwrite; then its folder is made.
     */
    private boolean prepare(Job j, Map<String, Object> rec) throws IOException {
        Path o = j.out;
        if (j.clash != null) throw new MimiCli.UserException("output " + o + " is also the output of " + j.clash);
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
            return false;
        }
        if (Files.exists(o) && !overwrite) throw new MimiCli.UserException(o + ": already exists (use --overwrite or --resume)");
        Files.createDirectories(o.getParent());
        return true;
    }

    private void encoded(Map<String, Object> rec, double seconds) {
        synchronized (this) {
            audioSeconds += seconds;
        }
        rec.put("duration", Math.round(seconds * 1000) / 1000.0);
        rec.put("frames", (long) Math.ceil(seconds * model.sampleRate() / model.frameSize() - 1e-9));
        rec.put("status", "ok");
        ok.incrementAndGet();
    }

    private void failed(Map<String, Object> rec, Path f, Exception e) {
        if (!MimiCli.isUserError(e)) e.printStackTrace(log);
        rec.put("status", "error");
        rec.put("error", MimiCli.message(e));
        failed.incrementAndGet();
        String m = MimiCli.message(e);
        log.println("mimi: error: " + (m.contains(f.toString()) ? m : f + ": " + m));
    }

    /** Records a file's outcome in the manifest and moves the progress on. */
    private void finish(Path f, Map<String, Object> rec) {
        record(rec);
        int done = ok.get() + failed.get() + skipped.get();
        double wall = (System.nanoTime() - start) / 1e9;
        String status = String.format(Locale.ROOT, "%.2f h audio, %.1fx real time", audioHours(), audioSeconds() / Math.max(wall, 1e-9));
        synchronized (this) {
            if (bar != null) {
                bar.step();
                bar.setExtraMessage(" " + status);
            } else {
                log.printf(Locale.ROOT, "[%d/%d] %s (%s)%n", done, total, in.relativize(f), status);
            }
        }
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
