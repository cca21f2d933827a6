package org.mimi4j.nn;

import org.mimi4j.io.Checkpoint;
import org.mimi4j.kernels.Scratch;
import org.mimi4j.perf.Profiler;

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

    /** Floating-point operations of encoding t steps with nq codebooks. */
    public long encodeFlops(int t, int nq) {
        int d = first.codebookDim, dim = first.dimension;
        long projections = 2L * dim * d * t * (nq > nSemantic ? 2 : 1);
        return projections + 2L * nq * bins * d * t;
    }

    /** Floating-point operations of decoding t steps (both output projections). */
    public long decodeFlops(int t, int nq) {
        return 2L * first.dimension * first.codebookDim * t * (nq > nSemantic ? 2 : 1);
    }

    /** Latent [D][t] -> codes [nq][t]. */
    public int[][] encode(float[] x, int t, int nq) {
        long t0 = Profiler.begin();
        int[][] codes = encodeCodes(x, t, nq);
        Profiler.end(Profiler.Stage.QUANTIZER, t0, encodeFlops(t, nq));
        return codes;
    }

    private int[][] encodeCodes(float[] x, int t, int nq) {
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
        long t0 = Profiler.begin();
        int nq = codes.length;
        float[] y = new float[first.dimension * t];
        first.decode(codes, 0, Math.min(nq, nSemantic), t, y);
        if (nq > nSemantic) {
            float[] z = Scratch.small(Scratch.QUANTIZER_PARTIAL, y.length);
            rest.decode(codes, nSemantic, nq - nSemantic, t, z);
            for (int i = 0; i < y.length; i++) y[i] += z[i];
        }
        Profiler.end(Profiler.Stage.QUANTIZER, t0, decodeFlops(t, nq));
        return y;
    }

    public int totalCodebooks() {
        return total;
    }

    public int cardinality() {
        return bins;
    }
}
