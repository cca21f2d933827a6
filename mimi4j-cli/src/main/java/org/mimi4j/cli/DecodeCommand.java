package org.mimi4j.cli;

import org.mimi4j.InvalidInputException;
import org.mimi4j.Mimi;
import org.mimi4j.io.CodesFile;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;

/** mimi decode CODES -o OUT: codes back to audio. */
@Command(name = "decode", mixinStandardHelpOptions = true,
        description = {"Decode Mimi codes (.safetensors with audio_codes, or .npy) to audio.",
                "OUT.wav: 16-bit PCM WAV (--float: 32-bit float); OUT.safetensors: tensor audio_values, float32 [1,1,N]."})
final class DecodeCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "CODES", description = "Codes file written by mimi encode (or any safetensors with an integer audio_codes [1,K,T] / .npy [K,T]).")
    Path input;

    @CommandLine.Mixin
    AudioOutputOptions out;

    @CommandLine.Mixin
    ModelOptions model;

    @Option(names = "--no-trim", description = "Keep all T*1920 samples; by default the output is trimmed to the input_samples the codes file records.")
    boolean noTrim;

    @Option(names = "--stream", description = "Decode through a streaming decoder, one code frame (1920 samples) at a time: "
            + "upstream moshi's streaming audio (equal to offline decode for the first 10 s, slightly different after, by design).")
    boolean stream;

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        out.check(input);
        CodesFile.Codes codes = CodesFile.read(input);
        Mimi m = model.load();
        try {
            m.checkCodes(new int[][][]{codes.codes()});
        } catch (InvalidInputException e) { // the model's message about the codes: say which file
            throw new InvalidInputException(input + ": " + e.getMessage());
        }
        // codes made for another frame or sample rate cannot mean what this model decodes them to
        Map<String, String> meta = codes.metadata();
        if (differs(meta.get("sample_rate"), m.sampleRate()) || differs(meta.get("frame_rate"), m.frameRate())) {
            throw new MimiCli.UserException(input + ": codes of a model at " + meta.get("sample_rate") + " Hz, " + meta.get("frame_rate")
                    + " frames/s; this model is at " + m.sampleRate() + " Hz, " + m.frameRate() + " frames/s");
        }
        if (meta.containsKey("model") && !sameModel(meta.get("model"), m.source())) {
            spec.commandLine().getErr().println("mimi: warning: " + input + " was encoded with " + meta.get("model") + "; decoding with " + m.source());
        }
        long keep = (long) codes.frames() * m.frameSize();
        String recorded = codes.metadata().get("input_samples");
        if (!noTrim && recorded != null) {
            long n;
            try {
                n = Long.parseLong(recorded);
            } catch (NumberFormatException e) {
                n = -1;
            }
            if (n < 1) throw new MimiCli.UserException(input + ": metadata input_samples must be a positive count of samples, got " + recorded);
            keep = Math.min(keep, n);
        }
        out.write(m, codes.codes(), keep, stream, null);
        return 0;
    }

    /** Whether a recorded rate is a number other than the model's (absent or not a number: no claim to check). */
    private static boolean differs(String recorded, double rate) {
        try {
            return recorded != null && Double.parseDouble(recorded) != rate;
        } catch (NumberFormatException e) {
            return false;
        }
    }

    /** The same model name, or two paths to the same file (one may be relative, or go through a link). */
    private static boolean sameModel(String a, String b) {
        if (a.equals(b)) return true;
        try {
            return java.nio.file.Files.isSameFile(Path.of(a), Path.of(b));
        } catch (java.io.IOException | java.nio.file.InvalidPathException e) {
            return false; // not two files here: a hub repo, a random model, a file since removed
        }
    }
}
