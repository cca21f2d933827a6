package org.mimi4j;

import org.mimi4j.io.Checkpoint;
import org.mimi4j.io.HfHub;
import org.mimi4j.kernels.Parallel;
import org.mimi4j.nn.SeanetDecoder;
import org.mimi4j.nn.SeanetEncoder;
import org.mimi4j.nn.SplitResidualVectorQuantizer;
import org.mimi4j.nn.StreamingConv1d;
import org.mimi4j.nn.StreamingConvTranspose1d;
import org.mimi4j.nn.Transformer;
import org.mimi4j.perf.Profiler;
import org.mimi4j.stream.DecoderBatch;
import org.mimi4j.stream.EncoderBatch;
import org.mimi4j.stream.MimiDecoderStream;
import org.mimi4j.stream.MimiEncoderStream;
import org.mimi4j.stream.StreamMode;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Kyutai's Mimi codec: 24 kHz mono audio to discrete codes at 12.5 Hz and back.
 * <pre>
 * encode: audio [1][N] -> SEANet encoder [D][N/960] -> encoder transformer -> learnt stride-2 downsample [D][N/1920]
 *         -> split RVQ -> codes [K][N/1920]
 * decode: codes -> RVQ decode [D][T] -> depthwise stride-2 upsample [D][2T] -> decoder transformer -> SEANet decoder
 *         -> audio [1][T*1920]
 * </pre>
 * Names follow transformers' {@code MimiModel} ({@code encode(input_values, padding_mask, num_quantizers)},
 * {@code decode(audio_codes)}). Immutable and thread-safe once loaded: all streaming state lives in the state
 * objects of {@link #newEncoderState} / {@link #newDecoderState}, so one model serves any number of streams
 * ({@link #encoderStream}, {@link #decoderStream}, {@link #encoderBatch}, {@link #decoderBatch}: package
 * {@code org.mimi4j.stream}).
 */
public final class Mimi {
    private final MimiConfig config;
    private final String source;
    private final Path weightsFile;
    private final Checkpoint.Layout layout;
    private final List<String> unusedTensors;
    final SeanetEncoder encoder;
    final Transformer encoderTransformer;
    final StreamingConv1d downsample;
    final SplitResidualVectorQuantizer quantizer;
    final StreamingConvTranspose1d upsample;
    final Transformer decoderTransformer;
    final SeanetDecoder decoder;
    /**
     * Code frames per offline compute call, summed over the batch: bounds memory for long inputs (15.36 s of audio).
     * The transformers' linears then run on 384 columns, and each call reads the weights (from memory: the model is 385
     * MB) once for more columns. On the Zen 5 machine (`AbBench`, 10 rounds, both orders, 2026-12-05) 192 frames took
     * 0.95-0.99x the time of 144 to encode and 0.96x to decode, 288 the same as 192 and 432 more; on the Zen 4, 128
     * frames took 0.94-0.98x the time of 64. A multiple of 3 ({@link #chunkFrames}).
     */
    private static final int CHUNK_FRAMES = Integer.getInteger("mimi4j.chunkFrames", 192);
    /**
     * Code frames per quantizer call of an offline encode, summed over the batch: two chunks' latents, and all items of
     * a batch, go through one call, so each codebook (2 MB) is read from memory once for 384 frames. On the Zen 5
     * machine the search of 60 s at 32 codebooks took 92-94 ms in calls of 192 frames, 79-80 in calls of 384 and 76-79
     * in calls of 768 (8 codebooks: ~21 ms each way), and a batch of 16 items of 3.75 s at 32 codebooks, whose items
     * each had a call of 12 frames per chunk, 0.95 s instead of 1.18-1.21. Every frame is quantized on its own, so the
     * codes do not depend on it.
     */
    private static final int QUANTIZE_FRAMES = 2 * CHUNK_FRAMES;
    /**
     * Samples per SEANet call inside a longer one: activations of a slice stay in the caches (1920: 480 KB per
     * 64-channel layer, in one core's L2). With the tasks of {@link #timeParts} 1920 was faster than 3840 and 7680;
     * with the layers' columns split between the threads all three were as fast.
     */
    private static final int SEANET_SAMPLES = Integer.getInteger("mimi4j.seanetSamples", 1920);
    /**
     * Tasks per compute thread that an offline call's high-rate SEANet layers are cut into ({@link #timeParts}): 4 took
     * 0.88-1.01x the time of 1 to decode (`AbBench`, three pairs), 2 and 8 took 1.10x and 1.04x the time of 4.
     */
    static final int PARTS_PER_THREAD = Integer.getInteger("mimi4j.partsPerThread", 4);

    private Mimi(Checkpoint ck, MimiConfig c, String source) {
        this.config = c;
        this.source = source;
        this.weightsFile = ck.path();
        this.layout = ck.layout();
        int d = c.hiddenSize();
        int ds = c.downsampleStride();
        encoder = new SeanetEncoder(ck, c);
        encoderTransformer = new Transformer(ck, "encoder_transformer", c.numHiddenLayers(), d, c.numAttentionHeads(),
                c.intermediateSize(), c.slidingWindow(), c.normEps(), c.ropeTheta());
        downsample = StreamingConv1d.load(ck, "downsample.conv.conv.conv", d, d, 2 * ds, ds, 1, true, false);
        quantizer = new SplitResidualVectorQuantizer(ck, c.numQuantizers(), c.numSemanticQuantizers(), d, c.codebookDim(), c.codebookSize());
        upsample = StreamingConvTranspose1d.load(ck, "upsample.convtr.convtr.convtr", d, d, 2 * ds, ds, c.upsampleGroups(), false);
        decoderTransformer = new Transformer(ck, "decoder_transformer", c.numHiddenLayers(), d, c.numAttentionHeads(),
                c.intermediateSize(), c.slidingWindow(), c.normEps(), c.ropeTheta());
        decoder = new SeanetDecoder(ck, c);
        unusedTensors = ck.unused();
    }

    // ---------------------------------------------------------------- loading

    /**
     * Loads a model from a folder (a {@code *.safetensors} weight file, preferring {@code model.safetensors}, and
     * {@code config.json} if present) or from a weight file (with {@code config.json} beside it if present).
     * Without a config the released Mimi configuration applies.
     */
    public static Mimi load(Path path) {
        Path weights = path;
        if (Files.isDirectory(path)) weights = findWeights(path);
        Path cfg = weights.toAbsolutePath().getParent().resolve("config.json");
        return load(weights, Files.isRegularFile(cfg) ? MimiConfig.fromJson(cfg) : MimiConfig.released(), weights.toString());
    }

    /** Loads a weight file with an explicit config.json (null: the released configuration). */
    public static Mimi load(Path weights, Path configJson) {
        return load(weights, configJson == null ? MimiConfig.released() : MimiConfig.fromJson(configJson), weights.toString());
    }

    public static Mimi load(Path weights, MimiConfig config) {
        return load(weights, config, weights.toString());
    }

    /** The same, with {@code source} as what {@link #source()} (and the codes files' metadata) says the model is. */
    public static Mimi load(Path weights, MimiConfig config, String source) {
        requireVectorApi();
        if (!Files.exists(weights)) throw new CheckpointException(weights + ": no such file");
        try (Checkpoint ck = Checkpoint.open(weights)) {
            return new Mimi(ck, config, source);
        }
    }

    /**
     * The kernels use the incubating Vector API, which a JVM resolves only when asked (--add-modules); without it the
     * first kernel class would fail to link deep inside a load. Checked first, before any download.
     */
    private static void requireVectorApi() {
        try {
            Class.forName("jdk.incubator.vector.FloatVector", false, Mimi.class.getClassLoader());
        } catch (ClassNotFoundException e) {
            throw new MimiException("mimi4j needs the JDK's Vector API: start java with --add-modules jdk.incubator.vector");
        }
    }

    private static Path findWeights(Path dir) {
        Path m = dir.resolve("model.safetensors");
        if (Files.isRegularFile(m)) return m;
        List<Path> found = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, "*.safetensors")) {
            for (Path p : ds) found.add(p);
        } catch (IOException e) {
            throw new CheckpointException(dir + ": cannot list (" + e.getMessage() + ")");
        }
        if (found.size() == 1) return found.get(0);
        for (Path p : found) if (p.getFileName().toString().startsWith("tokenizer-")) return p;
        throw new CheckpointException(dir + ": " + (found.isEmpty() ? "no .safetensors weight file" : "several .safetensors files, name one") + " in the folder");
    }

    /**
     * Downloads (or finds in the Hugging Face cache) {@code model.safetensors} and {@code config.json} of a
     * transformers-layout repository such as {@code kyutai/mimi}, then loads it.
     */
    public static Mimi fromPretrained(String repoId) {
        return fromPretrained(HfHub.fromEnvironment(), repoId);
    }

    /**
     * A hub model named as the CLI's {@code --model} takes it: {@code org/name} (transformers layout with config.json)
     * or {@code org/name/path/file.safetensors} (one weight file, released configuration).
     */
    public static Mimi fromHub(String spec) {
        String[] parts = spec.split("/");
        if (parts.length == 2 && !spec.endsWith(".safetensors")) return fromPretrained(spec);
        if (parts.length >= 3 && spec.endsWith(".safetensors")) {
            return fromPretrained(parts[0] + "/" + parts[1], spec.substring(parts[0].length() + parts[1].length() + 2));
        }
        throw new CheckpointException(spec + ": not a Hugging Face repo id (org/name) or a repo file (org/name/file.safetensors)");
    }

    /** {@link #fromPretrained(String)} through a configured hub client (endpoint, token, cache, offline). */
    public static Mimi fromPretrained(HfHub hub, String repoId) {
        requireVectorApi();
        Path weights = hub.download(repoId, "model.safetensors");
        Path cfg = hub.download(repoId, "config.json");
        return load(weights, MimiConfig.fromJson(cfg), repoId);
    }

    /**
     * Downloads (or finds in the cache) one weight file of a repository, e.g. {@code kyutai/moshiko-pytorch-bf16} and
     * {@code tokenizer-e351c8d8-checkpoint125.safetensors}; the released configuration applies.
     */
    public static Mimi fromPretrained(String repoId, String filename) {
        return fromPretrained(HfHub.fromEnvironment(), repoId, filename);
    }

    public static Mimi fromPretrained(HfHub hub, String repoId, String filename) {
        requireVectorApi();
        Path weights = hub.download(repoId, filename);
        return load(weights, MimiConfig.released(), repoId + "/" + filename);
    }

    // ---------------------------------------------------------------- properties

    public MimiConfig config() {
        return config;
    }

    /** Where the weights came from (a path or a hub repository). */
    public String source() {
        return source;
    }

    /**
     * The weight file the model was read from (for a hub model, its copy in the Hugging Face cache). The model holds
     * its weights in memory: the file may have been removed since (as the CLI's {@code --model random} does).
     */
    public Path weightsFile() {
        return weightsFile;
    }

    public Checkpoint.Layout layout() {
        return layout;
    }

    /** Tensors of the checkpoint the model does not use (reported, not fatal). */
    public List<String> unusedTensors() {
        return unusedTensors;
    }

    /**
     * The warning on {@link #unusedTensors()}, one line naming the first five (as transformers warns: weights that the
     * config does not account for, e.g. attention biases, would otherwise be dropped silently); null when there are none.
     */
    public String unusedTensorsWarning() {
        int n = unusedTensors.size();
        if (n == 0) return null;
        return n + (n == 1 ? " tensor of the checkpoint is" : " tensors of the checkpoint are") + " not used by the model (is the config the checkpoint's own?): "
                + String.join(", ", unusedTensors.subList(0, Math.min(5, n))) + (n > 5 ? ", ..." : "");
    }

    public int sampleRate() {
        return config.samplingRate();
    }

    public double frameRate() {
        return config.frameRate();
    }

    /** Samples per code frame (1920). */
    public int frameSize() {
        return config.frameSize();
    }

    /**
     * The longest clip (8 s) worth reading whole to encode with others ({@link #encodeClips}), as the folder encoder and
     * the Spark job do: a short clip alone leaves the compute threads waiting at its small calls (16 clips of 3 s took
     * 0.85-0.93 s one by one against 0.65-0.73 s together, 16 of 10 s 2.28-2.44 s against 2.22-2.25 on the Zen 5
     * machine), and a batch holds every clip in memory.
     */
    public int shortClipSamples() {
        return 8 * sampleRate();
    }

    /** Codebooks in the checkpoint (32 for the released model). */
    public int totalCodebooks() {
        return quantizer.totalCodebooks();
    }

    /** Entries per codebook (2048). */
    public int cardinality() {
        return quantizer.cardinality();
    }

    // ---------------------------------------------------------------- offline API

    /** Codes of a batch and which frames are valid. */
    public record EncodeResult(int[][][] audioCodes, boolean[][] codesMask) {
    }

    /** Encodes one clip of 24 kHz mono audio (any length >= 1) to codes [K][ceil(N/1920)], moshi padding. */
    public int[][] encode(float[] audio, int numQuantizers) {
        return encode(audio, numQuantizers, Padding.MOSHI);
    }

    public int[][] encode(float[] audio, int numQuantizers, Padding padding) {
        if (audio == null) throw new InvalidInputException("audio is null");
        return encode(new float[][]{audio}, new int[]{audio.length}, numQuantizers, padding, null).audioCodes()[0];
    }

    /** A clip's codes [K][T], or (codes null) why the model refused it: what its encode alone throws. */
    public record ClipCodes(int[][] codes, InvalidInputException error) {
    }

    /** A clip's audio [T*1920], or (audio null) why the model refused its codes: what its decode alone throws. */
    public record ClipAudio(float[] audio, InvalidInputException error) {
    }

    /**
     * Encodes many clips, each to exactly the codes {@link #encode(float[], int, Padding)} gives it alone, and faster
     * than one by one when they are short (a short clip alone leaves the compute threads waiting at its small calls:
     * 16 clips of 3 s took 0.65-0.73 s together against 0.85-0.93 s one by one on the Zen 5 machine). With moshi
     * padding, clips of the same number of frames ({@link #sameFrames}) go through one batch, padded with zeros to
     * their whole frames as each is alone, up to {@code batch} at a time. A batch the model refuses (a NaN sample in
     * one clip) is redone clip by clip, so that each error is its own clip's. Transformers padding: clip by clip.
     * Results in the clips' order.
     */
    public List<ClipCodes> encodeClips(List<float[]> clips, int numQuantizers, Padding padding, int batch) {
        checkNumQuantizers(numQuantizers);
        int[] lengths = lengths(clips, batch);
        ClipCodes[] out = new ClipCodes[clips.size()];
        int fs = frameSize();
        int[] frames = new int[lengths.length];
        for (int i = 0; i < frames.length; i++) frames[i] = (lengths[i] + fs - 1) / fs;
        for (int[] g : sameFrames(frames, padding == Padding.MOSHI ? batch : 1)) {
            int[][][] codes = null;
            if (g.length > 1) {
                int n = lengths[g[g.length - 1]];
                float[][] x = new float[g.length][];
                int[] len = new int[g.length];
                for (int i = 0; i < g.length; i++) {
                    x[i] = java.util.Arrays.copyOf(clips.get(g[i]), n);
                    len[i] = lengths[g[i]];
                }
                try {
                    codes = encode(x, len, numQuantizers, Padding.MOSHI, null).audioCodes();
                } catch (InvalidInputException e) {
                    codes = null; // clip by clip below
                }
            }
            for (int i = 0; i < g.length; i++) {
                if (codes != null) {
                    int[][] c = new int[numQuantizers][];
                    for (int k = 0; k < numQuantizers; k++) c[k] = java.util.Arrays.copyOf(codes[i][k], frames[g[i]]);
                    out[g[i]] = new ClipCodes(c, null);
                    continue;
                }
                try {
                    out[g[i]] = new ClipCodes(encode(clips.get(g[i]), numQuantizers, padding), null);
                } catch (InvalidInputException e) {
                    out[g[i]] = new ClipCodes(null, e);
                }
            }
        }
        return java.util.Arrays.asList(out);
    }

    /**
     * Decodes many clips' codes [K][T], each to exactly the audio {@link #decode(int[][])} gives it alone (T*1920
     * samples), and faster than one by one when they are short (16 clips of 38 frames: 0.71-0.76 s together against
     * 0.97-1.04 s one by one on the Zen 5 machine): clips of the same codebook count and number of frames go through
     * one batch ({@link #sameFrames}), up to {@code batch} at a time. A clip whose codes its decode alone refuses (a
     * code out of range, rows of unequal length) gets that error, and the others their audio. Results in the clips'
     * order.
     */
    public List<ClipAudio> decodeClips(List<int[][]> codes, int batch) {
        if (batch < 1) throw new InvalidInputException("batch must be at least 1, got " + batch);
        ClipAudio[] out = new ClipAudio[codes.size()];
        List<Integer> valid = new ArrayList<>();
        for (int i = 0; i < out.length; i++) {
            int[][] c = codes.get(i);
            if (c == null) throw new InvalidInputException("clip " + i + " is null");
            try {
                checkCodes(new int[][][]{c}); // shape and range, as its decode alone checks them
                valid.add(i);
            } catch (InvalidInputException e) {
                out[i] = new ClipAudio(null, e);
            }
        }
        int[] books = valid.stream().mapToInt(i -> codes.get(i).length).toArray();
        for (int[] byBooks : sameKey(books)) { // clips of one codebook count can share a batch
            List<Integer> clips = java.util.Arrays.stream(byBooks).mapToObj(valid::get).toList();
            int[] frames = clips.stream().mapToInt(i -> codes.get(i)[0].length).toArray();
            for (int[] g : sameFrames(frames, batch)) {
                float[][][] audio = null;
                if (g.length > 1) {
                    int[][][] x = new int[g.length][][];
                    for (int i = 0; i < g.length; i++) x[i] = codes.get(clips.get(g[i]));
                    try {
                        audio = decode(x);
                    } catch (InvalidInputException e) {
                        audio = null; // clip by clip below
                    }
                }
                for (int i = 0; i < g.length; i++) {
                    int c = clips.get(g[i]);
                    if (audio != null) {
                        out[c] = new ClipAudio(audio[i][0], null);
                        continue;
                    }
                    try {
                        out[c] = new ClipAudio(decode(codes.get(c)), null);
                    } catch (InvalidInputException e) {
                        out[c] = new ClipAudio(null, e);
                    }
                }
            }
        }
        return java.util.Arrays.asList(out);
    }

    /** The clips' lengths; a null clip or a batch below 1 is an error. */
    private static int[] lengths(List<float[]> clips, int batch) {
        if (batch < 1) throw new InvalidInputException("batch must be at least 1, got " + batch);
        int[] n = new int[clips.size()];
        for (int i = 0; i < n.length; i++) {
            if (clips.get(i) == null) throw new InvalidInputException("clip " + i + " is null");
            n[i] = clips.get(i).length;
        }
        return n;
    }

    /**
     * Indexes of items in groups of up to {@code batch} with the same number of frames ({@link #sameKey}). Only equal
     * frame counts give each item of a padded batch the bits it gets alone: the Winograd layers compute triples of
     * columns, and past an item's end a batch's triple holds the next item-columns where the item alone has zeros,
     * which moves the last bits of its last frame when its frame count is not a multiple of 3.
     */
    private static List<int[]> sameFrames(int[] frames, int batch) {
        List<int[]> groups = new ArrayList<>();
        for (int[] g : sameKey(frames)) for (int i = 0; i < g.length; i += batch) groups.add(java.util.Arrays.copyOfRange(g, i, Math.min(g.length, i + batch)));
        return groups;
    }

    /**
     * Encodes audio pulled from a source, chunk by chunk, so memory does not grow with the length (the results are
     * those of offline encode). Returns codes [K][ceil(N/1920)].
     */
    public int[][] encode(SampleSource source, int numQuantizers, Padding padding) throws IOException {
        checkNumQuantizers(numQuantizers);
        Codes out = new Codes(numQuantizers);
        long n = encodeSources(new SampleSource[]{source}, numQuantizers, padding == Padding.TRANSFORMERS, new Codes[]{out}, null);
        if (n == 0) throw new InvalidInputException("audio has no samples");
        return out.toArray();
    }

    /**
     * Encodes a right-padded batch {@code audio[B][N]} whose item b has {@code lengths[b]} real samples
     * (transformers' padding_mask). Returns codes [B][K][ceil(N/1920)] and the mask of valid frames
     * (t < ceil(lengths[b]/1920)); valid frames equal encoding the item alone. With moshi padding the other frames
     * are the codes of the zero-padded input, as upstream's batched encode gives; with transformers padding each item
     * is encoded at its own length and later frames hold 0. (Bit for bit, with moshi padding: an item whose frame
     * count is not a multiple of 3 and is below the batch's can get other last bits in its last frame's latent than
     * alone, where the Winograd layers' triples of columns span its end, and an item of fewer than 47 frames in a batch
     * of 47 or more gets other last bits in every latent, as its 1024-channel conv runs as a TwoTap in the batch's long
     * call and directly in its own short one ({@link org.mimi4j.kernels.TwoTap#fromTriples}); a near-tie there could
     * pick another code. {@link #encodeClips} batches only clips of one frame count, which match alone exactly.)
     */
    public EncodeResult encode(float[][] audio, int[] lengths, int numQuantizers, Padding padding, Trace trace) {
        checkNumQuantizers(numQuantizers);
        int b = audio.length;
        if (b == 0) throw new InvalidInputException("empty batch");
        if (lengths == null || lengths.length != b) throw new InvalidInputException("lengths must give one length per batch item");
        int n = audio[0].length;
        if (n == 0) throw new InvalidInputException("audio has no samples");
        for (int i = 0; i < b; i++) {
            if (audio[i].length != n) throw new InvalidInputException("batch items must have the same (padded) length: item " + i + " has " + audio[i].length + ", item 0 has " + n);
            if (lengths[i] < 1 || lengths[i] > n) throw new InvalidInputException("length " + lengths[i] + " of item " + i + " is outside 1.." + n);
        }
        int fs = frameSize();
        int frames = (n + fs - 1) / fs;
        int[][][] codes = new int[b][][];
        boolean[][] mask = new boolean[b][frames];
        for (int i = 0; i < b; i++) for (int t = 0; t < (lengths[i] + fs - 1) / fs; t++) mask[i][t] = true;
        try {
            if (padding == Padding.MOSHI) {
                SampleSource[] src = new SampleSource[b];
                Codes[] out = new Codes[b];
                for (int i = 0; i < b; i++) {
                    src[i] = SampleSource.of(audio[i]);
                    out[i] = new Codes(numQuantizers);
                }
                encodeSources(src, numQuantizers, false, out, trace);
                for (int i = 0; i < b; i++) codes[i] = out[i].toArray();
            } else {
                for (int i = 0; i < b; i++) {
                    int item = i;
                    Codes out = new Codes(numQuantizers);
                    encodeSources(new SampleSource[]{SampleSource.of(java.util.Arrays.copyOf(audio[i], lengths[i]))}, numQuantizers, true,
                            new Codes[]{out}, trace == null ? null : (name, ignored, off, data, ch, st) -> trace.record(name, item, off, data, ch, st));
                    int[][] c = out.toArray();
                    codes[i] = new int[numQuantizers][frames];
                    for (int k = 0; k < numQuantizers; k++) System.arraycopy(c[k], 0, codes[i][k], 0, c[k].length);
                }
            }
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e); // array sources do not throw
        }
        return new EncodeResult(codes, mask);
    }

    /**
     * transformers' {@code encode(input_values, padding_mask, num_quantizers)}: {@code paddingMask[b][i]} is 1 for
     * real samples and 0 for right padding (null: all real).
     */
    public EncodeResult encode(float[][] inputValues, int[][] paddingMask, int numQuantizers) {
        int[] lengths = new int[inputValues.length];
        for (int b = 0; b < lengths.length; b++) {
            if (paddingMask == null) {
                lengths[b] = inputValues[b].length;
                continue;
            }
            if (paddingMask.length != inputValues.length || paddingMask[b].length != inputValues[b].length) {
                throw new InvalidInputException("padding_mask must have the shape of input_values");
            }
            for (int i = 0; i < paddingMask[b].length; i++) if (paddingMask[b][i] != 0) lengths[b] = i + 1;
        }
        return encode(inputValues, lengths, numQuantizers, Padding.MOSHI, null);
    }

    /** Codes and reconstruction of one clip, as transformers' {@code forward}. */
    public record ForwardResult(int[][] audioCodes, float[] audioValues) {
    }

    /** Encode then decode, the audio trimmed to the input length (transformers' {@code MimiModel.forward}). */
    public ForwardResult forward(float[] audio, int numQuantizers) {
        int[][] codes = encode(audio, numQuantizers);
        return new ForwardResult(codes, java.util.Arrays.copyOf(decode(codes), audio.length));
    }

    /** Growable codes [K][T]. */
    private static final class Codes {
        int[][] c;
        int t;

        Codes(int k) {
            c = new int[k][64];
        }

        void append(int[][] f, int frames) {
            if (t + frames > c[0].length) for (int k = 0; k < c.length; k++) c[k] = java.util.Arrays.copyOf(c[k], Math.max(2 * c[k].length, t + frames));
            for (int k = 0; k < c.length; k++) System.arraycopy(f[k], 0, c[k], t, frames);
            t += frames;
        }

        int[][] toArray() {
            int[][] out = new int[c.length][];
            for (int k = 0; k < c.length; k++) out[k] = java.util.Arrays.copyOf(c[k], t);
            return out;
        }
    }

    /**
     * Offline encode of streams of equal length in chunks through offline-exact states; returns the samples read.
     * moshi padding zero-pads the end to a whole frame; transformers padding pads inside the strided convs.
     *
     * <p>Chunk c + 1's high-rate SEANet parts (which need only its audio and the high-rate layers' states where
     * chunk c's parts ended) run beside the rest of chunk c (its low-rate layers, transformer, downsampling and
     * quantizer) as the tasks of one parallel call: a thread with the rest runs its layers' calls on its own while the
     * other runs parts, and whichever is done first helps the other. The caller's serial work between calls and the
     * threads' waits at the joins of the layers' calls were ~2.5% of an encode's CPU time (2026-12-06, Zen 5); a 60 s
     * encode takes 0.955-0.972x the time (`AbBench encode`, both orders). Not with a trace, whose outputs come in order.
     */
    private long encodeSources(SampleSource[] src, int nq, boolean transformersPadding, Codes[] out, Trace trace) throws IOException {
        int n = src.length, fs = frameSize();
        int chunk = chunkFrames(n) * fs;
        EncoderState[] st = new EncoderState[n];
        int[] items = new int[n];
        for (int i = 0; i < n; i++) {
            st[i] = newEncoderState(Transformer.CacheMode.OFFLINE_EXACT);
            items[i] = i;
        }
        float[][][] x = {new float[n][chunk], new float[n][chunk]}; // chunk c's, read while chunk c - 1's runs
        Pending pending = new Pending(nq, out);
        long read = 0;
        Chunk c = Chunk.read(src, x[0], read, fs, chunk, transformersPadding);
        if (c == null) return 0;
        EncoderCall call = new EncoderCall(c.x, c.samples, st, c.padEnd);
        call.runParts(null);
        for (int k = 1; ; k++) {
            read += c.len;
            Chunk next = c.len < chunk ? null : Chunk.read(src, x[k % 2], read, fs, chunk, transformersPadding);
            EncoderCall now = call, following = next == null ? null : new EncoderCall(next.x, next.samples, st, next.padEnd);
            long at = read - c.len;
            Runnable rest = () -> pending.add(latent(now, st, trace, items), (now.samples + fs - 1) / fs, at);
            if (following == null) {
                rest.run();
                break;
            }
            if (trace != null) { // in order
                rest.run();
                following.runParts(null);
            } else {
                following.runParts(rest);
            }
            c = next;
            call = following;
        }
        pending.flush();
        return read;
    }

    /**
     * One chunk of an offline encode's sources: {@code len} samples read into x (of equal lengths across the batch),
     * the call's {@code samples} (moshi padding: zero-padded to a whole frame), or null when the sources are done.
     */
    private record Chunk(float[][] x, int len, int samples, boolean padEnd) {
        static Chunk read(SampleSource[] src, float[][] buf, long offset, int fs, int chunk, boolean transformersPadding) throws IOException {
            int n = src.length, len = 0;
            for (int i = 0; i < n; i++) {
                java.util.Arrays.fill(buf[i], 0f);
                int got = fill(src[i], buf[i], offset);
                if (i == 0) len = got;
                else if (got != len) throw new InvalidInputException("batch sources must have the same length");
            }
            if (len == 0) return null;
            int samples = transformersPadding ? len : (len + fs - 1) / fs * fs; // moshi: zero-pad to a whole frame
            float[][] xs = buf;
            if (samples < chunk) {
                xs = new float[n][];
                for (int i = 0; i < n; i++) xs[i] = java.util.Arrays.copyOf(buf[i], samples);
            }
            return new Chunk(xs, len, samples, samples % fs != 0);
        }
    }

    /** An offline encode's chunks' latents not yet quantized, quantized two chunks at a time ({@link #QUANTIZE_FRAMES}). */
    private final class Pending {
        final int nq;
        final Codes[] out;
        final List<float[][]> latents = new ArrayList<>(); // [n][D x f] each
        final List<Integer> frames = new ArrayList<>();
        int count; // their frames, summed over the batch

        Pending(int nq, Codes[] out) {
            this.nq = nq;
            this.out = out;
        }

        /** A chunk's latents [n][D x f] (its audio from sample {@code at}), checked; quantizes when enough are held. */
        void add(float[][] emb, int f, long at) {
            for (float[] e : emb) checkLatent(e, at);
            latents.add(emb);
            frames.add(f);
            count += emb.length * f;
            if (count >= QUANTIZE_FRAMES) flush();
        }

        void flush() {
            if (count > 0) quantizeChunks(latents, frames, nq, out);
            count = 0;
        }
    }

    /**
     * Quantizes chunks' latents (chunk j: [n][D x f_j]) in one call, the batch's items and each item's chunks side by
     * side, appends each item's codes in order, and empties both lists.
     */
    private void quantizeChunks(List<float[][]> latents, List<Integer> frames, int nq, Codes[] out) {
        int n = out.length, t = 0;
        for (int f : frames) t += f;
        List<float[]> parts = new ArrayList<>(); // item i's frames at i * t, its chunks in order
        List<Integer> partFrames = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < latents.size(); j++) {
                parts.add(latents.get(j)[i]);
                partFrames.add(frames.get(j));
            }
        }
        int[][] codes = quantizer.encode(alongTime(parts, partFrames), n * t, nq);
        for (int i = 0; i < n; i++) out[i].append(itemCodes(codes, i, n, t), t);
        latents.clear();
        frames.clear();
    }

    /** Item i's codes [K][t] of codes [K][n*t] of n items side by side (a lone item's as they are: a stream's step). */
    private static int[][] itemCodes(int[][] codes, int i, int n, int t) {
        if (n == 1) return codes;
        int[][] item = new int[codes.length][];
        for (int k = 0; k < codes.length; k++) item[k] = java.util.Arrays.copyOfRange(codes[k], i * t, (i + 1) * t);
        return item;
    }

    /** Latents [D][f_j] one after the other along time, [D][sum of f_j] (a single part as it is). */
    private float[] alongTime(List<float[]> parts, List<Integer> frames) {
        if (parts.size() == 1) return parts.get(0);
        int d = config.hiddenSize(), t = 0;
        for (int f : frames) t += f;
        float[] all = new float[d * t];
        for (int c = 0; c < d; c++) {
            for (int j = 0, o = c * t; j < parts.size(); j++) {
                int f = frames.get(j);
                System.arraycopy(parts.get(j), c * f, all, o, f);
                o += f;
            }
        }
        return all;
    }

    /**
     * Finite audio can still overflow inside the model (samples of 1e19, or a checkpoint with a NaN weight); the
     * codebook search would then give codes that mean nothing, so this is an error rather than a silent answer.
     */
    private static void checkLatent(float[] latent, long offset) {
        for (float v : latent) {
            if (!Float.isFinite(v)) {
                throw new InvalidInputException("the encoder's output is not finite for the audio from sample " + offset
                        + " on: its amplitude is far outside [-1, 1], or the checkpoint holds non-finite weights");
            }
        }
    }

    /** Valid codes decode to finite audio unless the checkpoint holds non-finite weights: then an error, not NaN audio. */
    private static void checkDecoded(float[] audio, int from, int to) {
        for (int i = from; i < to; i++) {
            if (!Float.isFinite(audio[i])) throw new InvalidInputException("the decoder's output is not finite: the checkpoint holds non-finite weights");
        }
    }

    /** Reads until buf is full or the source ends; checks the samples are finite. */
    private static int fill(SampleSource s, float[] buf, long offset) throws IOException {
        int got = 0;
        while (got < buf.length) {
            int r = s.read(buf, got, buf.length - got);
            if (r < 0) break;
            got += r;
        }
        for (int i = 0; i < got; i++) {
            if (!Float.isFinite(buf[i])) throw new InvalidInputException("audio has a non-finite sample (" + buf[i] + ") at index " + (offset + i));
        }
        return got;
    }

    /**
     * The latent right before quantization (moshi {@code _encode_to_unquantized_latent}) of one clip, [D][T],
     * moshi padding.
     */
    public float[][] encodeToLatent(float[] audio) {
        checkFinite(audio, 0);
        if (audio.length == 0) throw new InvalidInputException("audio has no samples");
        int fs = frameSize();
        int frames = (audio.length + fs - 1) / fs;
        float[] x = java.util.Arrays.copyOf(audio, frames * fs);
        float[] emb = encodeToLatent(new float[][]{x}, x.length, new EncoderState[]{newEncoderState(Transformer.CacheMode.OFFLINE_EXACT)}, false, null, new int[]{0})[0];
        return toRows(emb, config.hiddenSize(), frames);
    }

    /** Decodes codes [K][T] of one clip to audio [T*1920]. */
    public float[] decode(int[][] codes) {
        return decode(new int[][][]{codes}, null)[0][0];
    }

    /** Decodes a batch of codes [B][K][T] to audio [B][1][T*1920] (not truncated, as upstream). */
    public float[][][] decode(int[][][] codes) {
        return decode(codes, null);
    }

    /** Decodes codes [K][T] chunk by chunk into a sink (T*1920 samples in all), in bounded memory. */
    public void decode(int[][] codes, SampleSink sink) throws IOException {
        int[][][] batch = {codes};
        int t = checkCodes(batch);
        decodeChunks(batch, t, null, null, (f0, f, rows) -> {
            checkDecoded(rows[0], 0, rows[0].length);
            sink.write(rows[0], 0, rows[0].length);
        });
    }

    public float[][][] decode(int[][][] codes, Trace trace) {
        int b = codes.length;
        if (b == 0) throw new InvalidInputException("empty batch of codes");
        int t = checkCodes(codes);
        int fs = frameSize();
        float[][][] out = new float[b][1][t * fs];
        float[][] rows = new float[b][];
        for (int i = 0; i < b; i++) rows[i] = out[i][0];
        decodeChunks(codes, t, trace, rows, (f0, f, r) -> {
            for (float[] row : r) checkDecoded(row, f0 * fs, (f0 + f) * fs);
        });
        return out;
    }

    /** What a chunked decode does with a chunk's audio once it is complete: the chunk's f frames from frame f0, its rows. */
    private interface ChunkDone<E extends Exception> {
        void accept(int f0, int f, float[][] rows) throws E;
    }

    /**
     * An offline decode of codes [B][K][t] through offline-exact states, in chunks of {@link #chunkFrames} frames:
     * chunk c's audio goes to {@code rows} (the items' rows, at offset f0 x 1920; null: new rows per chunk, from 0),
     * then to {@code done}.
     *
     * <p>As an offline encode's chunks ({@link #encodeSources}), mirrored: chunk c + 1's layers up to the SEANet's
     * high-rate ones (codebook sums, upsampling, transformer, low-rate layers: they need only its codes and the states
     * where chunk c's ended) run beside chunk c's high-rate parts, as the tasks of one parallel call: a 60 s decode
     * takes 0.94-0.97x the time (`AbBench decode`, both orders, 2026-12-06, Zen 5; nothing before the one-thread
     * products read their weights once per call, see {@code Gemm}). Not with a trace, whose outputs come in order.
     */
    private <E extends Exception> void decodeChunks(int[][][] codes, int t, Trace trace, float[][] rows, ChunkDone<E> done) throws E {
        int b = codes.length, fs = frameSize(), chunk = chunkFrames(b);
        DecoderState[] st = new DecoderState[b];
        int[] items = new int[b];
        for (int i = 0; i < b; i++) {
            st[i] = newDecoderState(Transformer.CacheMode.OFFLINE_EXACT);
            items[i] = i;
        }
        java.util.function.IntFunction<DecoderCall> front = f0 -> {
            int f = Math.min(chunk, t - f0);
            int[][][] part = new int[b][][];
            for (int i = 0; i < b; i++) {
                part[i] = new int[codes[i].length][];
                for (int k = 0; k < codes[i].length; k++) part[i][k] = java.util.Arrays.copyOfRange(codes[i][k], f0, f0 + f);
            }
            DecoderCall c = rows != null ? decodeFront(part, f, st, trace, items, rows, f0 * fs)
                    : decodeFront(part, f, st, trace, items, new float[b][f * fs], 0);
            c.keepMid();
            return c;
        };
        DecoderCall call = front.apply(0);
        for (int f0 = 0; f0 < t; f0 += chunk) {
            int f1 = f0 + chunk;
            DecoderCall now = call;
            if (f1 >= t || trace != null) {
                now.runParts(null);
                call = f1 < t ? front.apply(f1) : null;
            } else {
                DecoderCall[] following = new DecoderCall[1];
                now.runParts(() -> following[0] = front.apply(f1));
                call = following[0];
            }
            done.accept(f0, Math.min(chunk, t - f0), now.out);
        }
    }

    /** The quantized latent (moshi {@code decode_latent}): codes [K][T] to [D][T]. */
    public float[][] decodeLatent(int[][] codes) {
        int t = checkCodes(new int[][][]{codes});
        return toRows(quantizer.decode(codes, t), config.hiddenSize(), t);
    }

    // ---------------------------------------------------------------- streams (org.mimi4j.stream)

    /** An encoder stream with upstream streaming semantics ({@link StreamMode#UPSTREAM}). */
    public MimiEncoderStream encoderStream(int numQuantizers) {
        return new MimiEncoderStream(this, numQuantizers, StreamMode.UPSTREAM);
    }

    public MimiEncoderStream encoderStream(int numQuantizers, StreamMode mode) {
        return new MimiEncoderStream(this, numQuantizers, mode);
    }

    /** A decoder stream with upstream streaming semantics ({@link StreamMode#UPSTREAM}). */
    public MimiDecoderStream decoderStream() {
        return new MimiDecoderStream(this, StreamMode.UPSTREAM);
    }

    public MimiDecoderStream decoderStream(StreamMode mode) {
        return new MimiDecoderStream(this, mode);
    }

    /** A batch of up to {@code capacity} encoder streams stepped together, upstream semantics. */
    public EncoderBatch encoderBatch(int capacity, int numQuantizers) {
        return new EncoderBatch(this, capacity, numQuantizers, StreamMode.UPSTREAM);
    }

    public EncoderBatch encoderBatch(int capacity, int numQuantizers, StreamMode mode) {
        return new EncoderBatch(this, capacity, numQuantizers, mode);
    }

    /** A batch of up to {@code capacity} decoder streams stepped together, upstream semantics. */
    public DecoderBatch decoderBatch(int capacity) {
        return new DecoderBatch(this, capacity, StreamMode.UPSTREAM);
    }

    public DecoderBatch decoderBatch(int capacity, StreamMode mode) {
        return new DecoderBatch(this, capacity, mode);
    }

    // ---------------------------------------------------------------- streaming building blocks

    /** Everything one encoder stream carries between calls. */
    public static final class EncoderState {
        final SeanetEncoder.State seanet;
        final Transformer.State transformer;
        final StreamingConv1d.State downsample;

        EncoderState(SeanetEncoder.State seanet, Transformer.State transformer, StreamingConv1d.State downsample) {
            this.seanet = seanet;
            this.transformer = transformer;
            this.downsample = downsample;
        }

        public EncoderState copy() {
            return new EncoderState(seanet.copy(), transformer.copy(), StreamingConv1d.copy(downsample));
        }

        /** 25 Hz steps seen so far. */
        public long steps() {
            return transformer.offset();
        }

        /** Bytes of state carried between calls (conv tails, key/value rings); constant over a stream's life. */
        public long bytes() {
            return seanet.bytes() + transformer.bytes() + downsample.bytes();
        }
    }

    /** Everything one decoder stream carries between calls. */
    public static final class DecoderState {
        final StreamingConvTranspose1d.State upsample;
        final Transformer.State transformer;
        final SeanetDecoder.State seanet;

        DecoderState(StreamingConvTranspose1d.State upsample, Transformer.State transformer, SeanetDecoder.State seanet) {
            this.upsample = upsample;
            this.transformer = transformer;
            this.seanet = seanet;
        }

        public DecoderState copy() {
            return new DecoderState(StreamingConvTranspose1d.copy(upsample), transformer.copy(), seanet.copy());
        }

        public long steps() {
            return transformer.offset();
        }

        /** Bytes of state carried between calls (conv tails, key/value rings); constant over a stream's life. */
        public long bytes() {
            return upsample.bytes() + transformer.bytes() + seanet.bytes();
        }
    }

    /** A fresh encoder stream state; {@code mode} picks upstream-streaming or offline-exact transformer caching. */
    public EncoderState newEncoderState(Transformer.CacheMode mode) {
        return new EncoderState(encoder.newState(), encoderTransformer.newState(mode, config.downsampleStride()), downsample.newState());
    }

    public DecoderState newDecoderState(Transformer.CacheMode mode) {
        return new DecoderState(upsample.newState(), decoderTransformer.newState(mode, config.downsampleStride()), decoder.newState());
    }

    /**
     * Audio to latent for a batch of streams: x[b] holds {@code samples} new samples (a multiple of the frame size,
     * unless {@code padEnd}: the final call in transformers padding). Returns [D][frames] per stream.
     */
    public float[][] encodeToLatent(float[][] x, int samples, EncoderState[] st, boolean padEnd, Trace trace, int[] items) {
        EncoderCall call = new EncoderCall(x, samples, st, padEnd);
        call.runParts(null);
        return latent(call, st, trace, items);
    }

    /** The rest of {@link #encodeToLatent} once the call's high-rate parts have run: the latents [D][frames]. */
    private float[][] latent(EncoderCall call, EncoderState[] st, Trace trace, int[] items) {
        int n = st.length;
        Transformer.State[] ts = new Transformer.State[n];
        StreamingConv1d.State[] ds = new StreamingConv1d.State[n];
        for (int i = 0; i < n; i++) {
            ts[i] = st[i].transformer;
            ds[i] = st[i].downsample;
        }
        boolean padEnd = call.padEnd;
        long[] offset = offsets(ts);
        int[] steps = new int[1];
        int d = config.hiddenSize();
        long t0 = Profiler.begin();
        float[][] h = call.lowRate(steps);
        int s = steps[0];
        Profiler.end(Profiler.Stage.CONV, t0, n * encoder.flops(call.samples));
        emit(trace, "seanet_out", items, offset, h, d, s);
        h = encoderTransformer.forward(h, s, ts);
        emit(trace, "enc_transformer_out", items, offset, h, d, s);
        t0 = Profiler.begin();
        h = downsample.forward(h, s, ds, padEnd);
        Profiler.end(Profiler.Stage.CONV, t0, n * downsample.flops(s));
        int frames = (s + config.downsampleStride() - 1) / config.downsampleStride();
        emit(trace, "emb", items, divide(offset, config.downsampleStride()), h, d, frames);
        return copies(h); // the layers' outputs belong to their states
    }

    /** Quantizes latents [D][t] of a batch to codes [nq][t]. */
    public int[][][] quantize(float[][] emb, int t, int numQuantizers) {
        int[] nq = new int[emb.length];
        java.util.Arrays.fill(nq, numQuantizers);
        return quantize(emb, t, nq);
    }

    /**
     * Quantizes latents [D][t] of a batch, stream i to codes [numQuantizers[i]][t]. Streams with the same count go
     * side by side through one quantizer call, so each codebook is read once for all of them (every step is
     * quantized on its own, so this equals quantizing each stream alone).
     */
    public int[][][] quantize(float[][] emb, int t, int[] numQuantizers) {
        if (numQuantizers.length != emb.length) {
            throw new InvalidInputException(numQuantizers.length + " codebook counts for " + emb.length + " streams");
        }
        for (int k : numQuantizers) checkNumQuantizers(k);
        int[][][] out = new int[emb.length][][];
        for (int[] g : sameKey(numQuantizers)) {
            int m = g.length, k = numQuantizers[g[0]];
            List<float[]> parts = new ArrayList<>();
            for (int i : g) parts.add(emb[i]);
            int[][] codes = quantizer.encode(alongTime(parts, java.util.Collections.nCopies(m, t)), m * t, k);
            for (int i = 0; i < m; i++) out[g[i]] = itemCodes(codes, i, m, t);
        }
        return out;
    }

    /** Codes [K][f] of each stream to latents [D][f]: streams with the same K side by side, as {@link #quantize}. */
    private float[][] dequantize(int[][][] codes, int f) {
        int d = config.hiddenSize();
        int[] counts = new int[codes.length];
        for (int i = 0; i < codes.length; i++) counts[i] = codes[i].length;
        float[][] h = new float[codes.length][];
        for (int[] g : sameKey(counts)) {
            int m = g.length, k = counts[g[0]];
            if (m == 1) {
                h[g[0]] = quantizer.decode(codes[g[0]], f);
                continue;
            }
            int[][] all = new int[k][m * f];
            for (int i = 0; i < m; i++) for (int j = 0; j < k; j++) System.arraycopy(codes[g[i]][j], 0, all[j], i * f, f);
            float[] y = quantizer.decode(all, m * f);
            for (int i = 0; i < m; i++) {
                float[] hi = h[g[i]] = new float[d * f];
                for (int c = 0; c < d; c++) System.arraycopy(y, (c * m + i) * f, hi, c * f, f);
            }
        }
        return h;
    }

    /** The indices of key grouped by equal value, groups in order of first appearance. */
    private static int[][] sameKey(int[] key) {
        java.util.Map<Integer, java.util.List<Integer>> groups = new java.util.LinkedHashMap<>();
        for (int i = 0; i < key.length; i++) groups.computeIfAbsent(key[i], k -> new java.util.ArrayList<>()).add(i);
        return groups.values().stream().map(l -> l.stream().mapToInt(Integer::intValue).toArray()).toArray(int[][]::new);
    }

    /** Codes [K][f] of a batch of streams to audio [f*1920] per stream. Codes must be valid (see checkCodes). */
    public float[][] decodeStep(int[][][] codes, int f, DecoderState[] st, Trace trace, int[] items) {
        float[][] out = new float[codes.length][f * frameSize()];
        decodeStep(codes, f, st, trace, items, out, 0);
        return out;
    }

    /**
     * As {@link #decodeStep(int[][][], int, DecoderState[], Trace, int[])}, stream b's f*1920 samples written to
     * {@code out[b][outOff ..]} instead of new arrays.
     */
    public void decodeStep(int[][][] codes, int f, DecoderState[] st, Trace trace, int[] items, float[][] out, int outOff) {
        decodeFront(codes, f, st, trace, items, out, outOff).runParts(null);
    }

    /** {@link #decodeStep} up to its SEANet's high-rate layers: the call whose parts are left to run. */
    private DecoderCall decodeFront(int[][][] codes, int f, DecoderState[] st, Trace trace, int[] items, float[][] out, int outOff) {
        int n = codes.length, d = config.hiddenSize();
        for (int b = 0; b < n; b++) {
            if (outOff < 0 || out[b].length - outOff < f * frameSize()) {
                throw new IndexOutOfBoundsException(f * frameSize() + " samples at offset " + outOff + " do not fit an array of " + out[b].length);
            }
        }
        float[][] h = dequantize(codes, f);
        StreamingConvTranspose1d.State[] us = new StreamingConvTranspose1d.State[n];
        Transformer.State[] ts = new Transformer.State[n];
        SeanetDecoder.State[] ss = new SeanetDecoder.State[n];
        for (int i = 0; i < n; i++) {
            us[i] = st[i].upsample;
            ts[i] = st[i].transformer;
            ss[i] = st[i].seanet;
        }
        long[] offset = offsets(ts);
        emit(trace, "latent", items, divide(offset, config.downsampleStride()), h, d, f);
        long t0 = Profiler.begin();
        h = upsample.forward(h, f, us);
        Profiler.end(Profiler.Stage.CONV_TRANSPOSE, t0, n * upsample.flops(f));
        int s = f * config.downsampleStride();
        emit(trace, "dec_upsampled", items, offset, h, d, s);
        h = decoderTransformer.forward(h, s, ts);
        emit(trace, "dec_transformer_out", items, offset, h, d, s);
        DecoderCall call = new DecoderCall(h, s, ss, out, outOff);
        call.lowRate();
        return call;
    }

    /**
     * One offline call of the SEANet encoder, in two halves: its high-rate layers (below {@link
     * SeanetEncoder#lowRateStart}) over consecutive slices of at most {@link #SEANET_SAMPLES} samples (multiples of
     * the hop) so that their activations stay in cache, as {@link #timeParts} tasks per item ({@link #part}, any
     * thread, any order), then ({@link #lowRate}) its low-rate layers (few steps, large weights) over the whole call
     * so that each weight is read once for many steps. The conv states make this identical to one call. A call of one
     * slice has no parts: {@link #lowRate} runs all the layers.
     */
    private final class EncoderCall {
        final float[][] x;
        final int samples, items;
        final boolean padEnd;
        final SeanetEncoder.State[] ss;
        final int split = encoder.lowRateStart(), hop = config.hopLength(), rate = encoder.strideBefore(split);
        final int unit = 3 * rate / gcd(hop, 3 * rate); // hops per cut and slice: whole TwoTap triples (see warm)
        final int slice = Math.max(unit, SEANET_SAMPLES / hop / unit * unit) * hop;
        // a part after the first starts `warm` samples early (from a new or a spare state): the layers' receptive
        // field, in whole triples of steps of their output, so that every part, slice and cut starts the layers'
        // TwoTap triples where the sequential call does
        final int warm = (encoder.receptiveField(split) + 3 * rate - 1) / (3 * rate) * (3 * rate);
        final int parts, total, ch;
        final boolean whole, oneSlice;
        final float[][] mid;
        final SeanetEncoder.State[] last;
        final java.util.Queue<SeanetEncoder.State> spare = new java.util.concurrent.ConcurrentLinkedQueue<>(); // see spareState

        EncoderCall(float[][] x, int samples, EncoderState[] st, boolean padEnd) {
            this.x = x;
            this.samples = samples;
            this.padEnd = padEnd;
            items = x.length;
            ss = new SeanetEncoder.State[items];
            for (int i = 0; i < items; i++) ss[i] = st[i].seanet;
            // one slice: one call, unless a batch has an item for every thread (then a task per item, below)
            whole = samples <= slice && (items == 1 || items < Parallel.threads());
            ch = encoder.channelsIn(split);
            total = padEnd ? (samples + rate - 1) / rate : samples / rate;
            parts = whole ? 0 : timeParts(items, samples / hop, warm / hop + 1);
            oneSlice = parts == 1 && samples <= slice; // a batch of streams' step: each item's output is its row of mid
            mid = new float[items][];
            if (!whole && !oneSlice) for (int b = 0; b < items; b++) mid[b] = new float[ch * total];
            last = new SeanetEncoder.State[items];
        }

        /** The high-rate layers over part p of item b's samples, into its columns of mid (profiled as convs). */
        void part(int b, int p) {
            long t0 = Profiler.begin();
            highRate(b, p);
            Profiler.end(Profiler.Stage.CONV, t0, 0);
        }

        private void highRate(int b, int p) {
            int from = cut(samples / hop, p, parts, unit) * hop, to = p == parts - 1 ? samples : cut(samples / hop, p + 1, parts, unit) * hop;
            SeanetEncoder.State st = p == 0 ? ss[b] : spareState(spare, encoder::newState);
            if (p == parts - 1) last[b] = st;
            int start = p == 0 ? 0 : from - warm;
            int[] out = new int[1];
            SeanetEncoder.State[] sts = {st};
            if (oneSlice) {
                mid[b] = encoder.forward(new float[][]{x[b]}, samples, sts, padEnd, out, 0, split)[0];
                return;
            }
            for (int pos = start, col = start / rate, skip = (from - start) / rate; pos < to; pos += slice) {
                int len = Math.min(slice, to - pos);
                float[] h = encoder.forward(new float[][]{java.util.Arrays.copyOfRange(x[b], pos, pos + len)}, len, sts,
                        padEnd && pos + len == samples, out, 0, split)[0];
                int s0 = Math.min(skip, out[0]); // the warm-up's outputs are dropped
                for (int c = 0; c < ch; c++) System.arraycopy(h, c * out[0] + s0, mid[b], c * total + col + s0, out[0] - s0);
                col += out[0];
                skip -= s0;
            }
            if (p > 0 && p < parts - 1) spare.add(st);
        }

        /** Every part on the compute threads (beside {@code other}, when not null), then {@link #partsDone}. */
        void runParts(Runnable other) {
            eachPart(other, items, parts, this::part);
            partsDone();
        }

        /**
         * Once every part has run: the high-rate layers' states where the call ended, as the next call's first parts
         * start from them.
         */
        void partsDone() {
            for (int b = 0; b < items; b++) if (last[b] != null && last[b] != ss[b]) encoder.adopt(last[b], ss[b], split);
        }

        /** After {@link #partsDone}: the low-rate layers over the whole call; the SEANet's output [C][steps] per item. */
        float[][] lowRate(int[] steps) {
            if (whole) return encoder.forward(x, samples, ss, padEnd, steps);
            return encoder.forward(mid, total, ss, padEnd, steps, split, encoder.layers());
        }
    }

    /**
     * One offline call of the SEANet decoder, the encoder's mirrored ({@link EncoderCall}): its low-rate layers (up
     * to {@link SeanetDecoder#highRateStart}) over the whole call ({@link #lowRate}), then the high-rate layers over
     * slices of at most {@link #SEANET_SAMPLES} output samples, in {@link #timeParts} tasks per item ({@link #part}),
     * into out[b][outOff ..]. A call of one slice runs all its layers in {@link #lowRate} and has no parts.
     */
    private final class DecoderCall {
        final float[][] h, out;
        final int s, outOff, items;
        final SeanetDecoder.State[] ss;
        final int hop = config.hopLength(), split = decoder.highRateStart(), up = decoder.upsampleBefore(split);
        final int unit = 3 / gcd(up, 3); // steps per cut and slice: whole TwoTap triples (see warm)
        final int slice = Math.max(unit, SEANET_SAMPLES / hop / unit * unit);
        final int ch = decoder.channelsIn(split), total, sliceSteps, rest = hop / up;
        final int warm = (decoder.receptiveField(split) + 2) / 3 * 3; // in steps of mid, as the encoder's (whole TwoTap triples)
        final boolean whole, oneSlice;
        final int parts;
        final SeanetDecoder.State[] last;
        final java.util.Queue<SeanetDecoder.State> spare = new java.util.concurrent.ConcurrentLinkedQueue<>(); // see spareState
        float[][] mid;

        DecoderCall(float[][] h, int s, SeanetDecoder.State[] ss, float[][] out, int outOff) {
            this.h = h;
            this.s = s;
            this.ss = ss;
            this.out = out;
            this.outOff = outOff;
            items = h.length;
            whole = s <= slice && (items == 1 || items < Parallel.threads()); // one slice: one call, as the encoder's
            total = s * up;
            sliceSteps = slice * up;
            parts = whole ? 0 : timeParts(items, s, (warm + up - 1) / up + 1);
            oneSlice = parts == 1 && total <= sliceSteps; // a batch of streams' step: the layers read mid's rows
            last = new SeanetDecoder.State[items];
        }

        /** The low-rate layers over the whole call (all the layers, into out, for a call of one slice). */
        void lowRate() {
            if (!whole) {
                mid = decoder.forward(h, s, ss, 0, split);
                return;
            }
            float[][] y = decoder.forward(h, s, ss); // the layers' outputs belong to their states
            for (int b = 0; b < items; b++) System.arraycopy(y[b], 0, out[b], outOff, s * hop);
        }

        /**
         * After {@link #lowRate}: mid stays as it is while the next call's low-rate layers run (they write their other
         * output array), so that this call's parts can read it meanwhile.
         */
        void keepMid() {
            if (whole) return;
            if (split > 0) decoder.flipOutput(ss, split - 1);
            else mid = copies(mid); // mid is the input, which a caller may reuse
        }

        /** The high-rate layers over part p of item b's steps, into its samples of out. */
        void part(int b, int p) {
            int from = cut(s, p, parts, unit) * up, to = cut(s, p + 1, parts, unit) * up;
            SeanetDecoder.State st = p == 0 ? ss[b] : spareState(spare, decoder::newState);
            if (p == parts - 1) last[b] = st;
            int start = p == 0 ? 0 : from - warm;
            SeanetDecoder.State[] sts = {st};
            if (oneSlice) {
                System.arraycopy(decoder.forward(new float[][]{mid[b]}, total, sts, split, decoder.layers())[0], 0, out[b], outOff, s * hop);
                return;
            }
            float[][] hs = new float[1][];
            for (int pos = start; pos < to; pos += sliceSteps) {
                int len = Math.min(sliceSteps, to - pos), skip = Math.max(0, from - pos) * rest; // the warm-up's samples are dropped
                if (hs[0] == null || hs[0].length != ch * len) hs[0] = new float[ch * len]; // read, not kept, by the layers
                for (int c = 0; c < ch; c++) System.arraycopy(mid[b], c * total + pos, hs[0], c * len, len);
                float[] y = decoder.forward(hs, len, sts, split, decoder.layers())[0];
                if (skip < len * rest) System.arraycopy(y, skip, out[b], outOff + pos * rest + skip, len * rest - skip);
            }
            if (p > 0 && p < parts - 1) spare.add(st);
        }

        /** Every part on the compute threads (beside {@code other}, when not null), then {@link #partsDone}. */
        void runParts(Runnable other) {
            eachPart(other, items, parts, this::part);
            partsDone();
        }

        /** Once every part has run: the high-rate layers' states where the call ended, for the next call's parts. */
        void partsDone() {
            for (int b = 0; b < items; b++) if (last[b] != null && last[b] != ss[b]) decoder.adopt(last[b], ss[b], split);
        }
    }

    /**
     * Tasks per item for the SEANet's high-rate layers: each task runs a part of an item's time range on one thread,
     * its layers' calls single-threaded while the other threads run parts too (at the end, a thread with no part left
     * takes tasks of the calls of those still running), so each core keeps its own activations in its caches and no layer pays a
     * fork-join (`AbBench` against the layers' columns split between both threads over 7680-sample slices, 10 rounds
     * each, 2026-12-03: encode 0.92x, decode 0.89x the time; a step of 16 batched streams, each stream a task: 0.94x
     * and 0.99x in two runs, both orders). A call makes about {@link #PARTS_PER_THREAD} tasks per thread, which the
     * threads take as they become free, so a thread that runs slower for a while (a shared VM) does not keep the
     * other waiting at the end: the items of a batch, each cut into parts while there are fewer tasks than that and
     * each part holds at least 4 hops (steps of the latent) and more than its warm-up ({@code warmHops}). A part
     * after the first starts that early, by the layers' receptive field, from states whose contents do not matter
     * ({@link #spareState}), so its outputs from its own start on are those of one sequential call, bit for bit.
     */
    static int timeParts(int items, int hops, int warmHops) {
        int tasks = Parallel.threads() * PARTS_PER_THREAD;
        if (Parallel.threads() == 1 || items >= tasks) return 1;
        return Math.max(1, Math.min((tasks + items - 1) / items, hops / Math.max(4, warmHops + 1)));
    }

    /**
     * States for a part after the first: one a finished middle part left (its layers' buffers already grown), else a
     * new one. What a state carries in does not matter: the part's outputs from the end of its warm-up on depend only
     * on its input (all its slices are whole multiples of the layers' strides, so nothing is pending between calls).
     */
    private static <T> T spareState(java.util.Queue<T> spare, java.util.function.Supplier<T> fresh) {
        T st = spare.poll();
        return st != null ? st : fresh.get();
    }

    /**
     * Frames per call of an offline encode or decode of a batch of n: {@link #CHUNK_FRAMES} shared between them, in
     * multiples of 3, so that every call gives each {@link org.mimi4j.kernels.TwoTap} layer whole triples of steps and
     * the chunks cut none: the results do not depend on the batch size.
     */
    static int chunkFrames(int n) {
        return Math.max(3, CHUNK_FRAMES / n / 3 * 3);
    }

    private static int gcd(int a, int b) {
        return b == 0 ? a : gcd(b, a % b);
    }

    /** The hop where part p of {@code parts} starts, a multiple of {@code unit} (part {@code parts}: the end). */
    private static int cut(int hops, int p, int parts, int unit) {
        return p == parts ? hops : (int) ((long) hops * p / parts) / unit * unit;
    }

    private interface PartTask {
        void run(int item, int part);
    }

    /**
     * body(item, part) for every part of every item, and {@code beside} (when not null: the rest of another offline
     * call), as tasks on the compute threads (a lone part on the caller, with the layers' own threads); the profiler
     * counts each task's time as its share of the threads.
     */
    private static void eachPart(Runnable beside, int items, int parts, PartTask body) {
        int first = beside == null ? 0 : 1, tasks = first + items * parts;
        if (tasks == 1 && beside == null) {
            body.run(0, 0);
            return;
        }
        int share = Math.min(tasks, Parallel.threads());
        Parallel.forEachHelping(tasks, t -> { // whole steps read no scratch of the caller: it may help the others once out of tasks
            Profiler.share(share);
            try {
                if (t < first) beside.run();
                else body.run((t - first) / parts, (t - first) % parts);
            } finally {
                Profiler.share(1);
            }
        });
    }

    private static float[][] copies(float[][] h) {
        float[][] c = new float[h.length][];
        for (int i = 0; i < h.length; i++) c[i] = h[i].clone();
        return c;
    }

    /** Each stream's own position (streams of a batch need not be in step). */
    private static void emit(Trace trace, String name, int[] items, long[] offset, float[][] h, int channels, int steps) {
        if (trace == null) return;
        for (int i = 0; i < h.length; i++) trace.record(name, items[i], (int) offset[i], h[i], channels, steps);
    }

    private static long[] offsets(Transformer.State[] ts) {
        long[] o = new long[ts.length];
        for (int i = 0; i < o.length; i++) o[i] = ts[i].offset();
        return o;
    }

    private static long[] divide(long[] a, int by) {
        long[] o = new long[a.length];
        for (int i = 0; i < o.length; i++) o[i] = a[i] / by;
        return o;
    }

    // ---------------------------------------------------------------- checks

    void checkNumQuantizers(int nq) {
        if (nq < 1) throw new InvalidInputException("num_quantizers must be at least 1, got " + nq);
        if (nq > totalCodebooks()) throw new InvalidInputException("num_quantizers " + nq + " exceeds the model's " + totalCodebooks() + " codebooks");
    }

    /** Validates codes [B][K][T] (rectangular, 1 <= K <= codebooks, values in [0, cardinality)); returns T. */
    public int checkCodes(int[][][] codes) {
        if (codes == null || codes.length == 0 || codes[0] == null) throw new InvalidInputException("no codes");
        int k = codes[0].length;
        if (k < 1) throw new InvalidInputException("codes have no codebooks");
        if (k > totalCodebooks()) throw new InvalidInputException("codes have " + k + " codebooks but the model has " + totalCodebooks());
        if (codes[0][0] == null) throw new InvalidInputException("codes item 0, codebook 0 is null");
        int t = codes[0][0].length;
        if (t < 1) throw new InvalidInputException("codes have no frames");
        for (int b = 0; b < codes.length; b++) {
            if (codes[b] == null) throw new InvalidInputException("codes item " + b + " is null");
            if (codes[b].length != k) throw new InvalidInputException("codes item " + b + " has " + codes[b].length + " codebooks, item 0 has " + k);
            for (int q = 0; q < k; q++) {
                int[] row = codes[b][q];
                if (row == null) throw new InvalidInputException("codes item " + b + ", codebook " + q + " is null");
                if (row.length != t) throw new InvalidInputException("codes are not rectangular: item " + b + " codebook " + q + " has " + row.length + " frames, expected " + t);
                for (int i = 0; i < t; i++) {
                    if (row[i] < 0 || row[i] >= cardinality()) {
                        throw new InvalidInputException("code " + row[i] + " at item " + b + ", codebook " + q + ", frame " + i + " is outside [0, " + cardinality() + ")");
                    }
                }
            }
        }
        return t;
    }

    private static void checkFinite(float[] a, int item) {
        for (int i = 0; i < a.length; i++) {
            if (!Float.isFinite(a[i])) throw new InvalidInputException("audio item " + item + " has a non-finite sample (" + a[i] + ") at index " + i);
        }
    }

    private static float[][] toRows(float[] x, int rows, int cols) {
        float[][] out = new float[rows][];
        for (int r = 0; r < rows; r++) out[r] = java.util.Arrays.copyOfRange(x, r * cols, (r + 1) * cols);
        return out;
    }
}
