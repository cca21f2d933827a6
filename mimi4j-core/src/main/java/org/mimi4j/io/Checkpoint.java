package org.mimi4j.io;

import org.mimi4j.CheckpointException;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A Mimi weight file in either layout, detected from its tensor names:
 * <ul>
 *   <li>{@link Layout#MOSHI}: Kyutai's original {@code tokenizer-e351c8d8-checkpoint125.safetensors}
 *       ({@code encoder.model.N.conv.conv.weight}, {@code self_attn.in_proj_weight}, {@code quantizer.rvq_first...});</li>
 *   <li>{@link Layout#TRANSFORMERS}: Hugging Face {@code kyutai/mimi/model.safetensors}
 *       ({@code encoder.layers.N.conv.weight}, {@code q_proj/k_proj/v_proj} with q/k rows permuted to half-split RoPE
 *       order, {@code quantizer.semantic_residual_vector_quantizer...}).</li>
 * </ul>
 * The model asks for tensors by their moshi names; this class maps them, checks presence and shape (naming the
 * file's own tensor name in errors), converts F16/BF16 to float32, and remembers which tensors were used.
 */
public final class Checkpoint implements AutoCloseable {
    public enum Layout { MOSHI, TRANSFORMERS }

    private final SafeTensors file;
    private final Layout layout;
    private final Set<String> used = new HashSet<>();

    private Checkpoint(SafeTensors file, Layout layout) {
        this.file = file;
        this.layout = layout;
    }

    public static Checkpoint open(Path path) {
        SafeTensors st = SafeTensors.open(path);
        try {
            return new Checkpoint(st, detect(st));
        } catch (RuntimeException e) {
            st.close();
            throw e;
        }
    }

    static Layout detect(SafeTensors st) {
        int moshi = 0, hf = 0;
        for (String n : st.tensors().keySet()) {
            if (n.startsWith("encoder.model.") || n.startsWith("decoder.model.") || n.startsWith("quantizer.rvq_")
                    || n.contains(".transformer.layers.")) moshi++;
            if (n.startsWith("encoder.layers.") || n.startsWith("decoder.layers.") || n.startsWith("quantizer.semantic_residual")
                    || n.startsWith("quantizer.acoustic_residual") || n.matches("(en|de)coder_transformer\\.layers\\..*")) hf++;
        }
        if (moshi > 0 && hf > 0) {
            throw new CheckpointException(st.path() + ": mixed checkpoint layout (" + moshi + " tensors with moshi names, " + hf +
                    " with transformers names)");
        }
        if (moshi == 0 && hf == 0) {
            throw new CheckpointException(st.path() + ": not a Mimi checkpoint (no encoder/decoder/quantizer tensors in either the moshi or the transformers layout)");
        }
        return moshi > 0 ? Layout.MOSHI : Layout.TRANSFORMERS;
    }

    public Layout layout() {
        return layout;
    }

    public SafeTensors file() {
        return file;
    }

    private static final String[][] RULES = {
            {"^(encoder|decoder)\\.model\\.(\\d+)\\.conv\\.conv\\.", "$1.layers.$2.conv."},
            {"^decoder\\.model\\.(\\d+)\\.convtr\\.convtr\\.", "decoder.layers.$1.conv."},
            {"^(encoder|decoder)\\.model\\.(\\d+)\\.block\\.(\\d+)\\.conv\\.conv\\.", "$1.layers.$2.block.$3.conv."},
            {"^(encoder|decoder)_transformer\\.transformer\\.layers\\.", "$1_transformer.layers."},
            {"\\.norm1\\.", ".input_layernorm."},
            {"\\.norm2\\.", ".post_attention_layernorm."},
            {"\\.linear1\\.", ".mlp.fc1."},
            {"\\.linear2\\.", ".mlp.fc2."},
            {"\\.layer_scale_1\\.", ".self_attn_layer_scale."},
            {"\\.layer_scale_2\\.", ".mlp_layer_scale."},
            {"\\.self_attn\\.out_proj\\.", ".self_attn.o_proj."},
            {"^downsample\\.conv\\.conv\\.conv\\.", "downsample.conv."},
            {"^upsample\\.convtr\\.convtr\\.convtr\\.", "upsample.conv."},
            {"^quantizer\\.rvq_first\\.", "quantizer.semantic_residual_vector_quantizer."},
            {"^quantizer\\.rvq_rest\\.", "quantizer.acoustic_residual_vector_quantizer."},
            {"\\.vq\\.layers\\.(\\d+)\\._codebook\\.embedding_sum$", ".layers.$1.codebook.embed_sum"},
            {"\\.vq\\.layers\\.(\\d+)\\._codebook\\.cluster_usage$", ".layers.$1.codebook.cluster_usage"},
            {"\\.vq\\.layers\\.(\\d+)\\._codebook\\._initialized$", ".layers.$1.codebook.initialized"},
    };
    private static final Pattern[] PATTERNS = Arrays.stream(RULES).map(r -> Pattern.compile(r[0])).toArray(Pattern[]::new);

    /** The name a moshi-named tensor has in this file. */
    public String fileName(String moshiName) {
        return layout == Layout.MOSHI ? moshiName : hfName(moshiName);
    }

    /** The transformers-layout name of a moshi-named tensor (attention in_proj excepted: see {@link #inProj}). */
    public static String hfName(String moshiName) {
        String n = moshiName;
        for (int i = 0; i < RULES.length; i++) {
            Matcher m = PATTERNS[i].matcher(n);
            n = m.replaceAll(RULES[i][1]);
        }
        return n;
    }

    /** Permutes the rows of a q or k projection [D][D] from interleaved to transformers' half-split RoPE order. */
    public static float[] toHalfSplit(float[] w, int dim, int heads) {
        float[] out = new float[w.length];
        int hd = dim / heads;
        for (int h = 0; h < heads; h++) {
            for (int i = 0; i < hd / 2; i++) {
                for (int half = 0; half < 2; half++) {
                    System.arraycopy(w, (h * hd + 2 * i + half) * dim, out, (h * hd + half * (hd / 2) + i) * dim, dim);
                }
            }
        }
        return out;
    }

    public boolean has(String moshiName) {
        return file.has(fileName(moshiName));
    }

    /** A tensor by its moshi name, checked to have exactly this shape, as float32. */
    public float[] tensor(String moshiName, long... shape) {
        return read(fileName(moshiName), shape);
    }

    private float[] read(String name, long... shape) {
        if (!file.has(name)) {
            throw new CheckpointException(file.path() + ": missing tensor " + name + " (expected shape " + Arrays.toString(shape) + ")");
        }
        SafeTensors.TensorInfo t = file.info(name);
        if (!Arrays.equals(t.shape(), shape)) {
            throw new CheckpointException(file.path() + ": tensor " + name + " has shape " + t.shapeString() + ", expected " + Arrays.toString(shape));
        }
        if (t.dtype() != SafeTensors.DType.F32 && t.dtype() != SafeTensors.DType.F16 && t.dtype() != SafeTensors.DType.BF16) {
            throw new CheckpointException(file.path() + ": tensor " + name + " has dtype " + t.dtype() + ", expected F32, F16 or BF16");
        }
        used.add(name);
        return file.floats(name);
    }

    /** Marks a tensor as known but not needed for inference (e.g. a codebook's {@code _initialized} flag). */
    public void ignore(String moshiName) {
        used.add(fileName(moshiName));
    }

    /**
     * The attention input projection {@code prefix.in_proj_weight} [3D][D] in moshi's order (q, k, v; RoPE pairs
     * interleaved). From a transformers file it is assembled from q/k/v_proj, undoing the half-split permutation of
     * q and k rows that transformers' conversion script applies.
     */
    public float[] inProj(String prefix, int dim, int heads) {
        if (layout == Layout.MOSHI) return read(prefix + ".in_proj_weight", 3L * dim, dim);
        String p = fileName(prefix + ".x").replaceAll("\\.x$", "");
        float[] q = read(p + ".q_proj.weight", dim, dim), k = read(p + ".k_proj.weight", dim, dim), v = read(p + ".v_proj.weight", dim, dim);
        float[] out = new float[3 * dim * dim];
        int hd = dim / heads;
        for (int h = 0; h < heads; h++) {
            for (int i = 0; i < hd / 2; i++) {
                for (int half = 0; half < 2; half++) {
                    int moshiRow = h * hd + 2 * i + half, hfRow = h * hd + half * (hd / 2) + i; // inverse of toHalfSplit
                    System.arraycopy(q, hfRow * dim, out, moshiRow * dim, dim);
                    System.arraycopy(k, hfRow * dim, out, (dim + moshiRow) * dim, dim);
                }
            }
        }
        System.arraycopy(v, 0, out, 2 * dim * dim, dim * dim);
        return out;
    }

    /** Tensors of the file that the model did not use, sorted. */
    public List<String> unused() {
        List<String> out = new ArrayList<>();
        for (String n : file.tensors().keySet()) if (!used.contains(n)) out.add(n);
        out.sort(null);
        return out;
    }

    @Override
    public void close() {
        file.close();
    }
}
