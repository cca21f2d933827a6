package org.mimi4j.spark;

import org.apache.spark.SparkEnv;
import org.apache.spark.SparkFiles;
import org.mimi4j.Mimi;
import org.mimi4j.MimiConfig;
import org.mimi4j.MimiException;
import org.mimi4j.io.Checkpoint;
import org.mimi4j.io.RandomCheckpoint;

import java.io.IOException;
import java.io.Serializable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Which model to load, as the CLI's {@code --model}/{@code --config} take it: a local folder or weight file (on every
 * node, or shipped with {@code spark-submit --files/--archives}), a Hugging Face repo ({@code org/name} or
 * {@code org/name/file.safetensors}, fetched into each node's cache), or {@code random}.
 * <p>
 * {@link #get()} gives the JVM's one instance: the first task thread that asks loads it (weights memory-mapped once,
 * read into the model's arrays), the others wait for it and share it (the model is immutable and thread-safe).
 */
public record ModelSpec(String model, String config) implements Serializable {
    private static final ConcurrentHashMap<ModelSpec, Mimi> LOADED = new ConcurrentHashMap<>();
    private static final AtomicInteger LOADS = new AtomicInteger();

    public ModelSpec {
        if (model == null || model.isBlank()) throw new IllegalArgumentException("model must be given");
    }

    /** This JVM's instance of the model, loaded on first use. */
    public Mimi get() {
        return LOADED.computeIfAbsent(this, ModelSpec::load);
    }

    /** How many models this JVM has loaded (for tests: one per spec, however many tasks ran). */
    static int loadsInThisJvm() {
        return LOADS.get();
    }

    private Mimi load() {
        LOADS.incrementAndGet();
        Mimi m = open();
        String unused = m.unusedTensorsWarning(); // as the CLI warns
        if (unused != null) org.slf4j.LoggerFactory.getLogger(ModelSpec.class).warn("{}: {}", model, unused);
        return m;
    }

    private Mimi open() {
        if (model.equals("random")) return RandomCheckpoint.model(42);
        Path p = local(model);
        if (p != null) {
            Path cfg = config == null ? null : local(config);
            if (config != null && cfg == null) throw new MimiException(config + ": no such file (config)");
            if (cfg != null) return Mimi.load(Files.isDirectory(p) ? p.resolve("model.safetensors") : p, MimiConfig.fromJson(cfg));
            return Mimi.load(p);
        }
        if (model.contains("/") && !model.startsWith("/") && !model.contains(":")) return Mimi.fromHub(model);
        throw new MimiException(model + ": no such file or folder (here or among the files shipped with --files/--archives), "
                + "and not a Hugging Face repo id (org/name)");
    }

    /** A path that exists here, or among the files Spark shipped to this node (spark-submit --files). */
    private static Path local(String s) {
        if (s.startsWith("file:")) s = java.net.URI.create(s).getPath();
        Path p = Path.of(s);
        if (Files.exists(p)) return p;
        if (SparkEnv.get() != null && p.getFileName() != null) {
            try {
                Path shipped = Path.of(SparkFiles.get(p.getFileName().toString()));
                if (Files.exists(shipped)) return shipped;
            } catch (RuntimeException ignored) {
                // no SparkFiles directory here
            }
        }
        return null;
    }
}
