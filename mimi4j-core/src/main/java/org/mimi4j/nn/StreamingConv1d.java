package org.mimi4j.nn;

import org.mimi4j.io.Checkpoint;
import org.mimi4j.kernels.Activations;
import org.mimi4j.kernels.Gemm;
import org.mimi4j.kernels.PackedMatrix;
import org.mimi4j.kernels.Parallel;
import org.mimi4j.kernels.RowOffsets;
import org.mimi4j.kernels.RowSource;
import org.mimi4j.kernels.Scratch;
import org.mimi4j.kernels.Strided;
import org.mimi4j.kernels.TwoTap;
import org.mimi4j.kernels.WeightArena;

/**
 * Causal Conv1d (moshi {@code StreamingConv1d}): the input is left-padded by {@code (k-1)*dilation + 1 - stride}
 * samples, zeros (pad_mode "constant") or the first input sample (pad_mode "replicate", the learnt downsample), and
 * never on the right. In streaming those samples are the tail of the previous call, kept in a {@link State}; offline
 * is one call from a fresh state, so the two cannot drift apart.
 *
 * <p>Weight [Co][Ci][K]. A strided conv is computed as a stride-1 conv over its polyphase input
 * x'[ci*s+p][u] = x[ci][u*s+p] with ceil(K/s) taps, so every conv is one {@link Gemm} over shifted input rows. With
 * two taps (kernel 2 x stride: the SEANet encoder's downsampling convs) and {@code winograd}, it is a {@link TwoTap}:
 * 2/3 of the multiply-adds, on triples of outputs counted from each call's first (calls of multiples of 3 outputs cut
 * nothing); the largest (the 1024-channel conv) only in calls of many triples, and in short ones (streaming steps) the
 * direct form on the TwoTap's two filters ({@link TwoTap#fromTriples}).
 */
public final class StreamingConv1d {
    final int inCh, outCh, kernel, stride, dilation;
    final boolean replicate;
    private final int taps;     // taps of the stride-1 (polyphase) form
    private final int context;  // samples of left context kept between calls
    private final PackedMatrix w;    // null when winograd is not
    private final TwoTap winograd;   // a two-tap conv's four products on triples of outputs, or null
    private final float[] bias;
    private final RowOffsets rows = new RowOffsets(this::rowOffsets); // the GEMM's, for the last row length

    public StreamingConv1d(float[] weight, float[] bias, int outCh, int inCh, int kernel, int stride, int dilation, boolean replicate) {
        this(RowSource.of(weight, 0, inCh * kernel), bias, outCh, inCh, kernel, stride, dilation, replicate, null, false);
    }

    /**
     * weight: the rows [Co][Ci*K] of the [Co][Ci][K] kernel, packed into {@code arena} (null: an array of its own).
     * winograd: a two-tap strided conv runs as a {@link TwoTap} as {@link TwoTap#fromTriples} says for its weights
     * (ignored for other convs).
     */
    public StreamingConv1d(RowSource weight, float[] bias, int outCh, int inCh, int kernel, int stride, int dilation, boolean replicate,
                           WeightArena arena, boolean winograd) {
        this(weight, bias, outCh, inCh, kernel, stride, dilation, replicate, arena,
                winograd && stride > 1 && (kernel + stride - 1) / stride == 2 ? TwoTap.fromTriples((long) outCh * inCh * kernel) : -1);
    }

    /**
     * As above; winogradFrom: a two-tap strided conv runs as a {@link TwoTap} in calls of at least this many triples
     * per stream and in its direct form on the TwoTap's filters below (0: every call as a TwoTap; negative: no TwoTap).
     */
    StreamingConv1d(RowSource weight, float[] bias, int outCh, int inCh, int kernel, int stride, int dilation, boolean replicate,
                    WeightArena arena, int winogradFrom) {
        if (stride > 1 && dilation > 1) throw new IllegalArgumentException("stride and dilation both > 1");
        this.inCh = inCh;
        this.outCh = outCh;
        this.kernel = kernel;
        this.stride = stride;
        this.dilation = dilation;
        this.replicate = replicate;
        this.bias = bias;
        if (stride == 1) {
            taps = kernel;
            context = (kernel - 1) * dilation;
            w = PackedMatrix.pack(outCh, inCh * kernel, weight, arena);
            this.winograd = null;
        } else {
            taps = (kernel + stride - 1) / stride;
            int shift = taps * stride - kernel; // kernel zero-extended on the left to a multiple of the stride
            context = taps * stride - stride;
            // GEMM row co: [Ci][stride][taps], tap q of phase p being kernel index q * stride + p - shift
            RowSource phaseRows = (co, dst, off) -> {
                float[] row = new float[inCh * kernel];
                weight.read(co, row, 0);
                java.util.Arrays.fill(dst, off, off + inCh * stride * taps, 0f); // the taps left of the kernel stay 0
                for (int ci = 0; ci < inCh; ci++) {
                    for (int k = 0; k < kernel; k++) {
                        int e = k + shift; // tap q = e / stride of phase p = e % stride
                        dst[off + (ci * stride + e % stride) * taps + e / stride] = row[ci * kernel + k];
                    }
                }
            };
            this.winograd = winogradFrom >= 0 && taps == 2 ? TwoTap.pack(outCh, inCh * stride, phaseRows, arena, winogradFrom) : null;
            w = this.winograd == null ? PackedMatrix.pack(outCh, inCh * stride * taps, phaseRows, arena) : null;
        }
    }

    /** Loads {@code prefix.weight} [Co][Ci][K] and, if {@code hasBias}, {@code prefix.bias} [Co] (moshi names). */
    public static StreamingConv1d load(Checkpoint ck, String prefix, int outCh, int inCh, int kernel, int stride, int dilation,
                                       boolean replicate, boolean hasBias) {
        return load(ck, prefix, outCh, inCh, kernel, stride, dilation, replicate, hasBias, false);
    }

    /** As above; {@code winograd}: a two-tap strided conv runs as a {@link TwoTap} as {@link TwoTap#fromTriples} says. */
    public static StreamingConv1d load(Checkpoint ck, String prefix, int outCh, int inCh, int kernel, int stride, int dilation,
                                       boolean replicate, boolean hasBias, boolean winograd) {
        RowSource wt = ck.rows(prefix + ".weight", outCh, inCh, kernel);
        float[] b = hasBias ? ck.tensor(prefix + ".bias", outCh) : null;
        return new StreamingConv1d(wt, b, outCh, inCh, kernel, stride, dilation, replicate, ck.arena(), winograd);
    }

    /** Left context of one stream: the last {@code context} input samples of each channel. */
    public static final class State {
        final float[] prev;
        boolean first = true;
        float[] xp = new float[0]; // the polyphase input of a call (a TwoTap's operands), reused (not part of the stream's state)
        float[] c = new float[0];  // a TwoTap's products, reused
        float[] out;               // the last call's output, overwritten by the next call

        State(int size) {
            prev = new float[size];
        }

        State(State o) {
            prev = o.prev.clone();
            first = o.first;
        }

        /** Bytes of carried samples. */
        public long bytes() {
            return 4L * prev.length;
        }
    }

    public State newState() {
        return new State(inCh * context);
    }

    public static State copy(State s) {
        return new State(s);
    }

    public int stride() {
        return stride;
    }

    /**
     * Input samples before the current one that an output depends on: its left context, and for a {@link TwoTap} in
     * its rounding also the inputs of its triple's earlier outputs (2 strides more).
     */
    public int context() {
        return winograd == null ? context : context + 2 * stride;
    }

    public int outChannels() {
        return outCh;
    }

    /**
     * One step for a batch of streams: x[b] is [Ci][t], t a multiple of the stride unless {@code padEnd} (then the
     * input is right-padded to a multiple of the stride, with zeros or, for replicate, the last sample: transformers'
     * end-of-input padding). Returns [Co][t/stride] per stream and advances each state. The outputs are the states'
     * own arrays, valid until the state's next call (no allocation per streaming step).
     */
    public float[][] forward(float[][] x, int t, State[] st, boolean padEnd) {
        return forward(x, t, st, padEnd, false);
    }

    /**
     * As {@link #forward(float[][], int, State[], boolean)} of elu(x) when {@code elu}: the ELU is applied while the
     * input is copied next to its left context (into the conv's own buffer), x itself is left as it is.
     */
    public float[][] forward(float[][] x, int t, State[] st, boolean padEnd, boolean elu) {
        return forward(x, t, st, padEnd, elu, null);
    }

    /**
     * As {@link #forward(float[][], int, State[], boolean, boolean)}, then {@code after[b]} on stream b's output while
     * it is in cache (elu(y), or a residual + y); null: nothing.
     */
    public float[][] forward(float[][] x, int t, State[] st, boolean padEnd, boolean elu, Gemm.Epilogue[] after) {
        if (winograd != null && after != null) throw new IllegalArgumentException("a two-tap conv's output has no epilogue");
        Call c = prepare(x, t, st, padEnd, elu, after);
        if (winograd == null) Gemm.gemm(w, bias, c.rowOff(w, t), c.segs, false);
        else if (c.operands == null) winograd.direct(bias, c.ld, c.segs);
        else {
            int n = st.length, tOut = c.segs[0].n();
            float[][] b = new float[n][], cs = new float[n][];
            for (int i = 0; i < n; i++) {
                b[i] = st[i].xp;
                if (st[i].c.length < winograd.productFloats(tOut)) st[i].c = new float[winograd.productFloats(tOut)];
                cs[i] = st[i].c;
            }
            winograd.forward(bias, b, c.operands, cs, c.out, 1);
        }
        return c.out;
    }

    /**
     * A SEANet residual block's convs, x + b(elu(a(elu(x)))) per stream: {@code b.forward(a.forward(x, t, sa, false,
     * true, ELU), t, sb, false, false, add(x))} for a pointwise b, with the two GEMMs chained ({@link Gemm#chain}: a's
     * output need not leave the cache). Returns b's outputs.
     */
    public static float[][] residual(StreamingConv1d a, State[] sa, StreamingConv1d b, State[] sb, float[][] x, int t) {
        if (b.context != 0) throw new IllegalArgumentException("the second conv of a chain must be pointwise");
        int n = x.length;
        Gemm.Epilogue[] elu = new Gemm.Epilogue[n], add = new Gemm.Epilogue[n];
        for (int i = 0; i < n; i++) {
            elu[i] = Gemm.Epilogue.ELU;
            add[i] = Gemm.Epilogue.add(x[i]); // x + conv2(...), added block by block while in cache
        }
        Call ca = a.prepare(x, t, sa, false, true, elu), cb = b.prepare(ca.out, t, sb, false, false, add);
        Gemm.chain(a.w, a.bias, ca.rowOff(a.w, t), ca.segs, b.w, b.bias, cb.segs);
        return cb.out;
    }

    /**
     * One call's GEMM, ready to run: the segments, the outputs, and B's row offsets, or null for a pointwise conv (rows t
     * apart, asked of the weights only when its GEMM runs alone: in a chain it reads another layout); for a
     * {@link TwoTap}, where its operands lie, or null when the call runs its direct form on B's rows of length ld.
     */
    private record Call(int[] offsets, int ld, Gemm.Segment[] segs, float[][] out, TwoTap.Operands operands) {
        int[] rowOff(PackedMatrix w, int t) {
            return offsets != null ? offsets : w.rowsOf(t);
        }
    }

    /**
     * Everything of a call but its GEMM: the inputs copied next to their left context (polyphase for a strided conv,
     * elu(x) when {@code elu}), the states advanced, the outputs (the states' arrays) in place.
     */
    private Call prepare(float[][] x, int t, State[] st, boolean padEnd, boolean elu, Gemm.Epilogue[] after) {
        if (context == 0) return preparePointwise(x, t, st, elu, after);
        int tp = t;
        if (t % stride != 0) {
            if (!padEnd) throw new IllegalArgumentException("steps " + t + " not a multiple of stride " + stride);
            tp = (t + stride - 1) / stride * stride;
        }
        int tOut = tp / stride;
        int rowsIn = inCh * stride;          // channels of the polyphase input
        int ld = context / stride + tOut;    // its length: context + new samples, in polyphase columns
        int n = x.length;
        Gemm.Segment[] segs = new Gemm.Segment[n];
        float[][] out = new float[n][];
        TwoTap.Operands ops = winograd == null ? null : winograd.forCall(tOut, n);
        for (int b = 0; b < n; b++) {
            State s = st[b];
            int size = ops == null ? rowsIn * ld : ops.floats();
            if (s.xp.length < size) s.xp = new float[size];
            if (replicate && s.first) {
                for (int ci = 0; ci < inCh; ci++) java.util.Arrays.fill(s.prev, ci * context, (ci + 1) * context, x[b][ci * t]);
            }
            s.first = false;
            if (s.out == null || s.out.length != outCh * tOut) s.out = new float[outCh * tOut];
            out[b] = s.out;
            segs[b] = new Gemm.Segment(s.xp, 0, out[b], 0, tOut, tOut, after == null ? Gemm.Epilogue.NONE : after[b]);
        }
        // the copies of all streams in one parallel call: each stream's channels in parts of ~32K floats (a batch of
        // streams at the low rates, one part each, no longer copies on one thread)
        int tpad = tp, parts = (int) Math.min(Math.min(inCh, 64), (long) inCh * (context + tp) / 32768 + 1);
        Parallel.forEach(n * parts, task -> {
            int b = task / parts, part = task % parts, c0 = inCh * part / parts, c1 = inCh * (part + 1) / parts;
            if (ops == null) {
                float[] eluRow = elu && stride > 1 ? Scratch.small(Scratch.CONV_ELU_ROW, t) : null; // once per task, not per channel
                for (int ci = c0; ci < c1; ci++) polyphase(x[b], ci * t, t, tpad, ci, st[b].prev, st[b].xp, ci * stride, ld, eluRow, elu);
                return;
            }
            // a channel's [prev, elu(x), pad] (in cache), whose phase p (every stride-th value from p) the TwoTap splits
            // into its operands: phase rows read in place, never copied out
            float[] row = Scratch.small(Scratch.CONV_ROWS, context + tpad);
            for (int ci = c0; ci < c1; ci++) {
                withContext(x[b], ci * t, t, tpad, ci, st[b].prev, row, elu);
                winograd.splitPhases(row, stride, ops, st[b].xp, ci * stride);
            }
        });
        return new Call(winograd == null ? rows.get(ld) : null, ld, segs, out, ops);
    }

    /** Offsets of the GEMM's B rows (polyphase channel r, tap q) in the polyphase input of row length ld. */
    private int[] rowOffsets(int ld) {
        int rowsIn = inCh * stride;
        int[] off = new int[rowsIn * taps];
        for (int i = 0; i < rowsIn; i++) for (int q = 0; q < taps; q++) off[i * taps + q] = i * ld + q * (stride == 1 ? dilation : 1);
        return off;
    }

    /**
     * A 1x1 conv (no left context): the GEMM reads x itself, no copy (elu(x) when {@code elu}, into the buffer).
     * (A split of wider stride-1 kernels into direct columns and a [prev, x] head was measured slower: the head's
     * GEMM reads all of the weights again.) Its row offsets come when the GEMM runs: a chain needs others.
     */
    private Call preparePointwise(float[][] x, int t, State[] st, boolean elu, Gemm.Epilogue[] after) {
        int n = x.length;
        float[][] out = new float[n][];
        Gemm.Segment[] segs = new Gemm.Segment[n];
        for (int b = 0; b < n; b++) {
            State s = st[b];
            s.first = false;
            float[] in = x[b];
            if (elu) {
                if (s.xp.length < inCh * t) s.xp = new float[inCh * t];
                Activations.elu(x[b], s.xp, inCh * t);
                in = s.xp;
            }
            if (s.out == null || s.out.length != outCh * t) s.out = new float[outCh * t];
            out[b] = s.out;
            segs[b] = new Gemm.Segment(in, 0, s.out, 0, t, t, after == null ? Gemm.Epilogue.NONE : after[b]);
        }
        return new Call(null, t, segs, out, null);
    }

    /** Floating-point operations of one stream's call over t input steps (2 per multiply-add). */
    public long flops(int t) {
        return 2L * macsPerOutput() * ((t + stride - 1) / stride);
    }

    /**
     * Channel ci of [prev, x, end padding] (context + tp samples; its x at x[xo..xo+t)) into polyphase rows
     * xp[row0 + p][u] = sample u*stride + p (of elu(x) when {@code elu}; a strided conv computes it into {@code eluRow},
     * the task's row of at least t floats), rows ld long; then the last {@code context} samples become the new prev.
     */
    private void polyphase(float[] x, int xo, int t, int tp, int ci, float[] prev, float[] xp, int row0, int ld, float[] eluRow, boolean elu) {
        int po = ci * context;
        if (stride == 1) { // prev holds what the GEMM read last time: with a fused ELU, elu(x)
            int row = row0 * ld;
            System.arraycopy(prev, po, xp, row, context);
            if (elu) Activations.elu(x, xo, xp, row + context, t);
            else System.arraycopy(x, xo, xp, row + context, t);
            System.arraycopy(xp, row + tp, prev, po, context);
            return;
        }
        if (elu) { // this channel's elu(x) into the thread's row (in cache), then the same polyphase copy from it
            Activations.elu(x, xo, eluRow, 0, t);
            x = eluRow;
            xo = 0;
        }
        float pad = replicate ? x[xo + t - 1] : 0f;
        int n = context + tp;
        for (int p = 0; p < stride; p++) {
            int row = (row0 + p) * ld;
            int u = 0, i = p;
            for (; i < context; i += stride, u++) xp[row + u] = prev[po + i];
            int end = context + t, m = i < end ? (end - 1 - i) / stride + 1 : 0; // samples of x in this row
            Strided.copy(x, xo + i - context, stride, xp, row + u, m);
            i += m * stride;
            u += m;
            for (; i < n; i += stride, u++) xp[row + u] = pad;
        }
        // the new left context: the last `context` samples of [prev, x, pad], i.e. samples tp .. tp+context-1
        for (int i = 0; i < context; i++) {
            int j = tp + i;
            prev[po + i] = j < context ? prev[po + j] : j - context < t ? x[xo + j - context] : pad;
        }
    }

    /**
     * Channel ci of [prev, x, end padding] into row[0 .. context + tp) (elu(x) when {@code elu}); then its last
     * {@code context} values become the new prev. Sample u * stride + p of the row is value u of phase p's polyphase row.
     */
    private void withContext(float[] x, int xo, int t, int tp, int ci, float[] prev, float[] row, boolean elu) {
        int po = ci * context;
        System.arraycopy(prev, po, row, 0, context);
        if (elu) Activations.elu(x, xo, row, context, t);
        else System.arraycopy(x, xo, row, context, t);
        java.util.Arrays.fill(row, context + t, context + tp, replicate ? row[context + t - 1] : 0f);
        System.arraycopy(row, tp, prev, po, context);
    }

    /** Multiply-adds per output step, for FLOP accounting. */
    public long macsPerOutput() {
        return (long) outCh * inCh * kernel;
    }
}
