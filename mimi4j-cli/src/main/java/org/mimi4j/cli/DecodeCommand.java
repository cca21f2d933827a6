package org.mimi4j.cli;

import org.mimi4j.Mimi;
import org.mimi4j.audio.Resampler;
import org.mimi4j.audio.WavWriter;
import org.mimi4j.io.CodesFile;
import org.mimi4j.io.SafeTensors;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;

/** mimi decode CODES -o OUT: codes back to audio. */
@Command(name = "decode", mixinStandardHelpOptions = true,
        description = {"Decode Mimi codes (.safetensors with audio_codes, or .npy) to audio.",
                "OUT.wav: 16-bit PCM WAV (--float: 32-bit float); OUT.safetensors: tensor audio_values, float32 [1,1,N]."})
final class DecodeCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "CODES", description = "Codes file written by mimi encode (or any safetensors with an integer audio_codes [1,K,T] / .npy [K,T]).")
    Path input;

    @Option(names = {"-o", "--output"}, required = true, paramLabel = "OUT", description = "Output .wav or .safetensors.")
    Path output;

    @CommandLine.Mixin
    ModelOptions model;

    @Option(names = "--float", description = "Write 32-bit float WAV instead of 16-bit PCM.")
    boolean floatWav;

    @Option(names = "--sample-rate", paramLabel = "HZ", description = "Resample the output to this rate (default: the model's, 24000).")
    Integer sampleRate;

    @Option(names = "--no-trim", description = "Keep all T*1920 samples; by default the output is trimmed to the input_samples the codes file records.")
    boolean noTrim;

    @Option(names = "--overwrite", description = "Replace OUT if it exists.")
    boolean overwrite;

    @Override
    public Integer call() throws Exception {
        Outputs.checkWritable(output, overwrite);
        checkRate(sampleRate);
        CodesFile.Codes codes = CodesFile.read(input);
        Mimi m = model.load();
        m.checkCodes(new int[][][]{codes.codes()});
        long keep = (long) codes.frames() * m.frameSize();
        String recorded = codes.metadata().get("input_samples");
        if (!noTrim && recorded != null) {
            try {
                keep = Math.min(keep, Long.parseLong(recorded));
            } catch (NumberFormatException e) {
                throw new MimiCli.UserException(input + ": metadata input_samples is not a number: " + recorded);
            }
        }
        writeAudio(m, codes.codes(), keep, output, sampleRate == null ? m.sampleRate() : sampleRate, floatWav);
        return 0;
    }

    /** Output rates the resampler takes from 24 kHz. */
    static void checkRate(Integer rate) {
        if (rate != null && (rate < 4000 || rate > 384000)) throw new MimiCli.UserException("--sample-rate must be between 4000 and 384000 Hz, got " + rate);
    }

    /** Decodes codes and writes the first {@code keep} samples (at the model's rate) to a WAV or safetensors file. */
    static void writeAudio(Mimi m, int[][] codes, long keep, Path out, int rate, boolean floatWav) throws IOException {
        boolean wav = !out.getFileName().toString().toLowerCase().endsWith(".safetensors");
        Resampler rs = rate == m.sampleRate() ? null : new Resampler(m.sampleRate(), rate);
        Outputs.writing(out, () -> {
            if (!wav) {
                float[] all = new float[(int) keep];
                long[] pos = {0};
                m.decode(codes, (buf, off, len) -> {
                    int n = (int) Math.min(len, keep - pos[0]);
                    if (n > 0) System.arraycopy(buf, off, all, (int) pos[0], n);
                    pos[0] += Math.max(n, 0);
                });
                float[] y = rs == null ? all : Resampler.resample(all, m.sampleRate(), rate);
                Map<String, String> meta = new LinkedHashMap<>();
                meta.put("sample_rate", Integer.toString(rate));
                SafeTensors.write(out, Map.of("audio_values", SafeTensors.Entry.f32(y, 1, 1, y.length)), meta);
                return;
            }
            try (WavWriter w = WavWriter.create(out, rate, floatWav ? WavWriter.Encoding.FLOAT_32 : WavWriter.Encoding.PCM_16)) {
                long[] pos = {0};
                m.decode(codes, (buf, off, len) -> {
                    int n = (int) Math.max(0, Math.min(len, keep - pos[0]));
                    pos[0] += n;
                    if (n == 0) return;
                    if (rs == null) w.write(buf, off, n);
                    else {
                        float[] y = rs.process(java.util.Arrays.copyOfRange(buf, off, off + n), n);
                        w.write(y);
                    }
                });
                if (rs != null) w.write(rs.flush());
                w.commit();
            }
        });
    }
}
