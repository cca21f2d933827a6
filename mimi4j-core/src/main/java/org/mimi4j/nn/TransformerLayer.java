package org.mimi4j.nn;

import org.mimi4j.io.Checkpoint;
import org.mimi4j.kernels.PackedMatrix;

/**
 * Weights of one pre-norm transformer layer (moshi {@code StreamingTransformerLayer}, no biases):
 * x = x + layer_scale_1 * self_attn(norm1(x)); x = x + layer_scale_2 * linear2(gelu(linear1(norm2(x)))).
 */
final class TransformerLayer {
    final float[] norm1W, norm1B, norm2W, norm2B, scale1, scale2;
    final PackedMatrix inProj;   // [3D][D]: q, k, v, RoPE pairs interleaved
    final PackedMatrix outProj;  // [D][D]
    final PackedMatrix linear1;  // [FF][D]
    final PackedMatrix linear2;  // [D][FF]

    TransformerLayer(Checkpoint ck, String p, int d, int heads, int ff) {
        norm1W = ck.tensor(p + ".norm1.weight", d);
        norm1B = ck.tensor(p + ".norm1.bias", d);
        norm2W = ck.tensor(p + ".norm2.weight", d);
        norm2B = ck.tensor(p + ".norm2.bias", d);
        scale1 = ck.tensor(p + ".layer_scale_1.scale", d);
        scale2 = ck.tensor(p + ".layer_scale_2.scale", d);
        inProj = PackedMatrix.pack(3 * d, d, ck.inProj(p + ".self_attn", d, heads), ck.arena());
        outProj = PackedMatrix.pack(d, d, ck.rows(p + ".self_attn.out_proj.weight", d, d), ck.arena());
        linear1 = PackedMatrix.pack(ff, d, ck.rows(p + ".linear1.weight", ff, d), ck.arena());
        linear2 = PackedMatrix.pack(d, ff, ck.rows(p + ".linear2.weight", d, ff), ck.arena());
    }
}
