package org.mimi4j.cli;

import org.mimi4j.Mimi;
import org.mimi4j.MimiConfig;
import org.mimi4j.io.RandomCheckpoint;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

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

    /**
     * The model; a warning on stderr when the checkpoint holds tensors that the model does not use, as transformers
     * warns: weights the config does not account for (e.g. attention biases) would otherwise be dropped silently.
     */
    Mimi load() {
        Mimi m = open();
        List<String> unused = m.unusedTensors();
        if (!unused.isEmpty() && command != null) {
            command.commandLine().getErr().printf("mimi: warning: %s: %d tensor%s of the checkpoint %s not used by the model (is config.json the checkpoint's own?): %s%s%n",
                    model, unused.size(), unused.size() == 1 ? "" : "s", unused.size() == 1 ? "is" : "are",
                    String.join(", ", unused.subList(0, Math.min(5, unused.size()))), unused.size() > 5 ? ", ..." : "");
        }
        return m;
    }

    private Mimi open() {
        if (model.isBlank()) throw new MimiCli.UserException("--model is empty");
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
