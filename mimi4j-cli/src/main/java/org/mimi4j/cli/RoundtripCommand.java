package org.mimi4j.cli;

import org.mimi4j.Mimi;
import org.mimi4j.Padding;
import org.mimi4j.SampleSource;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * mimi roundtrip IN -o OUT.wav: encode then decode, to listen to what the codes keep. The file streams through both
 * in chunks (the input is read twice: to encode, then to compare with the output), so memory does not grow with it.
 */
@Command(name = "roundtrip", mixinStandardHelpOptions = true,
        description = "Encode then decode an audio file; writes the reconstruction trimmed to the input length and prints its SNR and duration.")
final class RoundtripCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "IN", description = "Audio file (any format and rate mimi encode reads).")
    Path input;

    @CommandLine.Mixin
    AudioOutputOptions out;

    @CommandLine.Mixin
    ModelOptions model;

    @Option(names = {"-n", "--num-quantizers"}, defaultValue = "8", paramLabel = "N", description = "Codebooks to use. Default: ${DEFAULT-VALUE}.")
    int numQuantizers;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        out.check(input);
        EncodeCommand.checkNumQuantizers(numQuantizers);
        Mimi m = model.load();
        long t0 = System.nanoTime();
        int[][] codes;
        long n;
        try (AudioInput audio = new AudioInput(input, m.sampleRate())) {
            codes = EncodeCommand.encode(m, audio, numQuantizers, Padding.MOSHI, 0);
            n = audio.samples;
        }
        // decoded once, in chunks: written to OUT and compared with the input, read again alongside
        double[] sums = new double[2]; // squared error, squared input
        try (AudioInput again = new AudioInput(input, m.sampleRate())) {
            SampleSource ref = again.samples();
            float[] x = new float[m.frameSize()];
            out.write(m, codes, n, false, (y, off, len) -> {
                for (int done = 0; done < len; ) {
                    int got = ref.read(x, 0, Math.min(x.length, len - done));
                    if (got <= 0) throw new IOException(input + ": changed while being read");
                    for (int i = 0; i < got; i++) {
                        double d = y[off + done + i] - x[i];
                        sums[0] += d * d;
                        sums[1] += (double) x[i] * x[i];
                    }
                    done += got;
                }
            });
        }
        double secs = (System.nanoTime() - t0) / 1e9, dur = n / (double) m.sampleRate();
        String snr = sums[1] == 0 ? "SNR undefined (silent input)" : String.format(Locale.ROOT, "SNR %.2f dB", 10 * Math.log10(sums[1] / Math.max(sums[0], 1e-30)));
        spec.commandLine().getOut().printf(Locale.ROOT, "%s: %.2f s of audio, %d codebooks x %d frames, %s, %.1fx real time%n",
                out.output, dur, numQuantizers, codes[0].length, snr, dur / secs);
        return 0;
    }
}
