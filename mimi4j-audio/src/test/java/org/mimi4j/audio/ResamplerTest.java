package org.mimi4j.audio;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Random;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

/**
 * Quality of {@link Resampler}, as promised in its javadoc: passband flat within 0.1 dB up to 0.45 of the lower
 * rate, aliases and images at least 80 dB down, no time shift, exact output length, streaming equals one-shot.
 */
class ResamplerTest {
    static final double PASSBAND = 0.45;

    /** Output samples this far from either end see only the steady signal (the kernel is 65 lower-rate samples wide). */
    static int margin(int in, int out) {
        return 200 * out / Math.min(in, out);
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource({"44100,24000", "48000,24000", "16000,24000", "8000,24000", "22050,24000", "24000,44100",
            "24000,48000", "24000,16000", "24000,8000", "44101,24000", "11127,24000"})
    void passbandIsFlatAndClean(int in, int out) {
        double lower = Math.min(in, out);
        double worstGain = 0, worstResidual = -999, worstPhase = 0;
        for (double rel : new double[] {0.001, 0.01, 0.05, 0.1, 0.2, 0.3, 0.37, 0.4, 0.43, 0.44, 0.45}) {
            double f = rel * lower;
            float[] y = Resampler.resample(Signals.sine(in, f, 0.5, in), in, out);
            double[] fit = Signals.fitTone(y, out, f, margin(in, out), y.length - margin(in, out));
            double gain = Signals.db(fit[0] / 0.5);
            double residual = Signals.db(fit[1] / (0.5 / Math.sqrt(2)));
            worstGain = Math.max(worstGain, Math.abs(gain));
            worstResidual = Math.max(worstResidual, residual);
            worstPhase = Math.max(worstPhase, Math.abs(fit[2]) * out / (2 * Math.PI * f)); // in output samples
            assertEquals(0, gain, 0.1, in + "->" + out + " gain at " + f + " Hz");
            assertTrue(residual < -80, in + "->" + out + " images/noise at " + f + " Hz: " + residual + " dB");
            assertEquals(0, fit[2] * out / (2 * Math.PI * f), 0.01, "time shift in output samples at " + f + " Hz");
        }
        System.out.printf("%d -> %d: passband deviation max %.4f dB, images+noise max %.1f dB, shift max %.1e samples%n",
                in, out, worstGain, worstResidual, worstPhase);
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource({"44100,24000", "48000,24000", "24000,16000", "24000,8000", "44101,24000"})
    void tonesAboveTheOutputNyquistAreRemoved(int in, int out) {
        double worst = -999;
        for (double rel : new double[] {0, 0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 0.8, 0.998}) {
            double f = out / 2.0 + rel * (in - out) / 2.0; // from the output's Nyquist frequency to the input's
            float[] x = Signals.sine(in, f, 0.5, in);
            float[] y = Resampler.resample(x, in, out);
            int m = margin(in, out);
            double level = Signals.db(Signals.rms(y, m, y.length - m) / (0.5 / Math.sqrt(2)));
            worst = Math.max(worst, level);
            assertTrue(level < -80, in + "->" + out + " alias of " + f + " Hz: " + level + " dB");
        }
        System.out.printf("%d -> %d: aliases max %.1f dB%n", in, out, worst);
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource({"44100,24000", "48000,24000", "16000,24000", "8000,24000", "22050,24000"})
    void sweepComesOutUnchanged(int in, int out) {
        double seconds = 2, f0 = 20, f1 = PASSBAND * Math.min(in, out);
        float[] x = sweep(in, f0, f1, seconds, (int) (in * seconds));
        float[] y = Resampler.resample(x, in, out);
        float[] want = sweep(out, f0, f1, seconds, y.length);
        int m = margin(in, out);
        double error = -Signals.snr(want, y, m, y.length - m);
        System.out.printf("%d -> %d: 20 Hz..%.0f Hz sweep error %.1f dB%n", in, out, f1, error);
        assertTrue(error < -60, "sweep error " + error + " dB");
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource({"44100,24000", "48000,24000", "24000,8000"})
    void sweepAboveTheOutputNyquistIsRemoved(int in, int out) {
        double seconds = 2;
        float[] x = sweep(in, 0.5 * out, 0.5 * in, seconds, (int) (in * seconds));
        float[] y = Resampler.resample(x, in, out);
        int m = margin(in, out);
        double level = Signals.db(Signals.rms(y, m, y.length - m) / (0.5 / Math.sqrt(2)));
        System.out.printf("%d -> %d: stopband sweep %.1f dB%n", in, out, level);
        assertTrue(level < -80, "stopband sweep " + level + " dB");
    }

    /** A linear sweep from f0 to f1 Hz over {@code seconds}, amplitude 0.5. */
    static float[] sweep(int rate, double f0, double f1, double seconds, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            double t = (double) i / rate;
            x[i] = (float) (0.5 * Math.sin(2 * Math.PI * (f0 * t + (f1 - f0) * t * t / (2 * seconds))));
        }
        return x;
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource({"44100,24000", "48000,24000", "16000,24000", "8000,24000", "22050,24000", "24000,44100", "44101,24000",
            "24000,24000"})
    void outputLengthIsRoundedRatio(int in, int out) {
        for (int n : new int[] {0, 1, 2, 3, 146, 147, 148, 1000, 44101}) {
            long want = Math.round((double) n * out / in);
            assertEquals(want, Resampler.resample(new float[n], in, out).length, in + "->" + out + " of " + n);
        }
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource({"44100,24000", "16000,24000", "8000,24000", "24000,44100", "44101,24000", "24000,24000"})
    void streamingInChunksEqualsOneShot(int in, int out) {
        Random rnd = new Random(in + out);
        float[] x = new float[in / 2];
        for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian() * 0.3f;
        float[] whole = Resampler.resample(x, in, out);
        Resampler r = new Resampler(in, out);
        float[] streamed = new float[0];
        for (int p = 0; p < x.length; ) {
            int n = Math.min(x.length - p, rnd.nextInt(1, 700));
            streamed = concat(streamed, p % 2 == 0 ? r.process(Arrays.copyOfRange(x, p, p + n), n) : r.process(x, p, n));
            p += n;
        }
        streamed = concat(streamed, r.flush());
        assertArrayEquals(whole, streamed);
    }

    static float[] concat(float[] a, float[] b) {
        float[] c = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }

    @Test
    void dcIsKept() {
        float[] x = new float[48000];
        Arrays.fill(x, 0.5f);
        float[] y = Resampler.resample(x, 44100, 24000);
        for (int i = 200; i < y.length - 200; i++) assertEquals(0.5, y[i], 1e-5);
    }

    @Test
    void sameRatePassesThrough() {
        float[] x = Signals.sine(24000, 1000, 0.9, 5000);
        assertArrayEquals(x, Resampler.resample(x, 24000, 24000));
    }

    @Test
    void processAfterFlushIsRejected() {
        Resampler r = new Resampler(44100, 24000);
        r.flush();
        assertEquals(0, r.flush().length);
        assertThrows(IllegalStateException.class, () -> r.process(new float[1], 1));
        assertThrows(IllegalArgumentException.class, () -> new Resampler(0, 24000));
    }
}
