package org.mimi4j.cli;

import org.mimi4j.Mimi;
import org.mimi4j.io.CodesFile;
import org.mimi4j.io.SafeTensors;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;

/** mimi info PATH: what a model or a codes file holds. */
@Command(name = "info", mixinStandardHelpOptions = true,
        description = "Describe a model (folder, .safetensors or hub repo: layout, config, parameters, dtype, sha256) or a codes file (shape, duration, metadata).")
final class InfoCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "PATH", description = "A codes file, a model folder or weight file, or a hub repo id.")
    String target;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        Path p = Path.of(target);
        if (Files.isRegularFile(p) && isCodes(p)) {
            CodesFile.Codes c = CodesFile.read(p);
            double rate = Double.parseDouble(c.metadata().getOrDefault("frame_rate", "12.5"));
            out.printf(Locale.ROOT, "codes file:   %s%n", p);
            out.printf(Locale.ROOT, "shape:        [%d codebook%s, %d frame%s]%n", c.numCodebooks(), c.numCodebooks() == 1 ? "" : "s",
                    c.frames(), c.frames() == 1 ? "" : "s");
            out.printf(Locale.ROOT, "duration:     %.2f s at %s Hz%n", c.frames() / rate, rate);
            for (Map.Entry<String, String> e : new TreeMap<>(c.metadata()).entrySet()) out.printf("%-13s %s%n", e.getKey() + ":", e.getValue());
            return 0;
        }
        ModelOptions mo = new ModelOptions();
        mo.model = target;
        Mimi m = mo.load();
        out.printf("model:        %s%n", m.source());
        out.printf("layout:       %s%n", m.layout() == org.mimi4j.io.Checkpoint.Layout.MOSHI ? "moshi (original Kyutai names)" : "transformers (Hugging Face names)");
        Path weights = m.weightsFile(); // the file itself, also for a folder or a hub repo (its cached copy)
        if (Files.isRegularFile(weights)) {
            long params = 0;
            Map<String, Integer> dtypes = new TreeMap<>();
            try (SafeTensors st = SafeTensors.open(weights)) {
                for (var t : st.tensors().values()) {
                    params += t.numel();
                    dtypes.merge(t.dtype().name(), 1, Integer::sum);
                }
            }
            out.printf(Locale.ROOT, "parameters:   %,d (%.1fM)%n", params, params / 1e6);
            out.printf("dtypes:       %s%n", dtypes);
            out.printf("sha256:       %s%n", sha256(weights));
        }
        out.printf(Locale.ROOT, "codebooks:    %d x %d entries, frame %d samples = %.0f ms at %d Hz%n", m.totalCodebooks(), m.cardinality(),
                m.frameSize(), 1000.0 * m.frameSize() / m.sampleRate(), m.sampleRate());
        out.printf("config:       %s%n", m.config());
        if (!m.unusedTensors().isEmpty()) out.printf("unused:       %s%n", m.unusedTensors());
        return 0;
    }

    private static boolean isCodes(Path p) throws Exception {
        if (CodesFile.formatOf(p) == CodesFile.Format.NPY) return true;
        try (SafeTensors st = SafeTensors.open(p)) {
            return st.has(CodesFile.TENSOR);
        }
    }

    private static String sha256(Path p) throws Exception {
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        try (InputStream in = Files.newInputStream(p)) {
            byte[] buf = new byte[1 << 20];
            for (int n; (n = in.read(buf)) > 0; ) md.update(buf, 0, n);
        }
        return HexFormat.of().formatHex(md.digest());
    }
}
