package org.mimi4j.nn;

import org.mimi4j.io.Checkpoint;

/**
 * Mimi's split RVQ (moshi {@code SplitResidualVectorQuantizer}): {@code rvq_first} (semantic, 1 codebook) and
 * {@code rvq_rest} (acoustic) both encode the same latent, not a residual across the split; codes are
 * [first | rest]; decoding sums both outputs.
 */
public final class SplitResidualVectorQuantizer {
    final ResidualVectorQuantizer first, rest;
    final int nSemantic, total, bins;

    public SplitResidualVectorQuantizer(Checkpoint ck, int total, int nSemantic, int dimension, int codebookDim, int bins) {
        this.total = total;
        this.nSemantic = nSemantic;
        this.bins = bins;
        first = new ResidualVectorQuantizer(ck, "quantizer.rvq_first", nSemantic, dimension, codebookDim, bins);
        rest = new ResidualVectorQuantizer(ck, "quantizer.rvq_rest", total - nSemantic, dimension, codebookDim, bins);
    }

    /** Latent [D][t] -> codes [nq][t]. */
    public int[][] encode(float[] x, int t, int nq) {
        int[][] codes = new int[nq][];
        int[][] a = first.encode(x, t, Math.min(nq, nSemantic));
        System.arraycopy(a, 0, codes, 0, a.length);
        if (nq > nSemantic) {
            int[][] b = rest.encode(x, t, nq - nSemantic);
            System.arraycopy(b, 0, codes, nSemantic, b.length);
        }
        return codes;
    }

    /** Codes [nq][t] -> latent [D][t] (moshi decode_latent). */
    public float[] decode(int[][] codes, int t) {
        int nq = codes.length;
        float[] y = first.decode(codes, 0, Math.min(nq, nSemantic), t);
        if (nq > nSemantic) {
            float[] z = rest.decode(codes, nSemantic, nq - nSemantic, t);
            for (int i = 0; i < y.length; i++) y[i] += z[i];
        }
        return y;
    }

    public int totalCodebooks() {
        return total;
    }

    public int cardinality() {
        return bins;
    }
}
