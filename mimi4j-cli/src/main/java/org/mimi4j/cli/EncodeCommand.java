package org.mimi4j.cli;

import org.mimi4j.InvalidInputException;
import org.mimi4j.Mimi;
import org.mimi4j.Padding;
import org.mimi4j.SampleSource;
import org.mimi4j.stream.MimiEncoderStream;
import org.mimi4j.io.CodesFile;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/** mimi encode IN -o OUT: an audio file to a codes file, or a folder of audio files to a mirrored folder of codes. */
@Command(name = "encode", mixinStandardHelpOptions = true,
        description = {"Encode audio to Mimi codes.",
                "IN is an audio file (WAV, FLAC, MP3, Ogg Vorbis; any rate and channel count: downmixed and resampled to 24 kHz) "
                        + "or a folder, whose audio files are encoded into the mirrored tree under OUT with a manifest.jsonl."})
final class EncodeCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "IN", description = "Audio file or folder.")
    Path input;

    @Option(names = {"-o", "--output"}, required = true, paramLabel = "OUT", description = "Codes file (.safetensors or .npy), or a folder when IN is one.")
    Path output;

    @CommandLine.Mixin
    ModelOptions model;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = {"-n", "--num-quantizers"}, defaultValue = "8", paramLabel = "N",
            description = "Codebooks to use, 1 to 32 for the released model (8 = 1.1 kbps). Default: ${DEFAULT-VALUE}.")
    int numQuantizers;

    @Option(names = "--padding", defaultValue = "moshi", paramLabel = "moshi|transformers",
            description = "End-of-input padding: moshi (zero-pad the waveform to a whole frame; default) or transformers "
                    + "(pad inside each strided conv: the codes transformers' MimiModel.encode gives).")
    String padding;

    @Option(names = "--format", paramLabel = "safetensors|npy", description = "Codes file format (default: from OUT's extension; safetensors for folders).")
    String format;

    @Option(names = "--overwrite", description = "Replace existing outputs.")
    boolean overwrite;

    @Option(names = "--resume", description = "Folder mode: skip inputs whose output already exists (outputs are written atomically, so an existing one is complete).")
    boolean resume;

    @Option(names = "--stream", description = "Encode through a streaming encoder fed --chunk-samples chunks: upstream moshi's "
            + "streaming codes (equal to offline encode for the first 10 s, slightly different after, by design; see docs/streaming.md).")
    boolean stream;

    @Option(names = "--chunk-samples", paramLabel = "N", description = "With --stream: samples per chunk fed to the encoder "
            + "(any N >= 1; the codes do not depend on it). Default: 1920 (one frame, 80 ms).")
    Integer chunkSamples;

    @Option(names = {"-j", "--jobs"}, paramLabel = "N", description = "Folder mode: files encoded at once (one shared model). Default: 2.")
    int jobs = 2;

    @Option(names = "--batch", paramLabel = "N", description = "Folder mode: files of up to 8 s with the same number of frames encoded "
            + "together, up to N at a time (offline, moshi padding; each file's codes are those it has alone). 1: one by one. Default: 16.")
    int batch = 16;

    @Override
    public Integer call() throws Exception {
        Padding pad = switch (padding.toLowerCase(Locale.ROOT)) {
            case "moshi" -> Padding.MOSHI;
            case "transformers" -> Padding.TRANSFORMERS;
            default -> throw new MimiCli.UsageException("--padding must be moshi or transformers, got " + padding);
        };
        CodesFile.Format fmt = format == null ? null : switch (format.toLowerCase(Locale.ROOT)) {
            case "safetensors" -> CodesFile.Format.SAFETENSORS;
            case "npy" -> CodesFile.Format.NPY;
            default -> throw new MimiCli.UsageException("--format must be safetensors or npy, got " + format);
        };
        checkNumQuantizers(numQuantizers);
        if (chunkSamples != null && !stream) throw new MimiCli.UsageException("--chunk-samples needs --stream");
        if (chunkSamples != null && chunkSamples < 1) throw new MimiCli.UsageException("--chunk-samples must be at least 1, got " + chunkSamples);
        if (stream && pad == Padding.TRANSFORMERS) throw new MimiCli.UsageException("--stream pads the end like moshi; --padding transformers is offline only");
        int streamChunk = stream ? (chunkSamples == null ? 1920 : chunkSamples) : 0;
        if (!Files.exists(input)) throw new MimiCli.UserException(input + ": no such file or directory");
        if (Files.isDirectory(input)) {
            if (Files.exists(output) && !Files.isDirectory(output)) throw new MimiCli.UserException(output + ": exists and is not a folder");
            if (jobs < 1) throw new MimiCli.UsageException("--jobs must be at least 1, got " + jobs);
            if (batch < 1) throw new MimiCli.UsageException("--batch must be at least 1, got " + batch);
            if (resume && overwrite) throw new MimiCli.UsageException("--resume keeps existing outputs and --overwrite replaces them: give one");
            Path manifest = output.resolve("manifest.jsonl");
            if (Files.exists(manifest) && !resume && !overwrite) { // keep an earlier run's record: refuse before touching it
                throw new MimiCli.UserException(manifest + ": an earlier run's output is here (use --resume to continue it, --overwrite to redo it)");
            }
            List<Path> files = FolderEncoder.audioFiles(input); // an empty folder fails here, before the model is loaded
            Mimi m = model.load();
            return new FolderEncoder(m, input, output, numQuantizers, pad, fmt == null ? CodesFile.Format.SAFETENSORS : fmt,
                    overwrite, resume, jobs, spec.commandLine().getErr(), streamChunk, batch).run(files);
        }
        if (resume || jobs != 2 || batch != 16) {
            throw new MimiCli.UsageException((resume ? "--resume" : jobs != 2 ? "--jobs" : "--batch") + " is for folders; " + input + " is a file");
        }
        Outputs.checkNotInput(input, output);
        Outputs.checkWritable(output, overwrite);
        if (fmt == null) Outputs.checkExtension(output, "codes", "safetensors", "npy");
        else Outputs.checkExtension(output, "--format " + format + " codes", fmt == CodesFile.Format.NPY ? "npy" : "safetensors");
        CodesFile.Format outFmt = fmt == null ? CodesFile.formatOf(output) : fmt;
        Mimi m = model.load();
        encodeFile(m, input, output, numQuantizers, pad, outFmt, streamChunk);
        return 0;
    }

    /**
     * Encodes one file, offline or (streamChunk > 0) through an encoder stream fed chunks of that many samples;
     * returns the input's duration in seconds.
     */
    static double encodeFile(Mimi m, Path in, Path out, int nq, Padding pad, CodesFile.Format fmt, int streamChunk) throws IOException {
        try (AudioInput audio = new AudioInput(in, m.sampleRate())) {
            int[][] codes = encode(m, audio, nq, pad, streamChunk);
            Map<String, String> meta = metadata(m, nq, audio.samples, in, audio.sourceRate(), pad);
            if (streamChunk > 0) meta.put("encoder", "stream-upstream");
            Outputs.writing(out, () -> CodesFile.write(out, codes, meta, fmt));
            return audio.samples / (double) m.sampleRate();
        }
    }

    /** -n below 1: a usage error, found before the model is loaded. */
    static void checkNumQuantizers(int nq) {
        if (nq < 1) throw new MimiCli.UsageException("--num-quantizers must be at least 1, got " + nq);
    }

    /**
     * Codes [K][T] of an opened file: offline, or (streamChunk > 0) through an encoder stream fed chunks of that many
     * samples. The model's objections to the audio name the file.
     */
    static int[][] encode(Mimi m, AudioInput audio, int nq, Padding pad, int streamChunk) throws IOException {
        if (nq > m.totalCodebooks()) throw new InvalidInputException("--num-quantizers " + nq + " exceeds the model's " + m.totalCodebooks() + " codebooks");
        try {
            return streamChunk > 0 ? encodeStreaming(m, audio.samples(), nq, streamChunk) : m.encode(audio.samples(), nq, pad);
        } catch (InvalidInputException e) {
            throw new InvalidInputException(audio.path + ": " + e.getMessage());
        }
    }

    /** Codes [K][T] of a source pushed through an upstream-mode encoder stream in chunks of {@code chunk} samples. */
    static int[][] encodeStreaming(Mimi m, SampleSource src, int nq, int chunk) throws IOException {
        MimiEncoderStream s = m.encoderStream(nq);
        float[] buf = new float[chunk];
        List<int[]> frames = new ArrayList<>();
        boolean eof = false;
        while (!eof) {
            int got = 0;
            while (got < chunk) {
                int r = src.read(buf, got, chunk - got);
                if (r < 0) {
                    eof = true;
                    break;
                }
                got += r;
            }
            frames.addAll(Arrays.asList(s.push(buf, 0, got)));
        }
        frames.addAll(Arrays.asList(s.end()));
        if (frames.isEmpty()) throw new InvalidInputException("audio has no samples");
        int[][] codes = new int[nq][frames.size()];
        for (int t = 0; t < frames.size(); t++) for (int q = 0; q < nq; q++) codes[q][t] = frames.get(t)[q];
        return codes;
    }

    static Map<String, String> metadata(Mimi m, int nq, long samples, Path in, int sourceRate, Padding pad) {
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("model", m.source());
        meta.put("num_quantizers", Integer.toString(nq));
        meta.put("sample_rate", Integer.toString(m.sampleRate()));
        meta.put("frame_rate", Double.toString(m.frameRate()));
        meta.put("input_samples", Long.toString(samples));
        meta.put("source_file", in.toString());
        meta.put("source_sample_rate", Integer.toString(sourceRate));
        meta.put("padding", pad.name().toLowerCase(Locale.ROOT));
        meta.put("format", "mimi4j-codes-1");
        return meta;
    }
}
