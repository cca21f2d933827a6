package org.mimi4j.nn;

import org.mimi4j.MimiConfig;
import org.mimi4j.io.Checkpoint;

import java.util.ArrayList;
import java.util.List;

/**
 * SEANet encoder (moshi {@code SEANetEncoder}, causal, true_skip, no LSTM): audio [1][T] to latent [D][T/hop].
 * <pre>
 * model.0  conv 1 -> nf, k=7
 * per ratio r in reversed(ratios) (4,5,6,8), mult = 1,2,4,8:
 *          resnet blocks (mult*nf, dilation base^j), ELU, conv mult*nf -> 2*mult*nf, k=2r, stride r
 * ELU, conv 16*nf -> D, k=last_kernel_size
 * </pre>
 */
public final class SeanetEncoder {
    private final List<Object> layers = new ArrayList<>(); // StreamingConv1d or ResnetBlock, in model order
    private final int[] channelsIn;                        // channels entering each layer

    public SeanetEncoder(Checkpoint ck, MimiConfig c) {
        int nf = c.numFilters();
        int[] ratios = c.upsamplingRatios();
        List<Integer> chans = new ArrayList<>();
        int idx = 0;
        add(StreamingConv1d.load(ck, "encoder.model." + idx + ".conv.conv", nf, c.audioChannels(), c.kernelSize(), 1, 1, false, true), c.audioChannels(), chans);
        idx++;
        int mult = 1;
        for (int i = ratios.length - 1; i >= 0; i--) {
            int r = ratios[i];
            for (int j = 0; j < c.numResidualLayers(); j++) {
                int dil = (int) Math.pow(c.dilationGrowthRate(), j);
                add(new ResnetBlock(ck, "encoder.model." + idx, mult * nf, c.residualKernelSize(), dil, c.compress()), mult * nf, chans);
                idx++;
            }
            idx++; // ELU
            add(StreamingConv1d.load(ck, "encoder.model." + idx + ".conv.conv", 2 * mult * nf, mult * nf, 2 * r, r, 1, false, true, true),
                    mult * nf, chans);
            idx++;
            mult *= 2;
        }
        idx++; // ELU
        add(StreamingConv1d.load(ck, "encoder.model." + idx + ".conv.conv", c.hiddenSize(), mult * nf, c.lastKernelSize(), 1, 1, false, true), mult * nf, chans);
        channelsIn = chans.stream().mapToInt(Integer::intValue).toArray();
    }

    private void add(Object layer, int inChannels, List<Integer> chans) {
        layers.add(layer);
        chans.add(inChannels);
    }

    /** Per-stream state: one entry per layer. */
    public static final class State {
        final Object[] s;

        State(Object[] s) {
            this.s = s;
        }

        public State copy() {
            Object[] c = new Object[s.length];
            for (int i = 0; i < s.length; i++) {
                c[i] = s[i] instanceof ResnetBlock.State r ? r.copy() : StreamingConv1d.copy((StreamingConv1d.State) s[i]);
            }
            return new State(c);
        }

        /** Bytes of carried samples over all layers. */
        public long bytes() {
            long n = 0;
            for (Object o : s) n += o instanceof ResnetBlock.State r ? r.bytes() : ((StreamingConv1d.State) o).bytes();
            return n;
        }
    }

    public State newState() {
        Object[] s = new Object[layers.size()];
        for (int i = 0; i < s.length; i++) {
            s[i] = layers.get(i) instanceof ResnetBlock r ? r.newState() : ((StreamingConv1d) layers.get(i)).newState();
        }
        return new State(s);
    }

    /**
     * Input samples before the current one that the output of layers 0..to-1 depends on: each layer's left context
     * in its own input steps times the stride before it. Started this many samples early (a multiple of
     * {@code strideBefore(to)}) from any state, those layers' outputs from the original start on equal the sequential
     * call's.
     */
    public int receptiveField(int to) {
        int rf = 0;
        for (int li = 0; li < to; li++) {
            int ctx = layers.get(li) instanceof ResnetBlock r ? r.context() : ((StreamingConv1d) layers.get(li)).context();
            rf += ctx * strideBefore(li);
        }
        return rf;
    }

    /** Layers 0..to-1 of {@code into} continue from {@code from}'s states (taken over, not copied). */
    public void adopt(State from, State into, int to) {
        System.arraycopy(from.s, 0, into.s, 0, to);
    }

    public int layers() {
        return layers.size();
    }

    /** Channels entering layer i. */
    public int channelsIn(int i) {
        return channelsIn[i];
    }

    /** Product of the strides of the layers before layer i (input samples per step of layer i's input). */
    public int strideBefore(int i) {
        int s = 1;
        for (int li = 0; li < i; li++) if (layers.get(li) instanceof StreamingConv1d c) s *= c.stride();
        return s;
    }

    /**
     * Where the low-rate layers start: the second-to-last strided conv (the first one if there is only one; the layer
     * count if none). From there on (1200 Hz and below in the released model) time steps are few and weights
     * large, so an offline call runs those layers over all its steps at once rather than slice by slice: with the last
     * strided conv alone as the start, the 1200 Hz conv and the 512-channel residual block read their weights once per
     * 7680-sample slice (AbBench encode 0.877 and, swapped, 1.028).
     */
    public int lowRateStart() {
        int start = layers.size(), left = 2;
        for (int li = layers.size() - 1; li >= 0 && left > 0; li--) {
            if (layers.get(li) instanceof StreamingConv1d c && c.stride() > 1) {
                start = li;
                left--;
            }
        }
        return start;
    }

    /** Floating-point operations of one stream's call over t samples. */
    public long flops(int t) {
        long f = 0;
        for (Object layer : layers) {
            if (layer instanceof ResnetBlock r) f += r.flops(t);
            else {
                StreamingConv1d c = (StreamingConv1d) layer;
                f += c.flops(t);
                t = (t + c.stride() - 1) / c.stride();
            }
        }
        return f;
    }

    /**
     * x[b]: [1][t] samples; t a multiple of the hop unless {@code padEnd} (transformers' end padding, each strided
     * conv pads its own input). Returns [D][steps] per stream; {@code steps[0]} receives the step count.
     */
    public float[][] forward(float[][] x, int t, State[] st, boolean padEnd, int[] steps) {
        return forward(x, t, st, padEnd, steps, 0, layers.size());
    }

    /**
     * Layers {@code from..to-1} only: x[b] is the input of layer {@code from}, [{@link #channelsIn}(from)][t];
     * {@code steps[0]} receives the output length. Running a prefix and then the rest equals one call.
     */
    public float[][] forward(float[][] x, int t, State[] st, boolean padEnd, int[] steps, int from, int to) {
        int n = x.length;
        float[][] h = x;
        for (int li = from; li < to; li++) {
            Object layer = layers.get(li);
            if (layer instanceof ResnetBlock r) {
                ResnetBlock.State[] rs = new ResnetBlock.State[n];
                for (int b = 0; b < n; b++) rs[b] = (ResnetBlock.State) st[b].s[li];
                h = r.forward(h, t, rs);
            } else {
                StreamingConv1d conv = (StreamingConv1d) layer;
                // every conv but the first follows an ELU (model.2, 5, 8, 11, 13), fused into the conv's input copy
                StreamingConv1d.State[] cs = new StreamingConv1d.State[n];
                for (int b = 0; b < n; b++) cs[b] = (StreamingConv1d.State) st[b].s[li];
                h = conv.forward(h, t, cs, padEnd, li > 0);
                t = (t + conv.stride() - 1) / conv.stride();
            }
        }
        steps[0] = t;
        return h;
    }
}
