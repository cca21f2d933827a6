package org.mimi4j.cli;

import org.mimi4j.Mimi;
import org.mimi4j.SampleSink;
import org.mimi4j.audio.Resampler;
import org.mimi4j.audio.WavWriter;
import org.mimi4j.io.SafeTensors;
import org.mimi4j.stream.MimiDecoderStream;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;

/** -o OUT with --float, --sample-rate and --overwrite: where decoded audio goes, shared by decode and roundtrip. */
final class AudioOutputOptions {
    @Option(names = {"-o", "--output"}, required = true, paramLabel = "OUT", description = "Output .wav, or .safetensors (tensor audio_values, float32 [1,1,N]).")
    Path output;

    @Option(names = "--float", description = "Write 32-bit float WAV instead of 16-bit PCM.")
    boolean floatWav;

    @Option(names = "--sample-rate", paramLabel = "HZ", description = "Resample the output to this rate (default: the model's, 24000).")
    Integer sampleRate;

    @Option(names = "--overwrite", description = "Replace OUT if it exists.")
    boolean overwrite;

    /** Checks the options before any work; {@code input} is the command's input file. */
    void check(Path input) {
        Outputs.checkNotInput(input, output);
        Outputs.checkWritable(output, overwrite);
        Outputs.checkExtension(output, "decoded audio files", "wav", "safetensors");
        if (floatWav && !output.getFileName().toString().toLowerCase(java.util.Locale.ROOT).endsWith(".wav")) {
            throw new MimiCli.UsageException("--float is for WAV output; " + output + " is safetensors (always float32)");
        }
        if (sampleRate != null && (sampleRate < 4000 || sampleRate > 384000)) {
            throw new MimiCli.UsageException("--sample-rate must be between 4000 and 384000 Hz, got " + sampleRate);
        }
    }

    /** Decodes codes and writes the first {@code keep} samples (at the model's rate), streaming for WAV. */
    void write(Mimi m, int[][] codes, long keep) throws IOException {
        write(m, codes, keep, false, null);
    }

    /** Decodes codes [K][T] into a sink: offline in chunks, or frame by frame through an upstream-mode decoder stream. */
    static void decode(Mimi m, int[][] codes, boolean stream, SampleSink sink) throws IOException {
        if (!stream) {
            m.decode(codes, sink);
            return;
        }
        MimiDecoderStream d = m.decoderStream();
        int k = codes.length, t = codes[0].length;
        for (int i = 0; i < t; i++) {
            int[] frame = new int[k];
            for (int q = 0; q < k; q++) frame[q] = codes[q][i];
            float[] y = d.push(frame);
            sink.write(y, 0, y.length);
        }
    }

    /**
     * As {@link #write(Mimi, int[][], long)}, decoding through a decoder stream if {@code stream}; {@code tap} (if not
     * null) sees the kept samples, at the model's rate, as they are written.
     */
    void write(Mimi m, int[][] codes, long keep, boolean stream, SampleSink tap) throws IOException {
        int rate = sampleRate == null ? m.sampleRate() : sampleRate;
        boolean wav = !output.getFileName().toString().toLowerCase().endsWith(".safetensors");
        Resampler rs = rate == m.sampleRate() ? null : new Resampler(m.sampleRate(), rate);
        Outputs.writing(output, () -> {
            if (!wav) {
                float[] all = new float[(int) keep];
                long[] pos = {0};
                decode(m, codes, stream, (buf, off, len) -> {
                    int n = (int) Math.max(0, Math.min(len, keep - pos[0]));
                    System.arraycopy(buf, off, all, (int) pos[0], n);
                    pos[0] += n;
                    if (tap != null && n > 0) tap.write(buf, off, n);
                });
                float[] y = rs == null ? all : Resampler.resample(all, m.sampleRate(), rate);
                SafeTensors.write(output, Map.of("audio_values", SafeTensors.Entry.f32(y, 1, 1, y.length)),
                        Map.of("sample_rate", Integer.toString(rate)));
                return;
            }
            try (WavWriter w = WavWriter.create(output, rate, floatWav ? WavWriter.Encoding.FLOAT_32 : WavWriter.Encoding.PCM_16)) {
                long[] pos = {0};
                decode(m, codes, stream, (buf, off, len) -> {
                    int n = (int) Math.max(0, Math.min(len, keep - pos[0]));
                    pos[0] += n;
                    if (n == 0) return;
                    if (tap != null) tap.write(buf, off, n);
                    if (rs == null) w.write(buf, off, n);
                    else w.write(rs.process(buf, off, n));
                });
                if (rs != null) w.write(rs.flush());
                w.commit();
            }
        });
    }
}
