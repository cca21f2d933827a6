package org.mimi4j.nn;

import org.mimi4j.io.Checkpoint;
import org.mimi4j.kernels.Activations;
import org.mimi4j.kernels.Attention;
import org.mimi4j.kernels.Gemm;
import org.mimi4j.kernels.LayerNorm;
import org.mimi4j.kernels.Parallel;
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
        final float[][] keys, values; // per layer: keys channel-major [D][ldk], values time-major [capacity][D]
        final int capacity;           // context + steps per call: a call of that many steps writes its keys beside the window
        final int ldk;                // key rows: step p at columns p % capacity and p % capacity + capacity, so any
                                      // window of at most capacity steps is contiguous (the attention reads it in place)
        final int context, d;
        int count;                    // valid entries before the current call (<= context)
        long offset;                  // steps seen so far

        State(int layers, int context, int d, CacheMode mode, int stepsPerCall) {
            this.mode = mode;
            this.stepsPerCall = stepsPerCall;
            this.context = context;
            this.d = d;
            capacity = context + Math.max(1, stepsPerCall);
            ldk = Attention.keyRowLength(2 * capacity);
            keys = new float[layers][d * ldk];
            values = new float[layers][capacity * d];
        }

        State(State o) {
            mode = o.mode;
            stepsPerCall = o.stepsPerCall;
            context = o.context;
            d = o.d;
            capacity = o.capacity;
            ldk = o.ldk;
            keys = new float[o.keys.length][];
            values = new float[o.values.length][];
            for (int i = 0; i < keys.length; i++) {
                keys[i] = o.keys[i].clone();
                values[i] = o.values[i].clone();
            }
            count = o.count;
            offset = o.offset;
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

    public State newState(CacheMode mode, int stepsPerCall) {
        return new State(layers.length, context, d, mode, stepsPerCall);
    }

    /** Floating-point operations of one stream's call over t steps with {@code past} cached steps. */
    public long flops(int t, int past) {
        long linears = 2L * (4L * d * d + 2L * d * ff) * t;
        long keys = 0;
        for (int i = 0; i < t; i++) keys += Math.min(context, past + i + 1);
        return layers.length * (linears + 4L * d * keys);
    }

    /** x[b]: [D][t], same t for all streams; returns the new [D][t] per stream and advances the states. */
    public float[][] forward(float[][] x, int t, State[] st) {
        long t0 = Profiler.begin();
        int n = x.length;
        float[][] h = new float[n][];
        for (int b = 0; b < n; b++) h[b] = x[b].clone();
        float[][] tmp = new float[n][d * t];
        for (int li = 0; li < layers.length; li++) {
            TransformerLayer l = layers[li];
            // self-attention block; the per-stream steps of a batch run on the compute threads stream by stream
            // (one stream: within each step instead)
            Parallel.forEach(n, b -> LayerNorm.forward(h[b], tmp[b], d, t, l.norm1W, l.norm1B, eps));
            float[][] qkv = linear(l.inProj, tmp, t, 3 * d);
            float[][] att = new float[n][];
            int layer = li;
            Parallel.forEach(n, b -> att[b] = attention(qkv[b], t, st[b], layer));
            float[][] o = linear(l.outProj, att, t, d);
            Parallel.forEach(n, b -> addScaled(h[b], o[b], l.scale1, t));
            // feed-forward block
            Parallel.forEach(n, b -> LayerNorm.forward(h[b], tmp[b], d, t, l.norm2W, l.norm2B, eps));
            float[][] f = linear(l.linear1, tmp, t, ff);
            Parallel.forEach(n, b -> Activations.gelu(f[b], f[b].length));
            float[][] y = linear(l.linear2, f, t, d);
            Parallel.forEach(n, b -> addScaled(h[b], y[b], l.scale2, t));
        }
        if (t0 != 0L) {
            long f = 0;
            for (State s : st) f += flops(t, s.count);
            Profiler.end(Profiler.Stage.TRANSFORMER, t0, f);
        }
        for (State s : st) {
            s.count = (int) Math.min(context, s.count + (long) t);
            s.offset += t;
        }
        return h;
    }

    /** y = W x for channel-major x [in][t] per stream, all streams in one GEMM. */
    private static float[][] linear(org.mimi4j.kernels.PackedMatrix w, float[][] x, int t, int out) {
        float[][] y = new float[x.length][];
        Gemm.Segment[] segs = new Gemm.Segment[x.length];
        for (int b = 0; b < x.length; b++) {
            y[b] = new float[out * t];
            segs[b] = new Gemm.Segment(x[b], 0, y[b], 0, t, t);
        }
        Gemm.gemm(w, null, Gemm.rowsOf(w.cols(), t), segs, false);
        return y;
    }

    /** h += scale (per channel) * u, both [D][t] (LayerScale and the residual connection). */
    private void addScaled(float[] h, float[] u, float[] scale, int t) {
        for (int c = 0; c < d; c++) {
            float s = scale[c];
            for (int i = c * t; i < c * t + t; i++) h[i] += s * u[i];
        }
    }

    /**
     * One stream, one layer: qkv [3D][t] channel-major in, attention output [D][t] channel-major out. This call's
     * keys (after RoPE) and values go straight into the state's rings, which are then attended in place.
     */
    private float[] attention(float[] qkv, int t, State st, int layer) {
        if (t > st.capacity - context) return attentionCopy(qkv, t, st, layer);
        long pos0 = st.offset;
        int past = st.count, cap = st.capacity, ldk = st.ldk;
        float[] q = new float[t * d], key = new float[d];
        float[] rk = st.keys[layer], rv = st.values[layer];
        for (int i = 0; i < t; i++) {
            int slot = (int) ((pos0 + i) % cap);
            for (int c = 0; c < d; c++) {
                q[i * d + c] = qkv[c * t + i];
                key[c] = qkv[(d + c) * t + i];
                rv[slot * d + c] = qkv[(2 * d + c) * t + i];
            }
            rope(q, i * d, 1, pos0 + i);
            rope(key, 0, 1, pos0 + i);
            for (int c = 0; c < d; c++) rk[c * ldk + slot] = rk[c * ldk + slot + cap] = key[c];
        }
        int[] lo = new int[t], hi = new int[t];
        long firstKey = pos0 - past;
        window(st, pos0, firstKey, t, lo, hi);
        float[] o = new float[t * d];
        int first = (int) (firstKey % cap);
        Attention.attend(q, t, rk, ldk, first, rv, first, cap, heads, headDim, lo, hi, o);
        float[] out = new float[d * t];
        for (int i = 0; i < t; i++) for (int c = 0; c < d; c++) out[c * t + i] = o[i * d + c];
        return out;
    }

    /**
     * A call of more steps than the ring has room for beside the window (offline chunks): the cached and the new
     * keys and values are copied into one block (keys channel-major), attended, and the last {@code context} kept.
     */
    private float[] attentionCopy(float[] qkv, int t, State st, int layer) {
        long pos0 = st.offset;
        int past = st.count, cap = st.capacity, ldk = st.ldk;
        int nk = past + t, ldb = Attention.keyRowLength(nk);
        float[] q = new float[t * d], k = new float[d * ldb], v = new float[nk * d];
        float[] rk = st.keys[layer], rv = st.values[layer];
        long firstKey = pos0 - past;
        int first = (int) (firstKey % cap);
        for (int c = 0; c < d; c++) {
            System.arraycopy(rk, c * ldk + first, k, c * ldb, past);
            System.arraycopy(qkv, (d + c) * t, k, c * ldb + past, t);
        }
        for (int j = 0; j < past; j++) System.arraycopy(rv, ((first + j) % cap) * d, v, j * d, d);
        for (int c = 0; c < d; c++) {
            for (int i = 0; i < t; i++) {
                q[i * d + c] = qkv[c * t + i];
                v[(past + i) * d + c] = qkv[(2 * d + c) * t + i];
            }
        }
        for (int i = 0; i < t; i++) {
            rope(q, i * d, 1, pos0 + i);
            rope(k, past + i, ldb, pos0 + i);
        }
        int[] lo = new int[t], hi = new int[t];
        window(st, pos0, firstKey, t, lo, hi);
        float[] o = new float[t * d];
        Attention.attend(q, t, k, ldb, 0, v, 0, Integer.MAX_VALUE, heads, headDim, lo, hi, o);
        for (int j = Math.max(0, nk - context); j < nk; j++) {
            int slot = (int) ((firstKey + j) % cap);
            for (int c = 0; c < d; c++) rk[c * ldk + slot] = rk[c * ldk + slot + cap] = k[c * ldb + j];
            System.arraycopy(v, j * d, rv, slot * d, d);
        }
        float[] out = new float[d * t];
        for (int i = 0; i < t; i++) for (int c = 0; c < d; c++) out[c * t + i] = o[i * d + c];
        return out;
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

    /**
     * Rotates the interleaved pairs (x[2i], x[2i+1]) of every head of one step by pos * freq_i; channel c of the step
     * is x[off + c*stride] (a time-major row: stride 1; a column of channel-major [D][ld]: stride ld).
     */
    private void rope(float[] x, int off, int stride, long pos) {
        float p = (float) pos;
        int half = headDim / 2;
        for (int i = 0; i < half; i++) {
            float angle = invFreq[i] * p;
            float cr = (float) Math.cos(angle), si = (float) Math.sin(angle);
            for (int h = 0; h < heads; h++) {
                int j = off + (h * headDim + 2 * i) * stride;
                float re = x[j], im = x[j + stride];
                x[j] = re * cr - im * si;
                x[j + stride] = re * si + im * cr;
            }
        }
    }
}
