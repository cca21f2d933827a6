package org.mimi4j.cli;

import org.mimi4j.Mimi;
import org.mimi4j.Padding;
import org.mimi4j.audio.Audio;
import org.mimi4j.audio.AudioIO;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;

/** mimi roundtrip IN -o OUT.wav: encode then decode, to listen to what the codes keep. */
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
        Mimi m = model.load();
        Audio a = AudioIO.readMono(input, m.sampleRate());
        if (a.samples().length == 0) throw new MimiCli.UserException(input + ": no samples");
        long t0 = System.nanoTime();
        int[][] codes = m.encode(a.samples(), numQuantizers, Padding.MOSHI);
        float[] y = m.decode(codes);
        double secs = (System.nanoTime() - t0) / 1e9;
        double num = 0, den = 0;
        for (int i = 0; i < a.samples().length; i++) {
            double d = y[i] - a.samples()[i];
            num += d * d;
            den += (double) a.samples()[i] * a.samples()[i];
        }
        out.write(m, codes, a.samples().length);
        double dur = a.samples().length / (double) m.sampleRate();
        String snr = den == 0 ? "SNR undefined (silent input)" : String.format(Locale.ROOT, "SNR %.2f dB", 10 * Math.log10(den / Math.max(num, 1e-30)));
        spec.commandLine().getOut().printf(Locale.ROOT, "%s: %.2f s of audio, %d codebooks x %d frames, %s, %.1fx real time%n",
                out.output, dur, numQuantizers, codes[0].length, snr, dur / secs);
        return 0;
    }
}
