package org.mimi4j;

import org.mimi4j.io.Json;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * The sizes of a Mimi model, named as in transformers' {@code MimiConfig} (config.json of {@code kyutai/mimi}).
 * {@link #released()} is the configuration of the released checkpoint, used when no config.json is given.
 *
 * @param upsamplingRatios decoder order [8,6,5,4]; the encoder uses them reversed
 * @param slidingWindow    transformer context in 25 Hz steps (moshi {@code context})
 * @param numQuantizers    codebooks in the checkpoint (semantic + acoustic)
 */
public record MimiConfig(
        int samplingRate,
        double frameRate,
        int audioChannels,
        int hiddenSize,
        int numFilters,
        int numResidualLayers,
        int[] upsamplingRatios,
        int kernelSize,
        int lastKernelSize,
        int residualKernelSize,
        int dilationGrowthRate,
        int compress,
        int codebookSize,
        int codebookDim,
        int numQuantizers,
        int numSemanticQuantizers,
        int upsampleGroups,
        int numHiddenLayers,
        int intermediateSize,
        int numAttentionHeads,
        int headDim,
        double normEps,
        double ropeTheta,
        int slidingWindow) {

    public MimiConfig {
        upsamplingRatios = upsamplingRatios.clone();
        if (hiddenSize != numAttentionHeads * headDim) {
            throw new CheckpointException("config: hidden_size " + hiddenSize + " != num_attention_heads " + numAttentionHeads + " x head_dim " + headDim);
        }
        if (numSemanticQuantizers < 1 || numQuantizers <= numSemanticQuantizers) {
            throw new CheckpointException("config: need num_quantizers > num_semantic_quantizers >= 1, got " + numQuantizers + " and " + numSemanticQuantizers);
        }
        if (audioChannels != 1) throw new CheckpointException("config: audio_channels " + audioChannels + " is not supported (Mimi is mono)");
        if (samplingRate <= 0 || !(frameRate > 0) || frameRate > samplingRate) {
            throw new CheckpointException("config: sampling_rate " + samplingRate + " and frame_rate " + frameRate + " must be positive, the frame rate at most the sampling rate");
        }
        int hop = 1; // hopLength() and frameSize(), from the parameters (the fields are set after this body)
        for (int r : upsamplingRatios) hop *= r;
        long frame = Math.round(samplingRate / frameRate);
        if (frame % hop != 0) throw new CheckpointException("config: frame size " + frame + " is not a multiple of the hop length " + hop);
        if (upsampleGroups != 1 && upsampleGroups != hiddenSize) {
            throw new CheckpointException("config: upsample_groups " + upsampleGroups + " must be 1 or hidden_size " + hiddenSize);
        }
    }

    /** The configuration of Kyutai's released Mimi (kyutai/mimi, tokenizer-e351c8d8-checkpoint125). */
    public static MimiConfig released() {
        return new MimiConfig(24000, 12.5, 1, 512, 64, 1, new int[]{8, 6, 5, 4}, 7, 3, 3, 2, 2,
                2048, 256, 32, 1, 512, 8, 2048, 8, 64, 1e-5, 10000.0, 250);
    }

    @Override
    public int[] upsamplingRatios() {
        return upsamplingRatios.clone();
    }

    /** Samples per 25 Hz encoder step (product of the ratios, 960). */
    public int hopLength() {
        int h = 1;
        for (int r : upsamplingRatios) h *= r;
        return h;
    }

    /** Samples per code frame (1920 for the released model). */
    public int frameSize() {
        return (int) Math.round(samplingRate / frameRate);
    }

    /** Encoder-rate steps per code frame (2): the stride of the learnt downsample. */
    public int downsampleStride() {
        return frameSize() / hopLength();
    }

    /** Reads a transformers config.json; absent keys take the released values, as transformers' defaults do. */
    public static MimiConfig fromJson(Path file) {
        String text;
        try {
            text = Files.readString(file);
        } catch (IOException e) {
            throw new CheckpointException(file + ": cannot read config (" + (e instanceof java.nio.charset.CharacterCodingException
                    ? "not UTF-8 text: a config.json is JSON" : e.getMessage()) + ")");
        }
        Object root;
        try {
            root = Json.parse(text);
        } catch (IllegalArgumentException e) {
            throw new CheckpointException(file + ": " + e.getMessage());
        }
        if (!(root instanceof Map<?, ?> m)) throw new CheckpointException(file + ": config is not a JSON object");
        Object type = m.get("model_type");
        if (type != null && !"mimi".equals(type)) throw new CheckpointException(file + ": model_type is \"" + type + "\", expected \"mimi\"");
        MimiConfig d = released();
        Reader r = new Reader(file, m);
        int hidden = r.i("hidden_size", d.hiddenSize);
        int heads = r.i("num_attention_heads", d.numAttentionHeads);
        int headDim = r.i("head_dim", hidden / heads);
        if (r.m.containsKey("num_key_value_heads") && r.i("num_key_value_heads", heads) != heads) {
            throw new CheckpointException(file + ": num_key_value_heads != num_attention_heads is not supported by Mimi");
        }
        String act = r.s("hidden_act", "gelu");
        if (!act.equals("gelu")) throw new CheckpointException(file + ": hidden_act \"" + act + "\" is not supported (Mimi uses exact gelu)");
        if (!r.b("use_causal_conv", true)) throw new CheckpointException(file + ": use_causal_conv false is not supported");
        String pad = r.s("pad_mode", "constant");
        if (!pad.equals("constant")) throw new CheckpointException(file + ": pad_mode \"" + pad + "\" is not supported");
        if (r.b("use_conv_shortcut", false)) throw new CheckpointException(file + ": use_conv_shortcut true is not supported");
        // options the released model leaves at their defaults; another value would change the output, so refuse it
        if (r.b("attention_bias", false)) throw new CheckpointException(file + ": attention_bias true is not supported");
        if (m.containsKey("sliding_window") && m.get("sliding_window") == null) { // transformers: attention over all the past
            throw new CheckpointException(file + ": sliding_window null (no window) is not supported");
        }
        double trim = r.d("trim_right_ratio", 1.0);
        if (trim != 1.0) throw new CheckpointException(file + ": trim_right_ratio " + trim + " is not supported (causal Mimi trims all padding on the right: 1.0)");
        int vqHidden = r.i("vector_quantization_hidden_dimension", d.codebookDim);
        int codebookDim = r.i("codebook_dim", vqHidden);
        if (vqHidden != codebookDim) throw new CheckpointException(file + ": codebook_dim " + codebookDim + " != vector_quantization_hidden_dimension " + vqHidden + " is not supported");
        try {
            return new MimiConfig(
                    r.i("sampling_rate", d.samplingRate),
                    r.d("frame_rate", d.frameRate),
                    r.i("audio_channels", d.audioChannels),
                    hidden,
                    r.i("num_filters", d.numFilters),
                    r.count("num_residual_layers", d.numResidualLayers),
                    r.ints("upsampling_ratios", d.upsamplingRatios),
                    r.i("kernel_size", d.kernelSize),
                    r.i("last_kernel_size", d.lastKernelSize),
                    r.i("residual_kernel_size", d.residualKernelSize),
                    r.i("dilation_growth_rate", d.dilationGrowthRate),
                    r.i("compress", d.compress),
                    r.i("codebook_size", d.codebookSize),
                    codebookDim,
                    r.i("num_quantizers", d.numQuantizers),
                    r.i("num_semantic_quantizers", d.numSemanticQuantizers),
                    r.i("upsample_groups", d.upsampleGroups),
                    r.count("num_hidden_layers", d.numHiddenLayers),
                    r.i("intermediate_size", d.intermediateSize),
                    heads,
                    headDim,
                    r.d("norm_eps", d.normEps),
                    r.d("rope_theta", d.ropeTheta),
                    r.i("sliding_window", d.slidingWindow));
        } catch (CheckpointException e) { // the constructor's own checks say "config: ...": name the file instead
            if (!e.getMessage().startsWith("config: ")) throw e;
            throw new CheckpointException(file + ": " + e.getMessage().substring("config: ".length()));
        }
    }

    private record Reader(Path file, Map<?, ?> m) {
        /** A size, count or rate: a positive integer. */
        int i(String k, int def) {
            return atLeast(k, def, 1);
        }

        /** A count that may be 0 (layers). */
        int count(String k, int def) {
            return atLeast(k, def, 0);
        }

        private int atLeast(String k, int def, int min) {
            Object v = m.get(k);
            if (v == null) return def;
            if (v instanceof Long l && l >= min && l <= Integer.MAX_VALUE) return (int) (long) l;
            if (v instanceof Double dd && dd == Math.rint(dd) && dd >= min && dd <= Integer.MAX_VALUE) return (int) (double) dd;
            throw new CheckpointException(file + ": " + k + " must be an integer of at least " + min + ", got " + Json.write(v));
        }

        double d(String k, double def) {
            Object v = m.get(k);
            if (v == null) return def;
            if (v instanceof Number n) return n.doubleValue();
            throw new CheckpointException(file + ": " + k + " must be a number, got " +Json.write(v));
        }

        boolean b(String k, boolean def) {
            Object v = m.get(k);
            if (v == null) return def;
            if (v instanceof Boolean bb) return bb;
            throw new CheckpointException(file + ": " + k + " must be true or false, got " +Json.write(v));
        }

        String s(String k, String def) {
            Object v = m.get(k);
            if (v == null) return def;
            if (v instanceof String ss) return ss;
            throw new CheckpointException(file + ": " + k + " must be a string, got " +Json.write(v));
        }

        int[] ints(String k, int[] def) {
            Object v = m.get(k);
            if (v == null) return def;
            if (v instanceof List<?> l) {
                int[] out = new int[l.size()];
                for (int j = 0; j < out.length; j++) {
                    if (!(l.get(j) instanceof Long x) || x < 1) throw new CheckpointException(file + ": " + k + " must hold positive integers, got " + v);
                    out[j] = (int) (long) x;
                }
                return out;
            }
            throw new CheckpointException(file + ": " + k + " must be a list, got " + v);
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof MimiConfig c && toString().equals(c.toString());
    }

    @Override
    public int hashCode() {
        return toString().hashCode();
    }

    @Override
    public String toString() {
        return "MimiConfig[sampling_rate=" + samplingRate + ", frame_rate=" + frameRate + ", hidden_size=" + hiddenSize +
                ", num_filters=" + numFilters + ", upsampling_ratios=" + java.util.Arrays.toString(upsamplingRatios) +
                ", num_residual_layers=" + numResidualLayers + ", kernel_size=" + kernelSize + ", last_kernel_size=" + lastKernelSize +
                ", residual_kernel_size=" + residualKernelSize + ", dilation_growth_rate=" + dilationGrowthRate + ", compress=" + compress +
                ", codebook_size=" + codebookSize + ", codebook_dim=" + codebookDim + ", num_quantizers=" + numQuantizers +
                ", num_semantic_quantizers=" + numSemanticQuantizers + ", upsample_groups=" + upsampleGroups +
                ", num_hidden_layers=" + numHiddenLayers + ", intermediate_size=" + intermediateSize +
                ", num_attention_heads=" + numAttentionHeads + ", head_dim=" + headDim + ", norm_eps=" + normEps +
                ", rope_theta=" + ropeTheta + ", sliding_window=" + slidingWindow + "]";
    }
}
