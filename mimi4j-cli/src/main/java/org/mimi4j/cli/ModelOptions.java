package org.mimi4j.cli;

import org.mimi4j.Mimi;
import org.mimi4j.MimiConfig;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;

/** --model and --config, shared by the commands that load a model. */
final class ModelOptions {
    static final String DEFAULT_MODEL = "kyutai/mimi";

    @Option(names = {"-m", "--model"}, paramLabel = "DIR|FILE|REPO", defaultValue = DEFAULT_MODEL,
            description = "A folder or .safetensors file (either layout), or a Hugging Face repo (org/name, or org/name/file.safetensors) "
                    + "fetched into the HF cache. Default: ${DEFAULT-VALUE}.")
    String model;

    @Option(names = "--config", paramLabel = "CONFIG_JSON", description = "config.json with the model's sizes (default: the one beside the weights, else the released Mimi's).")
    Path config;

    Mimi load() {
        Path p = Path.of(model);
        if (Files.exists(p)) {
            if (config != null) return Mimi.load(Files.isDirectory(p) ? p.resolve("model.safetensors") : p, MimiConfig.fromJson(config));
            return Mimi.load(p);
        }
        String[] parts = model.split("/");
        if (parts.length == 2 && !model.endsWith(".safetensors")) return Mimi.fromPretrained(model);
        if (parts.length >= 3 && model.endsWith(".safetensors")) {
            return Mimi.fromPretrained(parts[0] + "/" + parts[1], model.substring(parts[0].length() + parts[1].length() + 2));
        }
        throw new MimiCli.UserException(model + ": no such file or folder, and not a Hugging Face repo id (org/name)");
    }
}
