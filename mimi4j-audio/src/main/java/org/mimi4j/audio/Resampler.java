package org.mimi4j.audio;

import java.util.Arrays;
import java.util.Objects;

/**
 * Streaming sample-rate converter: polyphase windowed-sinc (Kaiser window). The ratio is reduced to up/down
 * (44100→24000 is 80/147, 48000→24000 is 1/2, 22050→24000 is 160/147) and each of the {@code up} phases gets its
 * own precomputed coefficients, so the conversion is exact, with no drift, however long the stream.
 *
 * <p>Design, relative to the lower of the two rates: passband to 0.45, stopband from 0.5 (so nothing above the
 * output Nyquist frequency aliases and no image of the input spectrum survives when upsampling), cutoff 0.475,
 * Kaiser β = 10.06 for 100 dB, 65 taps of the lower rate on each side of the centre. Measured by ResamplerTest
 * at 44100, 48000, 16000, 8000, 22050 → 24000 and back: passband deviation at most 0.0001 dB up to 0.45; tones
 * and sweeps above the output Nyquist frequency at least 99.9 dB down (already at exactly 0.5); images and other
 * error on passband tones at least 109 dB down; a 20 Hz to 0.45 sweep reproduced with an error of -113 dB.
 * Ratios whose polyphase table would exceed 2^20 coefficients (44101 → 24000) interpolate the kernel linearly
 * from 2048 points per zero crossing instead, with the same measured figures, at about a quarter of the speed.
 * Speed: about 200× real time for 44100 → 24000 on one core.
 *
 * <p>There is no time shift: output sample {@code i} is the input signal at time {@code i / outRate} (the filter's
 * delay is compensated by looking ahead, so in a stream outputs trail the input by 65 lower-rate
 * samples). Over a whole stream the output has {@code round(inLength * outRate / inRate)} samples; the last ones
 * come from {@link #flush()}. Equal rates pass samples through unchanged. The rates may differ by a factor of 256
 * at most. Not thread-safe.
 */
public final class Resampler {
    private static final double PASSBAND = 0.45;
    private static final double STOPBAND = 0.5;
    private static final double ATTENUATION_DB = 100;
    private static final double BETA = 0.1102 * (ATTENUATION_DB - 8.7);
    /** Kernel half-width in samples of the lower rate, from Kaiser's length estimate: 65. */
    private static final int HALF_WIDTH = (int) Math.ceil((ATTENUATION_DB - 7.95) / (14.36 * (STOPBAND - PASSBAND)) / 2);
    private static final int MAX_TABLE = 1 << 20;
    private static final int MAX_RATIO = 256;
    private static final int FINE_STEPS = 2048; // kernel samples per zero crossing when the ratio needs too many phases

    private final int inRate;
    private final int outRate;
    private final int up;
    private final int down;
    private final int half;
    private final int taps;
    private final double cutoff;
    private final double width;
    private final float[][] phases;
    private final float[] fine;
    private final double fineStep;
    private final float[] row;

    private float[] hist;
    private int histLen;
    private long histStart;
    private long inCount;
    private long emitted;
    private long q;
    private int phase;
    private boolean flushed;

    /** Whether a conversion between the two rates is supported: both positive, at most 256x apart. */
    public static boolean supports(int inRate, int outRate) {
        return inRate > 0 && outRate > 0 && Math.max(inRate, outRate) / Math.min(inRate, outRate) <= MAX_RATIO;
    }

    public Resampler(int inRate, int outRate) {
        if (!supports(inRate, outRate)) {
            throw new IllegalArgumentException("unsupported rate conversion " + inRate + " -> " + outRate + " Hz");
        }
        this.inRate = inRate;
        this.outRate = outRate;
        int g = gcd(inRate, outRate);
        up = outRate / g;
        down = inRate / g;
        double lower = Math.min(inRate, outRate);
        cutoff = (PASSBAND + STOPBAND) / 2 * lower / inRate; // cycles per input sample
        width = HALF_WIDTH * inRate / lower; // kernel half-width in input samples
        half = (int) Math.ceil(width) + 1;
        taps = 2 * half;
        hist = new float[Math.max(4 * taps, 8192)];
        histLen = half - 1; // zeros before the first sample
        histStart = 1 - half;
        if (up == down) {
            phases = null;
            fine = null;
            fineStep = 0;
            row = null;
        } else if ((long) up * taps <= MAX_TABLE) {
            phases = new float[up][taps];
            for (int p = 0; p < up; p++) {
                for (int i = 0; i < taps; i++) phases[p][i] = (float) kernel((double) p / up + half - 1 - i);
            }
            fine = null;
            fineStep = 0;
            row = null;
        } else {
            phases = null;
            fineStep = 1 / (2 * cutoff * FINE_STEPS);
            fine = new float[(int) Math.ceil(width / fineStep) + 2];
            for (int k = 0; k < fine.length; k++) fine[k] = (float) kernel(k * fineStep);
            row = new float[taps];
        }
    }

    public int inRate() {
        return inRate;
    }

    public int outRate() {
        return outRate;
    }

    /** The low-pass kernel at {@code t} input samples from its centre: sinc times a Kaiser window, unit DC gain. */
    private double kernel(double t) {
        if (Math.abs(t) >= width) return 0;
        double x = 2 * cutoff * t;
        double sinc = x == 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x);
        double r = t / width;
        return 2 * cutoff * sinc * bessel0(BETA * Math.sqrt(1 - r * r)) / bessel0(BETA);
    }

    private static double bessel0(double x) {
        double sum = 1, term = 1;
        for (int k = 1; term > 1e-12 * sum; k++) {
            term *= (x / (2 * k)) * (x / (2 * k));
            sum += term;
        }
        return sum;
    }

    /** Converts the next {@code n} samples of {@code in}, returning the output samples they complete. */
    public float[] process(float[] in, int n) {
        return process(in, 0, n);
    }

    /** Converts the next {@code len} samples, {@code in[off..off+len)}; returns the output samples they complete. */
    public float[] process(float[] in, int off, int len) {
        Objects.checkFromIndexSize(off, len, in.length);
        if (flushed) throw new IllegalStateException("process() after flush()");
        inCount += len;
        if (up == down) return Arrays.copyOfRange(in, off, off + len);
        append(in, off, len);
        return produce(Long.MAX_VALUE);
    }

    /** Ends the stream: returns the remaining output samples, as if the input were followed by silence. */
    public float[] flush() {
        if (flushed) return new float[0];
        flushed = true;
        if (up == down) return new float[0];
        long total = Math.floorDiv(2 * inCount * up + down, 2L * down);
        if (total == 0) return new float[0];
        long lastInput = (total - 1) * down / up + half;
        int zeros = (int) Math.max(0, lastInput - histStart - histLen + 1);
        append(new float[zeros], 0, zeros);
        return produce(total);
    }

    /** Convenience: the whole of {@code in} converted in one go. */
    public static float[] resample(float[] in, int inRate, int outRate) {
        Resampler r = new Resampler(inRate, outRate);
        float[] a = r.process(in, in.length);
        float[] b = r.flush();
        float[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    private void append(float[] x, int off, int len) {
        if (histLen + len > hist.length) hist = Arrays.copyOf(hist, Math.max(histLen + len, 2 * hist.length));
        System.arraycopy(x, off, hist, histLen, len);
        histLen += len;
    }

    /** Emits every output whose input window is complete, up to output number {@code limit}. */
    private float[] produce(long limit) {
        long available = histStart + histLen;
        long count = Math.max(0, (available - half - q) * up / down + 1);
        float[] out = new float[(int) Math.min(count + 1, limit - emitted)];
        int k = 0;
        while (k < out.length && q + half < available) {
            float[] c = phases != null ? phases[phase] : interpolatedRow(phase);
            int base = (int) (q - half + 1 - histStart);
            double acc = 0;
            for (int i = 0; i < taps; i++) acc += hist[base + i] * c[i];
            out[k++] = (float) acc;
            phase += down;
            q += phase / up;
            phase %= up;
        }
        emitted += k;
        int drop = (int) Math.min(histLen, q - half + 1 - histStart);
        if (drop > 0) {
            System.arraycopy(hist, drop, hist, 0, histLen - drop);
            histLen -= drop;
            histStart += drop;
        }
        return k == out.length ? out : Arrays.copyOf(out, k);
    }

    /** The coefficients of one phase, interpolated linearly from the finely sampled kernel. */
    private float[] interpolatedRow(int p) {
        double t0 = (double) p / up + half - 1;
        for (int i = 0; i < taps; i++) {
            double pos = Math.abs(t0 - i) / fineStep;
            int k = (int) pos;
            row[i] = k + 1 < fine.length ? (float) (fine[k] + (pos - k) * (fine[k + 1] - fine[k])) : 0f;
        }
        return row;
    }

    private static int gcd(int a, int b) {
        while (b != 0) {
            int t = a % b;
            a = b;
            b = t;
        }
        return a;
    }
}
