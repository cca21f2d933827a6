package org.mimi4j.nn;

import org.mimi4j.io.Checkpoint;

/**
 * SEANet residual block (moshi {@code SEANetResnetBlock}, true_skip): y = x + conv2(elu(conv1(elu(x)))),
 * conv1 [dim/compress][dim][k] dilated, conv2 [dim][dim/compress][1]. Shapes [dim][T] in and out.
 */
public final class ResnetBlock {
    final StreamingConv1d conv1, conv2;
    final int dim;

    ResnetBlock(Checkpoint ck, String prefix, int dim, int kernel, int dilation, int compress) {
        this.dim = dim;
        int hidden = dim / compress;
        conv1 = StreamingConv1d.load(ck, prefix + ".block.1.conv.conv", hidden, dim, kernel, 1, dilation, false, true);
        conv2 = StreamingConv1d.load(ck, prefix + ".block.3.conv.conv", dim, hidden, 1, 1, 1, false, true);
    }

    public static final class State {
        final StreamingConv1d.State s1, s2;

        State(StreamingConv1d.State s1, StreamingConv1d.State s2) {
            this.s1 = s1;
            this.s2 = s2;
        }

        State copy() {
            return new State(StreamingConv1d.copy(s1), StreamingConv1d.copy(s2));
        }

        long bytes() {
            return s1.bytes() + s2.bytes();
        }
    }

    State newState() {
        return new State(conv1.newState(), conv2.newState());
    }

    /** Samples before the current one that an output depends on: conv1's context (conv2 is pointwise). */
    int context() {
        return conv1.context();
    }

    long flops(int t) {
        return conv1.flops(t) + conv2.flops(t);
    }

    float[][] forward(float[][] x, int t, State[] st) {
        int n = x.length;
        StreamingConv1d.State[] s1 = new StreamingConv1d.State[n], s2 = new StreamingConv1d.State[n];
        for (int b = 0; b < n; b++) {
            s1[b] = st[b].s1;
            s2[b] = st[b].s2;
        }
        // elu(conv1(elu(x))): the first ELU fused into conv1's input copy, the second into its GEMM's output tiles;
        // conv2 reads them per piece of columns while in cache, and adds x
        return StreamingConv1d.residual(conv1, s1, conv2, s2, x, t);
    }
}
