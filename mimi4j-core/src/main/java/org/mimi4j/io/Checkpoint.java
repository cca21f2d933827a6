package org.mimi4j.io;

import org.mimi4j.CheckpointException;
import org.mimi4j.kernels.RowSource;
import org.mimi4j.kernels.WeightArena;

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
    private final WeightArena arena;

    private Checkpoint(SafeTensors file, Layout layout) {
        this.file = file;
        this.layout = layout;
        long floats = 0; // what the packed weights take, about: every tensor as float32
        for (SafeTensors.TensorInfo t : file.tensors().values()) floats += t.numel();
        this.arena = new WeightArena(floats);
    }

    /** Where the model built from this checkpoint packs its weights (a few large arrays, see WeightArena). */
    public WeightArena arena() {
        return arena;
    }

    /** The weight file. */
    public Path path() {
        return file.path();
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

    private static final Pattern HF_TRANSFORMER = Pattern.compile("(en|de)coder_transformer\\.layers\\.");

    static Layout detect(SafeTensors st) {
        int moshi = 0, hf = 0;
        for (String n : st.tensors().keySet()) {
            if (n.startsWith("encoder.model.") || n.startsWith("decoder.model.") || n.startsWith("quantizer.rvq_")
                    || n.contains(".transformer.layers.")) moshi++;
            if (n.startsWith("encoder.layers.") || n.startsWith("decoder.layers.") || n.startsWith("quantizer.semantic_residual")
                    || n.startsWith("quantizer.acoustic_residual") || HF_TRANSFORMER.matcher(n).lookingAt()) hf++;
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
        String name = fileName(moshiName);
        check(name, shape);
        return file.floats(name);
    }

    /**
     * A tensor by its moshi name, checked as {@link #tensor}, as rows of {@code shape[1] * shape[2] * ...} floats
     * read from the file when asked for (a matrix packed at load without a float32 copy of the whole tensor first).
     */
    public RowSource rows(String moshiName, long... shape) {
        String name = fileName(moshiName);
        check(name, shape);
        return rowsOf(name, shape);
    }

    private RowSource rowsOf(String name, long... shape) {
        long row = 1;
        for (int i = 1; i < shape.length; i++) row *= shape[i];
        int k = Math.toIntExact(row);
        SafeTensors.TensorInfo t = file.info(name);
        return (i, dst, off) -> file.read(t, (long) i * k, dst, off, k);
    }

    private void check(String name, long... shape) {
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
    }

    /** Marks a tensor as known but not needed for inference (e.g. a codebook's {@code _initialized} flag). */
    public void ignore(String moshiName) {
        used.add(fileName(moshiName));
    }

    /**
     * The rows of the attention input projection {@code prefix.in_proj_weight} [3D][D] in moshi's order (q, k, v;
     * RoPE pairs interleaved). From a transformers file they are read from q/k/v_proj, undoing the half-split
     * permutation of q and k rows that transformers' conversion script applies.
     */
    public RowSource inProj(String prefix, int dim, int heads) {
        if (layout == Layout.MOSHI) return rows(prefix + ".in_proj_weight", 3L * dim, dim);
        String p = fileName(prefix + ".x").replaceAll("\\.x$", "");
        String[] names = {p + ".q_proj.weight", p + ".k_proj.weight", p + ".v_proj.weight"};
        RowSource[] qkv = new RowSource[3];
        for (int i = 0; i < 3; i++) {
            check(names[i], dim, dim);
            qkv[i] = rowsOf(names[i], dim, dim);
        }
        int hd = dim / heads;
        return (row, dst, off) -> {
            int part = row / dim, r = row % dim;
            if (part < 2) { // moshi row h*hd + 2i + half is transformers row h*hd + half*hd/2 + i (inverse of toHalfSplit)
                int h = r / hd, i = r % hd / 2, half = r % 2;
                r = h * hd + half * (hd / 2) + i;
            }
            qkv[part].read(r, dst, off);
        };
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
