package org.mimi4j.nn;

import org.mimi4j.io.Checkpoint;
import org.mimi4j.kernels.Activations;
import org.mimi4j.kernels.Gemm;
import org.mimi4j.kernels.PackedMatrix;
import org.mimi4j.kernels.Parallel;
import org.mimi4j.kernels.RowOffsets;
import org.mimi4j.kernels.Scratch;
import org.mimi4j.kernels.TwoTap;
import org.mimi4j.kernels.WeightArena;
import org.mimi4j.kernels.RowSource;

/**
 * Causal ConvTranspose1d (moshi {@code StreamingConvTranspose1d}, trim_right_ratio 1): T inputs give exactly
 * T*stride outputs; the overlap of the last kernel-stride outputs with the next call is carried in the state.
 *
 * <p>Weight [Ci][Co/groups][K]. With groups 1 it runs as a stride-1 causal conv with ceil(K/s) taps and Co*s output
 * channels (one per output phase), y[co][u*s+p] = sum_q W[ci][co][q*s+p] x[ci][u-q]: the state is then the last
 * taps-1 input columns rather than partial outputs, which is the same sum. groups == channels (the depthwise
 * upsample, moshi's "upsample_channel_wise_bug") runs directly. With two taps (kernel 2 x stride: the SEANet
 * decoder's upsampling convs) and {@code winograd}, the stride-1 conv is a {@link TwoTap}: 2/3 of the multiply-adds,
 * on triples of input steps counted from each call's first (calls of multiples of 3 steps cut nothing); the largest
 * (the 1024-channel conv) only in calls of many triples, and in short ones (streaming steps) the direct form on the
 * TwoTap's two filters ({@link TwoTap#fromTriples}).
 */
public final class StreamingConvTranspose1d {
    final int inCh, outCh, kernel, stride, groups;
    private final int taps;
    private final PackedMatrix w;     // groups 1 without winograd: [Co*s][Ci*taps]
    private final TwoTap winograd;    // groups 1, two taps and winograd: the same rows as four products on triples
    private final float[] depthwise;  // groups == channels: [C][K]
    private final float[] bias, phaseBias;
    private final RowOffsets rows = new RowOffsets(this::rowOffsets); // the GEMM's, for the last row length

    public StreamingConvTranspose1d(float[] weight, float[] bias, int inCh, int outCh, int kernel, int stride, int groups) {
        this(weight, bias, inCh, outCh, kernel, stride, groups, null, false);
    }

    /**
     * As the constructor above, the GEMM's weights packed into {@code arena} (null: an array of their own); winograd: a
     * two-tap conv runs as a {@link TwoTap} as {@link TwoTap#fromTriples} says for its weights (ignored for others).
     */
    public StreamingConvTranspose1d(float[] weight, float[] bias, int inCh, int outCh, int kernel, int stride, int groups, WeightArena arena,
                                    boolean winograd) {
        this(weight, bias, inCh, outCh, kernel, stride, groups, arena,
                winograd && groups == 1 && (kernel + stride - 1) / stride == 2 ? TwoTap.fromTriples((long) inCh * outCh * kernel) : -1);
    }

    /**
     * As above; winogradFrom: a two-tap conv runs as a {@link TwoTap} in calls of at least this many triples per
     * stream and in its direct form on the TwoTap's filters below (0: every call as a TwoTap; negative: no TwoTap).
     */
    StreamingConvTranspose1d(float[] weight, float[] bias, int inCh, int outCh, int kernel, int stride, int groups, WeightArena arena,
                             int winogradFrom) {
        this.inCh = inCh;
        this.outCh = outCh;
        this.kernel = kernel;
        this.stride = stride;
        this.groups = groups;
        this.bias = bias;
        this.taps = (kernel + stride - 1) / stride;
        if (groups == 1) {
            this.winograd = winogradFrom >= 0 && taps == 2 ? TwoTap.pack(outCh * stride, inCh, new PhaseRows(weight), arena, winogradFrom) : null;
            w = this.winograd == null ? PackedMatrix.pack(outCh * stride, inCh * taps, new PhaseRows(weight), arena) : null;
            depthwise = null;
            if (bias != null) {
                phaseBias = new float[outCh * stride];
                for (int co = 0; co < outCh; co++) java.util.Arrays.fill(phaseBias, co * stride, (co + 1) * stride, bias[co]);
            } else phaseBias = null;
        } else if (groups == inCh && inCh == outCh) {
            w = null;
            this.winograd = null;
            depthwise = weight.clone();
            phaseBias = null;
        } else {
            throw new IllegalArgumentException("ConvTranspose1d groups must be 1 or the channel count, got " + groups);
        }
    }

    /**
     * The GEMM's rows: row co * stride + p (phase p of output channel co) is [Ci][taps], tap kk being kernel index
     * (taps - 1 - kk) * stride + p of weight [Ci][Co][K]. Read a panel at a time: the [Ci][K] slab of each output
     * channel is gathered once for all its phases (its pieces lie Co*K floats apart, often a multiple of 4 KB, so
     * they share cache sets and a gather per row missed every time: ~17% of a load's CPU).
     */
    private final class PhaseRows implements RowSource {
        private final float[] weight;

        PhaseRows(float[] weight) {
            this.weight = weight;
        }

        @Override
        public void read(int i, float[] dst, int off) {
            float[] row = new float[inCh * taps];
            read(i, 1, row.length, row);
            System.arraycopy(row, 0, dst, off, row.length);
        }

        @Override
        public void read(int i0, int n, int k, float[] dst) {
            for (int co = i0 / stride; co <= (i0 + n - 1) / stride; co++) {
                float[] slab = slab(co);
                for (int row = Math.max(i0, co * stride); row < Math.min(i0 + n, (co + 1) * stride); row++) {
                    phase(slab, row - co * stride, dst, (row - i0) * k);
                }
            }
        }

        private float[] slab(int co) {
            float[] s = new float[inCh * kernel];
            for (int ci = 0; ci < inCh; ci++) System.arraycopy(weight, (ci * outCh + co) * kernel, s, ci * kernel, kernel);
            return s;
        }

        private void phase(float[] slab, int p, float[] dst, int off) {
            for (int ci = 0; ci < inCh; ci++) {
                for (int kk = 0; kk < taps; kk++) {
                    int k = (taps - 1 - kk) * stride + p;
                    dst[off + ci * taps + kk] = k < kernel ? slab[ci * kernel + k] : 0f;
                }
            }
        }
    }

    /**
     * Input steps before the current one that its outputs depend on: taps - 1, and for a {@link TwoTap} in their
     * rounding also the inputs of their triple's earlier steps (2 more).
     */
    public int context() {
        return winograd == null ? taps - 1 : taps + 1;
    }

    public static StreamingConvTranspose1d load(Checkpoint ck, String prefix, int inCh, int outCh, int kernel, int stride,
                                                int groups, boolean hasBias) {
        return load(ck, prefix, inCh, outCh, kernel, stride, groups, hasBias, false);
    }

    /** As above; {@code winograd}: a two-tap conv runs as a {@link TwoTap} as {@link TwoTap#fromTriples} says. */
    public static StreamingConvTranspose1d load(Checkpoint ck, String prefix, int inCh, int outCh, int kernel, int stride,
                                                int groups, boolean hasBias, boolean winograd) {
        float[] wt = ck.tensor(prefix + ".weight", inCh, outCh / groups, kernel);
        float[] b = hasBias ? ck.tensor(prefix + ".bias", outCh) : null;
        return new StreamingConvTranspose1d(wt, b, inCh, outCh, kernel, stride, groups, ck.arena(), winograd);
    }

    /** Floating-point operations of one stream's call over t input steps (2 per multiply-add). */
    public long flops(int t) {
        return 2L * inCh * (outCh / groups) * kernel * t;
    }

    /** The last taps-1 input columns of one stream. */
    public static final class State {
        final float[] prev;
        float[] xp = new float[0], z = new float[0]; // a call's padded input (a TwoTap's operands) and phase-major output
                                                     // (its products), reused
        float[] out;                                 // the last call's output, overwritten by the next call
        float[] other;                               // the output before it, while a caller reads that (flipOutput)

        State(float[] prev) {
            this.prev = prev;
        }

        /** The next call writes the other output array: the last output stays as it is until the call after. */
        void flipOutput() {
            float[] o = out;
            out = other;
            other = o;
        }

        /** Bytes of carried samples. */
        public long bytes() {
            return 4L * prev.length;
        }
    }

    public State newState() {
        return new State(new float[inCh * (taps - 1)]);
    }

    public static State copy(State s) {
        return new State(s.prev.clone());
    }

    private static float[] output(State s, int n) {
        if (s.out == null || s.out.length != n) s.out = new float[n];
        return s.out;
    }

    /** Offsets of the GEMM's B rows (channel ci, tap kk) in the input with its context, rows ld long. */
    private int[] rowOffsets(int ld) {
        int[] off = new int[inCh * taps];
        for (int ci = 0; ci < inCh; ci++) for (int kk = 0; kk < taps; kk++) off[ci * taps + kk] = ci * ld + kk;
        return off;
    }

    /**
     * Channels ci0..ci1 of x ([Ci][t], elu(x) when {@code elu}) into xp after their left context (taps-1 columns from
     * prev), then the last taps-1 columns become the new prev; for a call as a {@link TwoTap}, split into its operands
     * as {@code ops} lays them out (null: the call runs a direct form).
     */
    private void withContext(float[] x, float[] prev, float[] xp, int ci0, int ci1, int t, boolean elu, TwoTap.Operands ops) {
        int c = taps - 1, ld = c + t;
        float[] row = ops == null ? xp : Scratch.small(Scratch.CONV_ROWS, ld);
        for (int ci = ci0; ci < ci1; ci++) {
            int r = ops == null ? ci * ld : 0; // a TwoTap's row in cache, then split into its operands
            System.arraycopy(prev, ci * c, row, r, c);
            if (elu) Activations.elu(x, ci * t, row, r + c, t); // fused into the copy
            else System.arraycopy(x, ci * t, row, r + c, t);
            System.arraycopy(row, r + t, prev, ci * c, c);
            if (ops != null) winograd.split(row, 0, ops, xp, ci);
        }
    }

    /** x[b] is [Ci][t]; returns [Co][t*stride] per stream: the states' own arrays, valid until their next call. */
    public float[][] forward(float[][] x, int t, State[] st) {
        return forward(x, t, st, false);
    }

    /** The same of elu(x) when {@code elu}: the ELU applied while x is copied next to its left context. */
    public float[][] forward(float[][] x, int t, State[] st, boolean elu) {
        int c = taps - 1, ld = c + t;
        int n = x.length;
        float[][] xs = new float[n][];
        TwoTap.Operands ops = winograd == null ? null : winograd.forCall(t, n);
        for (int b = 0; b < n; b++) {
            State s = st[b];
            int size = ops == null ? inCh * ld : ops.floats();
            if (s.xp.length < size) s.xp = new float[size];
            xs[b] = s.xp;
        }
        // all streams' copies in one parallel call, each stream's channels in parts of ~32K floats
        int parts = (int) Math.min(Math.min(inCh, 64), (long) inCh * ld / 32768 + 1);
        if (n * parts == 1) withContext(x[0], st[0].prev, xs[0], 0, inCh, t, elu, ops); // one stream's step: no task, no lambda
        else Parallel.forEach(n * parts, task -> {
            int b = task / parts, part = task % parts;
            withContext(x[b], st[b].prev, xs[b], inCh * part / parts, inCh * (part + 1) / parts, t, elu, ops);
        });
        float[][] out = new float[x.length][];
        if (ops != null) {
            float[][] z = new float[n][];
            for (int b = 0; b < n; b++) {
                if (st[b].z.length < winograd.productFloats(t)) st[b].z = new float[winograd.productFloats(t)];
                z[b] = st[b].z;
                out[b] = output(st[b], outCh * t * stride);
            }
            winograd.forward(phaseBias, xs, ops, z, out, stride);
        } else if (groups == 1) {
            Gemm.Segment[] segs = new Gemm.Segment[x.length];
            float[][] z = new float[x.length][];
            for (int b = 0; b < x.length; b++) {
                if (st[b].z.length < outCh * stride * t) st[b].z = new float[outCh * stride * t];
                z[b] = st[b].z;
                out[b] = output(st[b], outCh * t * stride);
                // phase-major rows z[co*stride + p][u] interleaved into y[co][u*stride + p] block by block
                segs[b] = new Gemm.Segment(xs[b], 0, z[b], 0, t, t, Gemm.Epilogue.interleave(out[b], stride));
            }
            if (winograd == null) Gemm.gemm(w, phaseBias, rows.get(ld), segs, false);
            else winograd.direct(phaseBias, ld, segs);
        } else {
            for (int b = 0; b < x.length; b++) {
                float[] y = output(st[b], outCh * t * stride);
                float[] xp = xs[b];
                for (int ch = 0; ch < outCh; ch++) {
                    float bb = bias == null ? 0f : bias[ch];
                    for (int u = 0; u < t; u++) {
                        for (int p = 0; p < stride; p++) {
                            float acc = bb;
                            for (int q = 0; q < taps; q++) {
                                int k = q * stride + p;
                                if (k < kernel) acc += depthwise[ch * kernel + k] * xp[ch * ld + c + u - q];
                            }
                            y[ch * t * stride + u * stride + p] = acc;
                        }
                    }
                }
                out[b] = y;
            }
        }
        return out;
    }
}
