package org.mimi4j.nn;

import org.mimi4j.io.Checkpoint;
import org.mimi4j.kernels.Gemm;
import org.mimi4j.kernels.PackedMatrix;
import org.mimi4j.kernels.Scratch;

/**
 * Residual vector quantizer with its projections (moshi {@code ResidualVectorQuantizer}): input_proj (1x1 conv,
 * D -> d, no bias), a residual loop over codebooks (code_k = nearest(r); r -= codebook_k[code_k]), and for decoding
 * the sum of the codebook vectors then output_proj (d -> D).
 */
public final class ResidualVectorQuantizer {
    final EuclideanCodebook[] codebooks;
    final PackedMatrix inputProj, outputProj;
    final int dimension, codebookDim;

    ResidualVectorQuantizer(Checkpoint ck, String prefix, int nq, int dimension, int codebookDim, int bins) {
        this.dimension = dimension;
        this.codebookDim = codebookDim;
        inputProj = PackedMatrix.pack(codebookDim, dimension, ck.rows(prefix + ".input_proj.weight", codebookDim, dimension, 1), ck.arena());
        outputProj = PackedMatrix.pack(dimension, codebookDim, ck.rows(prefix + ".output_proj.weight", dimension, codebookDim, 1), ck.arena());
        codebooks = new EuclideanCodebook[nq];
        for (int k = 0; k < nq; k++) codebooks[k] = new EuclideanCodebook(ck, prefix + ".vq.layers." + k + "._codebook", bins, codebookDim);
    }

    /** x [D][t] -> codes [nq][t] with the first nq codebooks. */
    int[][] encode(float[] x, int t, int nq) {
        float[] r = Scratch.small(Scratch.QUANTIZER_RESIDUAL, codebookDim * t);
        Gemm.gemm(inputProj, null, inputProj.rowsOf(t), new Gemm.Segment(x, 0, r, 0, t, t), false);
        int[][] codes = new int[nq][t];
        float[] dots = Scratch.small(Scratch.QUANTIZER_DOTS, codebooks[0].size * t); // one buffer for all codebooks
        for (int k = 0; k < nq; k++) {
            codebooks[k].encode(r, t, codes[k], dots);
            codebooks[k].accumulate(codes[k], r, t, -1f);
        }
        return codes;
    }

    /** codes[from..from+nq) [t] -> y [D][t] (overwritten). */
    void decode(int[][] codes, int from, int nq, int t, float[] y) {
        float[] q = Scratch.small(Scratch.QUANTIZER_RESIDUAL, codebookDim * t);
        java.util.Arrays.fill(q, 0, codebookDim * t, 0f);
        for (int k = 0; k < nq; k++) codebooks[k].accumulate(codes[from + k], q, t, 1f);
        Gemm.gemm(outputProj, null, outputProj.rowsOf(t), new Gemm.Segment(q, 0, y, 0, t, t), false);
    }
}
