package org.mimi4j.io;

import org.mimi4j.MimiConfig;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Writes a Mimi checkpoint with random weights of the shapes a config implies, in either layout, for benchmarks
 * and load tests (the released weights cannot be downloaded everywhere). Scales keep activations in a sane range:
 * weights N(0, 1/fan_in), layer scales 0.1, codebooks N(0, 1) with usage 1.
 */
public final class RandomCheckpoint {
    private RandomCheckpoint() {
    }

    /** The tensors (moshi names, shapes) of a model with this config. */
    public static Map<String, long[]> shapes(MimiConfig c) {
        Map<String, long[]> t = new LinkedHashMap<>();
        int nf = c.numFilters(), d = c.hiddenSize();
        int[] ratios = c.upsamplingRatios();
        int idx = 0, mult = 1;
        conv(t, "encoder.model." + idx++ + ".conv.conv", nf, c.audioChannels(), c.kernelSize(), true);
        for (int i = ratios.length - 1; i >= 0; i--) {
            for (int j = 0; j < c.numResidualLayers(); j++) resnet(t, "encoder.model." + idx++, mult * nf, c);
            idx++;
            conv(t, "encoder.model." + idx++ + ".conv.conv", 2 * mult * nf, mult * nf, 2 * ratios[i], true);
            mult *= 2;
        }
        idx++;
        conv(t, "encoder.model." + idx + ".conv.conv", d, mult * nf, c.lastKernelSize(), true);
        transformer(t, "encoder_transformer", c);
        int ds = c.downsampleStride();
        conv(t, "downsample.conv.conv.conv", d, d, 2 * ds, false);
        for (String q : new String[]{"rvq_first", "rvq_rest"}) {
            int n = q.equals("rvq_first") ? c.numSemanticQuantizers() : c.numQuantizers() - c.numSemanticQuantizers();
            t.put("quantizer." + q + ".input_proj.weight", new long[]{c.codebookDim(), d, 1});
            t.put("quantizer." + q + ".output_proj.weight", new long[]{d, c.codebookDim(), 1});
            for (int k = 0; k < n; k++) {
                String p = "quantizer." + q + ".vq.layers." + k + "._codebook.";
                t.put(p + "_initialized", new long[]{1});
                t.put(p + "cluster_usage", new long[]{c.codebookSize()});
                t.put(p + "embedding_sum", new long[]{c.codebookSize(), c.codebookDim()});
            }
        }
        t.put("upsample.convtr.convtr.convtr.weight", new long[]{d, d / c.upsampleGroups(), 2 * ds});
        transformer(t, "decoder_transformer", c);
        idx = 0;
        mult = 1 << ratios.length;
        conv(t, "decoder.model." + idx++ + ".conv.conv", mult * nf, d, c.kernelSize(), true);
        for (int r : ratios) {
            idx++;
            String p = "decoder.model." + idx++ + ".convtr.convtr";
            t.put(p + ".weight", new long[]{mult * nf, mult * nf / 2, 2L * r});
            t.put(p + ".bias", new long[]{mult * nf / 2});
            for (int j = 0; j < c.numResidualLayers(); j++) resnet(t, "decoder.model." + idx++, mult * nf / 2, c);
            mult /= 2;
        }
        idx++;
        conv(t, "decoder.model." + idx + ".conv.conv", c.audioChannels(), nf, c.lastKernelSize(), true);
        return t;
    }

    private static void conv(Map<String, long[]> t, String p, int out, int in, int k, boolean bias) {
        t.put(p + ".weight", new long[]{out, in, k});
        if (bias) t.put(p + ".bias", new long[]{out});
    }

    private static void resnet(Map<String, long[]> t, String p, int dim, MimiConfig c) {
        conv(t, p + ".block.1.conv.conv", dim / c.compress(), dim, c.residualKernelSize(), true);
        conv(t, p + ".block.3.conv.conv", dim, dim / c.compress(), 1, true);
    }

    private static void transformer(Map<String, long[]> t, String prefix, MimiConfig c) {
        int d = c.hiddenSize(), ff = c.intermediateSize();
        for (int l = 0; l < c.numHiddenLayers(); l++) {
            String p = prefix + ".transformer.layers." + l;
            t.put(p + ".self_attn.in_proj_weight", new long[]{3L * d, d});
            t.put(p + ".self_attn.out_proj.weight", new long[]{d, d});
            t.put(p + ".linear1.weight", new long[]{ff, d});
            t.put(p + ".linear2.weight", new long[]{d, ff});
            for (String n : new String[]{"norm1", "norm2"}) {
                t.put(p + "." + n + ".weight", new long[]{d});
                t.put(p + "." + n + ".bias", new long[]{d});
            }
            t.put(p + ".layer_scale_1.scale", new long[]{d});
            t.put(p + ".layer_scale_2.scale", new long[]{d});
        }
    }

    /** The tensors of a checkpoint file of this config in the given layout: file name -> (moshi name, shape). */
    public static Map<String, Map.Entry<String, long[]>> fileTensors(MimiConfig c, Checkpoint.Layout layout) {
        Map<String, Map.Entry<String, long[]>> out = new LinkedHashMap<>();
        for (Map.Entry<String, long[]> e : shapes(c).entrySet()) {
            String name = e.getKey();
            if (layout == Checkpoint.Layout.TRANSFORMERS && name.endsWith(".self_attn.in_proj_weight")) {
                long d = e.getValue()[1];
                String p = Checkpoint.hfName(name.replace(".in_proj_weight", ".x")).replaceAll("\\.x$", "");
                for (String part : new String[]{"q_proj", "k_proj", "v_proj"}) out.put(p + "." + part + ".weight", Map.entry(name + "#" + part, new long[]{d, d}));
                continue;
            }
            out.put(layout == Checkpoint.Layout.TRANSFORMERS ? Checkpoint.hfName(name) : name, Map.entry(name, e.getValue()));
        }
        return out;
    }

    /** Writes random weights for {@code c} to {@code file} in the given layout and dtype (F32, F16 or BF16). */
    public static void write(Path file, MimiConfig c, Checkpoint.Layout layout, SafeTensors.DType dtype, long seed) throws IOException {
        SplittableRandom rnd = new SplittableRandom(seed);
        Map<String, SafeTensors.Entry> out = new LinkedHashMap<>();
        float[] inProj = null;
        for (Map.Entry<String, Map.Entry<String, long[]>> e : fileTensors(c, layout).entrySet()) {
            String moshi = e.getValue().getKey();
            long[] shape = e.getValue().getValue();
            float[] v;
            int split = moshi.indexOf('#');
            if (split < 0) {
                v = values(moshi, shape, rnd);
            } else { // q, k, v of one in_proj_weight, in that order; q and k rows to half-split RoPE order
                int d = (int) shape[0];
                String part = moshi.substring(split + 1);
                if (part.equals("q_proj")) inProj = values(moshi.substring(0, split), new long[]{3L * d, d}, rnd);
                int i = part.equals("q_proj") ? 0 : part.equals("k_proj") ? 1 : 2;
                v = java.util.Arrays.copyOfRange(inProj, i * d * d, (i + 1) * d * d);
                if (i < 2) v = Checkpoint.toHalfSplit(v, d, c.numAttentionHeads());
            }
            out.put(e.getKey(), SafeTensors.Entry.floats(v, dtype, shape));
        }
        SafeTensors.write(file, out, Map.of("format", "pt"));
    }

    /**
     * The released architecture with seeded random weights (what {@code --model random} means in the CLI, the server
     * and the Spark job): written to a temporary BF16 file, loaded, and the file deleted.
     */
    public static org.mimi4j.Mimi model(long seed) {
        try {
            Path tmp = java.nio.file.Files.createTempFile("mimi-random", ".safetensors");
            try {
                write(tmp, MimiConfig.released(), Checkpoint.Layout.MOSHI, SafeTensors.DType.BF16, seed);
                return org.mimi4j.Mimi.load(tmp, MimiConfig.released(), "random (seed " + seed + ")"); // not the deleted file's name
            } finally {
                java.nio.file.Files.deleteIfExists(tmp);
            }
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static float[] values(String name, long[] shape, SplittableRandom rnd) {
        long n = 1;
        for (long s : shape) n *= s;
        float[] v = new float[(int) n];
        if (name.endsWith("cluster_usage") || name.endsWith("_initialized")) {
            java.util.Arrays.fill(v, 1f);
        } else if (name.endsWith("embedding_sum")) {
            for (int i = 0; i < v.length; i++) v[i] = (float) gauss(rnd);
        } else if (name.endsWith(".scale")) {
            java.util.Arrays.fill(v, 0.1f);
        } else if (name.contains(".norm") && name.endsWith(".weight")) {
            java.util.Arrays.fill(v, 1f);
        } else if (name.endsWith(".bias")) {
            for (int i = 0; i < v.length; i++) v[i] = (float) (0.01 * gauss(rnd));
        } else {
            // conv [out][in][k]: in*k inputs per output; transposed conv [in][out][2*stride]: 2*in (depthwise: 2)
            long fanIn = name.contains("convtr") ? (shape[1] == 1 ? 2 : 2 * shape[0]) : n / shape[0];
            double std = 1.0 / Math.sqrt(Math.max(1, fanIn));
            for (int i = 0; i < v.length; i++) v[i] = (float) (std * gauss(rnd));
        }
        return v;
    }

    /**
     * A standard normal draw (Box-Muller) from two of r's doubles. StrictMath: the same bits on every JVM and CPU, so
     * the random weights, and inputs drawn this way, are reproducible (the full-size upstream parity test depends on it).
     */
    public static double gauss(SplittableRandom r) {
        double u = r.nextDouble(), w = r.nextDouble();
        return Math.sqrt(-2 * StrictMath.log(1 - u)) * StrictMath.cos(2 * Math.PI * w);
    }
}
