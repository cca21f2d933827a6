package org.mimi4j.nn;

import org.mimi4j.MimiConfig;
import org.mimi4j.io.Checkpoint;
import org.mimi4j.perf.Profiler;

import java.util.ArrayList;
import java.util.List;

/**
 * SEANet decoder (moshi {@code SEANetDecoder}, causal, true_skip, no final activation): latent [D][T] to audio
 * [1][T*hop].
 * <pre>
 * model.0  conv D -> 16*nf, k=7
 * per ratio r in ratios (8,6,5,4), mult = 16,8,4,2:
 *          ELU, conv-transpose mult*nf -> mult*nf/2, k=2r, stride r, resnet blocks (mult*nf/2)
 * ELU, conv nf -> 1, k=last_kernel_size
 * </pre>
 */
public final class SeanetDecoder {
    private final List<Object> layers = new ArrayList<>(); // StreamingConv1d, StreamingConvTranspose1d or ResnetBlock
    private final int[] channelsIn;
    private final int hop;

    public SeanetDecoder(Checkpoint ck, MimiConfig c) {
        int nf = c.numFilters();
        int[] ratios = c.upsamplingRatios();
        hop = c.hopLength();
        List<Integer> chans = new ArrayList<>();
        int mult = 1 << ratios.length;
        int idx = 0;
        layers.add(StreamingConv1d.load(ck, "decoder.model." + idx + ".conv.conv", mult * nf, c.hiddenSize(), c.kernelSize(), 1, 1, false, true));
        chans.add(c.hiddenSize());
        idx++;
        for (int r : ratios) {
            idx++; // ELU
            layers.add(StreamingConvTranspose1d.load(ck, "decoder.model." + idx + ".convtr.convtr", mult * nf, mult * nf / 2, 2 * r, r, 1, true, true));
            chans.add(mult * nf);
            idx++;
            for (int j = 0; j < c.numResidualLayers(); j++) {
                int dil = (int) Math.pow(c.dilationGrowthRate(), j);
                layers.add(new ResnetBlock(ck, "decoder.model." + idx, mult * nf / 2, c.residualKernelSize(), dil, c.compress()));
                chans.add(mult * nf / 2);
                idx++;
            }
            mult /= 2;
        }
        idx++; // ELU
        layers.add(StreamingConv1d.load(ck, "decoder.model." + idx + ".conv.conv", c.audioChannels(), nf, c.lastKernelSize(), 1, 1, false, true));
        chans.add(nf);
        channelsIn = chans.stream().mapToInt(Integer::intValue).toArray();
    }

    public static final class State {
        final Object[] s;

        State(Object[] s) {
            this.s = s;
        }

        public State copy() {
            Object[] c = new Object[s.length];
            for (int i = 0; i < s.length; i++) {
                c[i] = switch (s[i]) {
                    case ResnetBlock.State r -> r.copy();
                    case StreamingConvTranspose1d.State r -> StreamingConvTranspose1d.copy(r);
                    case StreamingConv1d.State r -> StreamingConv1d.copy(r);
                    default -> throw new AssertionError();
                };
            }
            return new State(c);
        }

        /** Bytes of carried samples over all layers. */
        public long bytes() {
            long n = 0;
            for (Object o : s) {
                n += switch (o) {
                    case ResnetBlock.State r -> r.bytes();
                    case StreamingConvTranspose1d.State r -> r.bytes();
                    case StreamingConv1d.State r -> r.bytes();
                    default -> throw new AssertionError();
                };
            }
            return n;
        }
    }

    public State newState() {
        Object[] s = new Object[layers.size()];
        for (int i = 0; i < s.length; i++) {
            s[i] = switch (layers.get(i)) {
                case ResnetBlock r -> r.newState();
                case StreamingConvTranspose1d r -> r.newState();
                case StreamingConv1d r -> r.newState();
                default -> throw new AssertionError();
            };
        }
        return new State(s);
    }

    /** x[b]: [D][t] at the encoder rate; returns [1][t*hop] per stream. */
    public float[][] forward(float[][] x, int t, State[] st) {
        return forward(x, t, st, 0, layers.size());
    }

    /** Layers {@code from..to-1} only: x[b] is the input of layer {@code from}, [{@link #channelsIn}(from)][t]. */
    public float[][] forward(float[][] x, int t, State[] st, int from, int to) {
        int n = x.length;
        float[][] h = x;
        for (int li = from; li < to; li++) {
            final int l = li;
            long t0 = Profiler.begin();
            switch (layers.get(li)) {
                case ResnetBlock r -> {
                    h = r.forward(h, t, states(st, l, new ResnetBlock.State[n]));
                    Profiler.end(Profiler.Stage.CONV, t0, n * r.flops(t));
                }
                case StreamingConvTranspose1d r -> { // after an ELU, fused into the input copy
                    h = r.forward(h, t, states(st, l, new StreamingConvTranspose1d.State[n]), true);
                    Profiler.end(Profiler.Stage.CONV_TRANSPOSE, t0, n * r.flops(t));
                    t *= r.stride;
                }
                case StreamingConv1d r -> {
                    h = r.forward(h, t, states(st, l, new StreamingConv1d.State[n]), false, l > 0); // after an ELU but the first
                    Profiler.end(Profiler.Stage.CONV, t0, n * r.flops(t));
                }
                default -> throw new AssertionError();
            }
        }
        return h;
    }

    /**
     * Input steps of layer {@code from} before the current one that the output of layers from.. depends on: each
     * layer's left context in its own input steps, in steps of layer from's input (rounded up). Started this many
     * steps early from any state, those layers' outputs from the original start on equal the sequential call's.
     */
    public int receptiveField(int from) {
        int rf = 0;
        for (int li = from; li < layers.size(); li++) {
            int ctx = switch (layers.get(li)) {
                case ResnetBlock r -> r.context();
                case StreamingConvTranspose1d r -> r.context();
                case StreamingConv1d r -> r.context();
                default -> throw new AssertionError();
            };
            int up = upsampleBefore(li) / upsampleBefore(from);
            rf += (ctx + up - 1) / up;
        }
        return rf;
    }

    /**
     * The states' layer {@code li}, a transposed conv (the last before {@link #highRateStart}), write their next
     * outputs to their other arrays, so that a caller can go on reading the last ones while the next call runs.
     */
    public void flipOutput(State[] st, int li) {
        for (State s : st) ((StreamingConvTranspose1d.State) s.s[li]).flipOutput();
    }

    /** Layers from.. of {@code into} continue from {@code src}'s states (taken over, not copied). */
    public void adopt(State src, State into, int from) {
        System.arraycopy(src.s, from, into.s, from, src.s.length - from);
    }

    public int layers() {
        return layers.size();
    }

    public int channelsIn(int i) {
        return channelsIn[i];
    }

    /** Product of the strides of the transposed convs before layer i (output steps per input step at layer i). */
    public int upsampleBefore(int i) {
        int s = 1;
        for (int li = 0; li < i; li++) if (layers.get(li) instanceof StreamingConvTranspose1d c) s *= c.stride;
        return s;
    }

    /**
     * Where the high-rate layers start: right after the second transposed conv (after the only one if there is one;
     * 0 if none), the mirror of {@link SeanetEncoder#lowRateStart}. Up to it (in the released model the first conv,
     * the 25 -> 200 Hz and 200 -> 1200 Hz transposed convs and the 200 Hz residual block) time steps are few and
     * weights large, so an offline call runs those layers over all its steps at once rather than slice by slice (after
     * the first transposed conv's blocks instead, the 200 Hz transposed conv read its 6 MB of weights once per
     * 7680-sample slice: AbBench decode 0.967 and, swapped, 1.037). The 1200 Hz residual block runs in the slices, as
     * the encoder's: over whole calls of 18432 columns its chained products ran at 63% of the peak, in 96-column slices
     * at 81-83% (Zen 5, 2026-12-06: the decoder's SEANet convs 0.93-0.96x the time, decode 0.955-0.979x, AbBench both
     * orders).
     */
    public int highRateStart() {
        int start = 0;
        for (int li = 0, seen = 0; li < layers.size() && seen < 2; li++) {
            if (layers.get(li) instanceof StreamingConvTranspose1d) {
                seen++;
                start = li + 1;
            }
        }
        return start;
    }

    @SuppressWarnings("unchecked")
    private static <T> T[] states(State[] st, int layer, T[] out) {
        for (int b = 0; b < st.length; b++) out[b] = (T) st[b].s[layer];
        return out;
    }

    public int hop() {
        return hop;
    }
}
