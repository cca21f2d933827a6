package org.mimi4j.audio;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

/** Test signals, a WAV builder independent of {@link WavWriter}, and measurements. */
final class Signals {
    private Signals() {
    }

    /** The signal of the committed fixtures: channel c is a tone (440 Hz, 1 kHz, ...) plus a 100 Hz→4 kHz chirp. */
    static double fixture(int channel, double t, double duration) {
        double tone = 0.4 * Math.sin(2 * Math.PI * (channel == 0 ? 440 : 1000 + 250 * (channel - 1)) * t);
        double f0 = 100, f1 = 4000;
        double chirp = 0.3 * Math.sin(2 * Math.PI * (f0 * t + (f1 - f0) * t * t / (2 * duration)));
        return tone + chirp;
    }

    /** {@code fixture} for every channel, frame-interleaved. */
    static double[][] fixture(int rate, int channels, double seconds) {
        int n = (int) Math.round(rate * seconds);
        double[][] x = new double[channels][n];
        for (int c = 0; c < channels; c++) for (int i = 0; i < n; i++) x[c][i] = fixture(c, (double) i / rate, seconds);
        return x;
    }

    /** The mean of the channels, each first quantized as an integer PCM codec of {@code bits} would. */
    static float[] monoQuantized(double[][] x, int bits) {
        float[] m = new float[x[0].length];
        double full = Math.pow(2, bits - 1);
        for (int i = 0; i < m.length; i++) {
            double sum = 0;
            for (double[] ch : x) sum += bits == 0 ? ch[i] : quantize(ch[i], bits) / full;
            m[i] = (float) (sum / x.length);
        }
        return m;
    }

    static long quantize(double v, int bits) {
        double full = Math.pow(2, bits - 1);
        return Math.max((long) -full, Math.min((long) full - 1, Math.round(v * full)));
    }

    static float[] sine(int rate, double freq, double amp, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) (amp * Math.sin(2 * Math.PI * freq * i / rate));
        return x;
    }

    // ---- WAV building ----

    /** The bytes of one sample: integer PCM of {@code bytes} container bytes, or float when {@code isFloat}. */
    static void putSample(ByteBuffer b, double v, int bits, int bytes, boolean isFloat) {
        if (isFloat) {
            if (bytes == 4) b.putFloat((float) v);
            else b.putDouble(v);
            return;
        }
        long q = quantize(v, bits) << (8 * bytes - bits); // left-justified in the container
        if (bytes == 1) q += 128;
        for (int i = 0; i < bytes; i++) b.put((byte) (q >> (8 * i)));
    }

    static byte[] pcm(double[][] x, int bits, int bytes, boolean isFloat) {
        int n = x[0].length;
        ByteBuffer b = ByteBuffer.allocate(n * x.length * bytes).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < n; i++) for (double[] ch : x) putSample(b, ch[i], bits, bytes, isFloat);
        return b.array();
    }

    static byte[] fmt(int tag, int channels, int rate, int bytes, int bits) {
        ByteBuffer b = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
        b.putShort((short) tag).putShort((short) channels).putInt(rate).putInt(rate * channels * bytes)
                .putShort((short) (channels * bytes)).putShort((short) bits);
        return b.array();
    }

    static byte[] fmtExtensible(int subTag, int channels, int rate, int bytes, int validBits) {
        ByteBuffer b = ByteBuffer.allocate(40).order(ByteOrder.LITTLE_ENDIAN);
        b.putShort((short) 0xFFFE).putShort((short) channels).putInt(rate).putInt(rate * channels * bytes)
                .putShort((short) (channels * bytes)).putShort((short) (8 * bytes));
        b.putShort((short) 22).putShort((short) validBits).putInt(0);
        b.putShort((short) subTag).put(new byte[] {0, 0, 0, 0, 0x10, 0, (byte) 0x80, 0, 0, (byte) 0xAA, 0, 0x38,
                (byte) 0x9B, 0x71});
        return b.array();
    }

    static byte[] chunk(String id, byte[] body) {
        ByteBuffer b = ByteBuffer.allocate(8 + body.length + (body.length & 1)).order(ByteOrder.LITTLE_ENDIAN);
        b.put(id.getBytes()).putInt(body.length).put(body);
        return b.array();
    }

    static byte[] riff(byte[]... chunks) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int size = 4;
        for (byte[] c : chunks) size += c.length;
        out.writeBytes("RIFF".getBytes());
        out.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(size).array());
        out.writeBytes("WAVE".getBytes());
        for (byte[] c : chunks) out.writeBytes(c);
        return out.toByteArray();
    }

    static byte[] wav(double[][] x, int rate, int bits, int bytes, boolean isFloat) {
        return riff(chunk("fmt ", fmt(isFloat ? 3 : 1, x.length, rate, bytes, bits)), chunk("data", pcm(x, bits, bytes, isFloat)));
    }

    static Path write(Path dir, String name, byte[] bytes) throws IOException {
        Path p = dir.resolve(name);
        Files.write(p, bytes);
        return p;
    }

    // ---- measurements ----

    static double maxAbsDiff(float[] a, float[] b) {
        if (a.length != b.length) throw new AssertionError("lengths differ: " + a.length + " vs " + b.length);
        double m = 0;
        for (int i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
        return m;
    }

    static double rms(float[] x, int from, int to) {
        double s = 0;
        for (int i = from; i < to; i++) s += (double) x[i] * x[i];
        return Math.sqrt(s / (to - from));
    }

    static double db(double ratio) {
        return 20 * Math.log10(ratio);
    }

    /** Signal-to-noise ratio of {@code actual} against {@code expected} over [from, to), in dB. */
    static double snr(float[] expected, float[] actual, int from, int to) {
        double s = 0, e = 0;
        for (int i = from; i < to; i++) {
            s += (double) expected[i] * expected[i];
            double d = actual[i] - expected[i];
            e += d * d;
        }
        return 10 * Math.log10(s / e);
    }

    /** The lag in [-maxLag, maxLag] at which {@code actual[i + lag]} best matches {@code expected[i]}. */
    static int bestLag(float[] expected, float[] actual, int maxLag) {
        int best = 0;
        double bestScore = Double.NEGATIVE_INFINITY;
        int n = Math.min(expected.length, actual.length);
        for (int lag = -maxLag; lag <= maxLag; lag++) {
            double s = 0;
            for (int i = maxLag; i < n - maxLag; i++) s += expected[i] * actual[i + lag];
            if (s > bestScore) {
                bestScore = s;
                best = lag;
            }
        }
        return best;
    }

    /**
     * Least-squares fit of {@code a·sin + b·cos} at {@code freq} over [from, to): returns the amplitude and the
     * residual RMS (everything that is not that tone).
     */
    static double[] fitTone(float[] x, int rate, double freq, int from, int to) {
        double ss = 0, cc = 0, sc = 0, xs = 0, xc = 0;
        for (int i = from; i < to; i++) {
            double w = 2 * Math.PI * freq * i / rate;
            double s = Math.sin(w), c = Math.cos(w);
            ss += s * s;
            cc += c * c;
            sc += s * c;
            xs += x[i] * s;
            xc += x[i] * c;
        }
        double det = ss * cc - sc * sc;
        double a = (xs * cc - xc * sc) / det, b = (xc * ss - xs * sc) / det;
        double r = 0;
        for (int i = from; i < to; i++) {
            double w = 2 * Math.PI * freq * i / rate;
            double d = x[i] - a * Math.sin(w) - b * Math.cos(w);
            r += d * d;
        }
        return new double[] {Math.hypot(a, b), Math.sqrt(r / (to - from)), Math.atan2(b, a)};
    }

    /** The frequency with the largest DFT magnitude in [lo, hi] Hz, searched in 1 Hz steps. */
    static double dominantFrequency(float[] x, int rate, int lo, int hi) {
        double best = 0, bestPower = -1;
        for (int f = lo; f <= hi; f++) {
            double re = 0, im = 0;
            for (int i = 0; i < x.length; i++) {
                double w = 2 * Math.PI * f * i / rate;
                re += x[i] * Math.cos(w);
                im += x[i] * Math.sin(w);
            }
            double p = re * re + im * im;
            if (p > bestPower) {
                bestPower = p;
                best = f;
            }
        }
        return best;
    }
}
