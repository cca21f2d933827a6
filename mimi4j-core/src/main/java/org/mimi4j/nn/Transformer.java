package org.mimi4j.nn;

import org.mimi4j.io.Checkpoint;
import org.mimi4j.kernels.Activations;
import org.mimi4j.kernels.Attention;
import org.mimi4j.kernels.Gemm;
import org.mimi4j.kernels.LayerNorm;
import org.mimi4j.kernels.Parallel;
import org.mimi4j.kernels.Rope;
import org.mimi4j.perf.Profiler;

/**
 * Causal transformer over channel-major [D][T] latents at 25 Hz (moshi {@code ProjectedTransformer} with
 * conv_layout, d_model == input dimension so no projections): RoPE (interleaved pairs, positions counted from the
 * start of the stream), sliding window: query t sees keys s with 0 <= t - s < context.
 *
 * <p>Streaming keeps each layer's last keys and values in a {@link State}. Two cache semantics exist, chosen per
 * state ({@link CacheMode}): offline-exact (the window only) and upstream streaming, where moshi writes each call's
 * steps into a ring of capacity {@code context} before attending, so a query also loses the keys its own call
 * overwrote (mimi-facts #10).
 */
public final class Transformer {
    final TransformerLayer[] layers;
    final int d, heads, headDim, ff, context;
    final float eps;
    private final float[] invFreq; // RoPE frequencies, computed in float32 as moshi does

    public Transformer(Checkpoint ck, String prefix, int layers, int d, int heads, int ff, int context, double eps, double theta) {
        this.d = d;
        this.heads = heads;
        this.headDim = d / heads;
        this.ff = ff;
        this.context = context;
        this.eps = (float) eps;
        this.layers = new TransformerLayer[layers];
        for (int i = 0; i < layers; i++) this.layers[i] = new TransformerLayer(ck, prefix + ".transformer.layers." + i, d, heads, ff);
        invFreq = new float[headDim / 2];
        float c = (float) (-Math.log(theta) * 2 / headDim);
        for (int i = 0; i < invFreq.length; i++) invFreq[i] = (float) Math.exp((float) i * c);
    }

    /** How the key/value cache of a stream behaves once a stream is longer than the context. */
    public enum CacheMode {
        /** Every query sees exactly the last {@code context} keys, as offline: results equal offline encode/decode. */
        OFFLINE_EXACT,
        /**
         * moshi's streaming: each call of {@code stepsPerCall} steps goes into a ring of {@code context} slots first,
         * so the first query of a call sees {@code stepsPerCall - 1} keys fewer than offline.
         */
        UPSTREAM
    }

    /** Keys and values of the last {@code context} steps of every layer, and the stream position. */
    public static final class State {
        final CacheMode mode;
        final int stepsPerCall;
        final int layers, context, d, headDim;
        float[][] keys, values; // per layer, step p in ring slot p % capacity: the layouts of Attention (keys in blocks
                                // of 16 steps, channel-major within a block; values head-major [heads][capacity][D/heads])
        int capacity;           // >= context + steps of a call (a call writes its keys beside the window), whole key blocks
        int count;              // valid entries before the current call (<= context)
        long offset;            // steps seen so far
        final Work work = new Work(); // one call's activations, reused from call to call (not part of the state)

        State(int layers, int context, int d, int headDim, CacheMode mode, int stepsPerCall) {
            this.mode = mode;
            this.stepsPerCall = stepsPerCall;
            this.layers = layers;
            this.context = context;
            this.d = d;
            this.headDim = headDim;
            allocate(Attention.ringCapacity(context + Math.max(1, stepsPerCall)));
        }

        State(State o) {
            mode = o.mode;
            stepsPerCall = o.stepsPerCall;
            layers = o.layers;
            context = o.context;
            d = o.d;
            headDim = o.headDim;
            capacity = o.capacity;
            keys = new float[layers][];
            values = new float[layers][];
            for (int i = 0; i < layers; i++) {
                keys[i] = o.keys[i].clone();
                values[i] = o.values[i].clone();
            }
            count = o.count;
            offset = o.offset;
        }

        private void allocate(int cap) {
            capacity = cap;
            keys = new float[layers][cap * d];
            values = new float[layers][cap * d];
        }

        /** Room for a call of t steps beside the window: a larger ring (offline chunks), the cached steps moved over. */
        void reserve(int t) {
            if (t <= capacity - context) return;
            float[][] ok = keys, ov = values;
            int oc = capacity;
            allocate(Attention.ringCapacity(context + t));
            for (long p = offset - count; p < offset; p++) {
                int from = (int) (p % oc), to = (int) (p % capacity);
                for (int l = 0; l < layers; l++) {
                    for (int c = 0; c < d; c++) keys[l][Attention.keyIndex(to, c, d)] = ok[l][Attention.keyIndex(from, c, d)];
                    for (int h = 0; h < d / headDim; h++) {
                        System.arraycopy(ov[l], Attention.valueIndex(from, h, oc, headDim),
                                values[l], Attention.valueIndex(to, h, capacity, headDim), headDim);
                    }
                }
            }
        }

        public State copy() {
            return new State(this);
        }

        public long offset() {
            return offset;
        }

        public long bytes() {
            return 4L * keys.length * (keys[0].length + values[0].length);
        }
    }

    /** A stream's activations within one call ([channels][t] unless noted), grown as needed and reused. */
    static final class Work {
        float[] h, norm, qkv, att, proj, ff, q, o, cos, sin;

        void reserve(int d, int ff, int t, int half) {
            if (h == null || h.length != d * t) h = new float[d * t]; // the output: exactly [D][t]
            norm = grow(norm, d * t);
            qkv = grow(qkv, 3 * d * t);
            att = grow(att, d * t);
            proj = grow(proj, d * t);
            this.ff = grow(this.ff, ff * t);
            q = grow(q, d * Attention.queryStride(t)); // time-major [t][D], or [D][ldq] (Attention.attendBlocked)
            o = grow(o, d * t);     // time-major [t][D]
            cos = grow(cos, half * t);
            sin = grow(sin, half * t);
        }

        private static float[] grow(float[] a, int n) {
            return a != null && a.length >= n ? a : new float[n];
        }
    }

    public State newState(CacheMode mode, int stepsPerCall) {
        return new State(layers.length, context, d, headDim, mode, stepsPerCall);
    }

    /** Floating-point operations of one stream's call over t steps with {@code past} cached steps. */
    public long flops(int t, int past) {
        long linears = 2L * (4L * d * d + 2L * d * ff) * t;
        long keys = 0;
        for (int i = 0; i < t; i++) keys += Math.min(context, past + i + 1);
        return layers.length * (linears + 4L * d * keys);
    }

    /**
     * x[b]: [D][t], same t for all streams; returns the new [D][t] per stream and advances the states. The outputs
     * are the states' own arrays, valid until the state's next call.
     */
    public float[][] forward(float[][] x, int t, State[] st) {
        long t0 = Profiler.begin();
        int n = x.length, half = headDim / 2;
        float[][] h = new float[n][];
        Work[] w = new Work[n];
        for (int b = 0; b < n; b++) {
            st[b].reserve(t);
            w[b] = st[b].work;
            w[b].reserve(d, ff, t, half);
            h[b] = w[b].h;
            System.arraycopy(x[b], 0, h[b], 0, d * t);
            ropeTable(st[b].offset, t, w[b]);
        }
        float[][] norm = field(w, k -> k.norm), qkv = field(w, k -> k.qkv), att = field(w, k -> k.att);
        float[][] proj = field(w, k -> k.proj), f = field(w, k -> k.ff);
        for (int li = 0; li < layers.length; li++) {
            TransformerLayer l = layers[li];
            // self-attention block; the per-stream steps of a batch run on the compute threads stream by stream
            // (one stream: within each step instead)
            Parallel.forEach(n, b -> LayerNorm.forward(h[b], norm[b], d, t, l.norm1W, l.norm1B, eps));
            linear(l.inProj, norm, t, qkv);
            int layer = li;
            Parallel.forEach(n, b -> attention(qkv[b], t, st[b], layer, att[b]));
            linear(l.outProj, att, t, proj);
            addScaled(h, proj, l.scale1, t);
            // feed-forward block
            Parallel.forEach(n, b -> LayerNorm.forward(h[b], norm[b], d, t, l.norm2W, l.norm2B, eps));
            linear(l.linear1, norm, t, f);
            Parallel.forEach(n, b -> Activations.gelu(f[b], ff * t));
            linear(l.linear2, f, t, proj);
            addScaled(h, proj, l.scale2, t);
        }
        if (t0 != 0L) {
            long fl = 0;
            for (State s : st) fl += flops(t, s.count);
            Profiler.end(Profiler.Stage.TRANSFORMER, t0, fl);
        }
        for (State s : st) {
            s.count = (int) Math.min(context, s.count + (long) t);
            s.offset += t;
        }
        return h;
    }

    private static float[][] field(Work[] w, java.util.function.Function<Work, float[]> f) {
        float[][] a = new float[w.length][];
        for (int b = 0; b < w.length; b++) a[b] = f.apply(w[b]);
        return a;
    }

    /** y = W x for channel-major x [in][t] per stream, all streams in one GEMM, into y [out][t]. */
    private static void linear(org.mimi4j.kernels.PackedMatrix w, float[][] x, int t, float[][] y) {
        Gemm.Segment[] segs = new Gemm.Segment[x.length];
        for (int b = 0; b < x.length; b++) segs[b] = new Gemm.Segment(x[b], 0, y[b], 0, t, t);
        Gemm.gemm(w, null, w.rowsOf(t), segs, false);
    }

    /**
     * h[b] += scale (per channel) * u[b], both [D][t] (LayerScale and the residual connection): per stream, and an
     * offline call's one stream in ranges of channels on the compute threads.
     */
    private void addScaled(float[][] h, float[][] u, float[] scale, int t) {
        int n = h.length, parts = t >= 32 ? Math.max(1, Parallel.threads() / n) : 1;
        Parallel.forEach(n * parts, task -> {
            int b = task / parts, part = task % parts;
            float[] hb = h[b], ub = u[b];
            for (int c = d * part / parts; c < d * (part + 1) / parts; c++) {
                float s = scale[c];
                for (int i = c * t; i < c * t + t; i++) hb[i] += s * ub[i];
            }
        });
    }

    /** cos and sin of step i's angles pos * freq_j at [j*t + i], for the call's steps (the same for every layer). */
    private void ropeTable(long pos0, int t, Work w) {
        int half = headDim / 2;
        for (int i = 0; i < t; i++) {
            float p = (float) (pos0 + i);
            for (int j = 0; j < half; j++) {
                float angle = invFreq[j] * p;
                w.cos[j * t + i] = (float) Math.cos(angle);
                w.sin[j * t + i] = (float) Math.sin(angle);
            }
        }
    }

    /**
     * One stream, one layer: qkv [3D][t] channel-major in, attention output [D][t] channel-major into out. This
     * call's keys (after RoPE) and values go straight into the state's rings, which are then attended in place.
     * Head by head on the compute threads: queries to time-major rows, RoPE, keys and values into the rings.
     */
    private void attention(float[] qkv, int t, State st, int layer, float[] out) {
        if (t >= Attention.QUERY_BLOCK && Attention.blockable(headDim)) {
            attentionBlocked(qkv, t, st, layer, out);
            return;
        }
        long pos0 = st.offset;
        int past = st.count, cap = st.capacity, half = headDim / 2;
        Work w = st.work;
        float[] q = w.q, o = w.o, cos = w.cos, sin = w.sin;
        float[] rk = st.keys[layer], rv = st.values[layer];
        // per head on the compute threads, a streaming step's too: its writes to the rings (a cache line per key channel)
        // miss the caches, and splitting them took ~2% off one stream's step (AbBench stream1, both orders)
        Parallel.forEach(heads, hh -> {
            int c0 = hh * headDim, c1 = c0 + headDim;
            for (int i = 0; i < t; i++) {
                for (int c = c0; c < c1; c += 2) { // interleaved pairs (c, c+1) rotated by pos * freq_{(c - c0)/2}
                    int j = (c - c0) / 2 * t + i;
                    float cs = cos[j], sn = sin[j];
                    float re = qkv[c * t + i], im = qkv[(c + 1) * t + i];
                    q[i * d + c] = re * cs - im * sn;
                    q[i * d + c + 1] = re * sn + im * cs;
                }
            }
            intoRings(qkv, t, pos0, cap, cos, sin, rk, rv, hh);
        });
        int[] lo = new int[t], hi = new int[t];
        long firstKey = pos0 - past;
        window(st, pos0, firstKey, t, lo, hi);
        int first = (int) (firstKey % cap);
        Attention.attend(q, t, rk, rv, first, cap, heads, headDim, lo, hi, o);
        Parallel.forEach(heads, hh -> { // o's rows front to back: a column of o (rows 2 KB apart) maps to 2 sets of L1
            for (int i = 0; i < t; i++) for (int c = hh * headDim; c < (hh + 1) * headDim; c++) out[c * t + i] = o[i * d + c];
        });
    }

    /**
     * {@link #attention} of an offline call's many steps, channel-major throughout ({@link Attention#attendBlocked}):
     * the queries rotated in place of their rows, each key channel's run of steps within a ring block rotated into it,
     * and the outputs written straight into out.
     */
    private void attentionBlocked(float[] qkv, int t, State st, int layer, float[] out) {
        long pos0 = st.offset;
        int past = st.count, cap = st.capacity, ldq = Attention.queryStride(t);
        Work w = st.work;
        float[] q = w.q, cos = w.cos, sin = w.sin;
        float[] rk = st.keys[layer], rv = st.values[layer];
        Parallel.forEach(heads, hh -> {
            int c0 = hh * headDim, c1 = c0 + headDim;
            for (int c = c0; c < c1; c += 2) { // pairs (c, c+1) rotated by pos * freq_{(c - c0)/2}
                Rope.rotate(qkv, c * t, (c + 1) * t, cos, sin, (c - c0) / 2 * t, q, c * ldq, (c + 1) * ldq, t);
            }
            intoRings(qkv, t, pos0, cap, cos, sin, rk, rv, hh);
        });
        int[] lo = new int[t], hi = new int[t];
        long firstKey = pos0 - past;
        window(st, pos0, firstKey, t, lo, hi);
        Attention.attendBlocked(q, ldq, t, rk, rv, (int) (firstKey % cap), cap, heads, headDim, lo, hi, out, t);
    }

    /**
     * Head hh's keys of the call's steps (qkv rows D.., after RoPE) and values (rows 2D..) into the layer's rings, step
     * pos0 + i at slot (pos0 + i) % cap: each key channel's run of steps within a ring block is consecutive floats there.
     */
    private void intoRings(float[] qkv, int t, long pos0, int cap, float[] cos, float[] sin, float[] rk, float[] rv, int hh) {
        // step pos0 + i at slot0 + i, less cap past the ring's end (t <= cap): no division per key
        int c0 = hh * headDim, c1 = c0 + headDim, slot0 = (int) (pos0 % cap);
        for (int c = c0; c < c1; c += 2) { // pairs (c, c+1) rotated by pos * freq_{(c - c0)/2}
            int co = (c - c0) / 2 * t;
            for (int i = 0, run; i < t; i += run) {
                int slot = slot0 + i < cap ? slot0 + i : slot0 + i - cap;
                run = Math.min(t - i, Attention.KEY_BLOCK - slot % Attention.KEY_BLOCK);
                Rope.rotate(qkv, (d + c) * t + i, (d + c + 1) * t + i, cos, sin, co + i,
                        rk, Attention.keyIndex(slot, c, d), Attention.keyIndex(slot, c + 1, d), run);
            }
        }
        for (int i = 0; i < t; i++) {
            int vo = Attention.valueIndex(slot0 + i < cap ? slot0 + i : slot0 + i - cap, hh, cap, headDim) - c0;
            for (int c = c0; c < c1; c++) rv[vo + c] = qkv[(2 * d + c) * t + i];
        }
    }

    /** Keys lo[i]..hi[i] (counted from firstKey) that query pos0+i attends, by the state's cache semantics. */
    private void window(State st, long pos0, long firstKey, int t, int[] lo, int[] hi) {
        for (int i = 0; i < t; i++) {
            long pq = pos0 + i;
            long from = pq - context + 1;
            if (st.mode == CacheMode.UPSTREAM) {
                long callEnd = (pq / st.stepsPerCall) * st.stepsPerCall + st.stepsPerCall - 1;
                from = Math.max(from, callEnd - context + 1);
            }
            lo[i] = (int) (Math.max(from, firstKey) - firstKey);
            hi[i] = (int) (pq - firstKey);
        }
    }
}
