package org.mimi4j.cli;

import org.mimi4j.Mimi;
import org.mimi4j.MimiConfig;
import org.mimi4j.io.RandomCheckpoint;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.nio.file.Files;
import java.nio.file.Path;

/** --model and --config, shared by the commands that load a model. */
final class ModelOptions {
    static final String DEFAULT_MODEL = "kyutai/mimi";

    @Option(names = {"-m", "--model"}, paramLabel = "DIR|FILE|REPO", defaultValue = DEFAULT_MODEL,
            description = "A folder or .safetensors file (either layout), a Hugging Face repo (org/name, or org/name/file.safetensors) "
                    + "fetched into the HF cache, or 'random' (random weights of the released shapes: meaningless codes, for trying the "
                    + "pipeline offline and for benchmarks). Default: ${DEFAULT-VALUE}.")
    String model;

    @Option(names = "--config", paramLabel = "CONFIG_JSON", description = "config.json with the model's sizes (default: the one beside the weights, else the released Mimi's).")
    Path config;

    @Spec(Spec.Target.MIXEE)
    CommandSpec command; // the command this is mixed into (null when built by hand, as by info)

    /** The model; {@link Mimi#unusedTensorsWarning()} on stderr when the checkpoint holds tensors it does not use. */
    Mimi load() {
        Mimi m = open();
        String unused = m.unusedTensorsWarning();
        if (unused != null && command != null) command.commandLine().getErr().println("mimi: warning: " + model + ": " + unused);
        return m;
    }

    private Mimi open() {
        if (model.isBlank()) throw new MimiCli.UsageException("--model is empty");
        if (model.equals("random")) return RandomCheckpoint.model(42);
        Path p = Path.of(model);
        if (Files.exists(p)) {
            if (config != null) return Mimi.load(Files.isDirectory(p) ? p.resolve("model.safetensors") : p, MimiConfig.fromJson(config));
            return Mimi.load(p);
        }
        if (model.contains("/") && !model.startsWith("/") && !model.startsWith(".")) return Mimi.fromHub(model);
        throw new MimiCli.UserException(model + ": no such file or folder, and not a Hugging Face repo id (org/name)");
    }
}
