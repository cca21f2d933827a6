package org.mimi4j.nn;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.mimi4j.io.Checkpoint;
import org.mimi4j.kernels.Gemm;
import org.mimi4j.kernels.PackedMatrix;
import org.mimi4j.kernels.Parallel;
import org.mimi4j.kernels.RowSource;
import org.mimi4j.kernels.Simd;

/**
 * One codebook (moshi {@code EuclideanCodebook}): vectors embedding = embedding_sum / clamp(cluster_usage, 1e-5),
 * [N][d]; a vector's code is the index of the nearest one (torch.cdist + argmin, first index on ties).
 *
 * <p>Distances are ranked as |c|^2 - 2 x.c from one GEMM; when the best and the runner-up are closer than float32
 * rounding can resolve, the candidates are compared again exactly (double precision sum of (x - c)^2), which is what
 * upstream's cdist approximates.
 */
public final class EuclideanCodebook {
    private static final float EPSILON = 1e-5f;
    private static final VectorSpecies<Float> SP = Simd.S;
    final int size, dim;
    private final PackedMatrix packed; // embedding [N][d], packed for the distance GEMM and read back for lookups
    private final float[] norms; // |c|^2
    private final float maxNorm;

    EuclideanCodebook(Checkpoint ck, String prefix, int size, int dim) {
        this.size = size;
        this.dim = dim;
        RowSource sum = ck.rows(prefix + ".embedding_sum", size, dim);
        float[] usage = ck.tensor(prefix + ".cluster_usage", size);
        if (ck.has(prefix + "._initialized")) ck.ignore(prefix + "._initialized");
        packed = PackedMatrix.pack(size, dim, (i, dst, off) -> { // embedding_sum's row, divided in place
            sum.read(i, dst, off);
            float u = Math.max(usage[i], EPSILON);
            for (int j = off; j < off + dim; j++) dst[j] /= u;
        }, ck.arena());
        norms = new float[size];
        int parts = Math.max(1, Math.min(16, size / 128));
        Parallel.forEach(parts, part -> {
            for (int i = size * part / parts, ie = size * (part + 1) / parts; i < ie; i++) norms[i] = (float) packed.squaredNorm(i);
        });
        float mx = 0;
        for (float v : norms) mx = Math.max(mx, v);
        maxNorm = mx;
    }

    /** Nearest codes for x [d][t] (channel-major), written to codes[0..t); dots: room for [N][t] (overwritten). */
    void encode(float[] x, int t, int[] codes, float[] dots) {
        Gemm.gemm(packed, null, packed.rowsOf(t), new Gemm.Segment(x, 0, dots, 0, t, t), false);
        float[] best = new float[t], second = new float[t];
        int[] arg = new int[t];
        // columns are independent: the search in parts of whole vectors on the compute threads, 32 columns each for an
        // offline call's 192 (in one part, as it was, the other thread waited: the quantizer at 32 codebooks 0.86-0.92x)
        int l = SP.length(), parts = (int) Math.min(Parallel.threads() * 4L, Math.max(1, (long) t * size / (1 << 16)));
        Parallel.forEach(parts, part -> {
            int i0 = t * part / parts / l * l, i1 = part == parts - 1 ? t : t * (part + 1) / parts / l * l;
            nearest(dots, t, i0, i1, best, second, arg);
            for (int i = i0; i < i1; i++) {
                double xx = 0;
                for (int j = 0; j < dim; j++) xx += (double) x[j * t + i] * x[j * t + i];
                // float32 error of |c|^2 - 2x.c is far below this margin; only near-ties are recomputed
                float margin = (float) (1e-5 * (xx + maxNorm));
                codes[i] = second[i] - best[i] <= margin ? exact(x, t, i, dots, best[i] + margin) : arg[i];
            }
        });
    }

    /**
     * Per column i0 <= i < i1 of dots [N][t]: the smallest |c|^2 - 2 x.c (first index on ties), its index, and the
     * runner-up, 16 columns per vector.
     */
    private void nearest(float[] dots, int t, int i0, int i1, float[] best, float[] second, int[] arg) {
        int l = SP.length(), i = i0;
        for (; i + l <= i1; i += l) {
            FloatVector b = FloatVector.broadcast(SP, Float.POSITIVE_INFINITY), s2 = b, a = FloatVector.zero(SP);
            for (int c = 0; c < size; c++) {
                FloatVector dist = FloatVector.fromArray(SP, dots, c * t + i).mul(-2f).add(norms[c]);
                // min/max by compare and blend (FloatVector.min/max compile to a slow NaN-aware sequence); b <= s2
                VectorMask<Float> better = dist.compare(VectorOperators.LT, b), runnerUp = dist.compare(VectorOperators.LT, s2);
                s2 = s2.blend(dist, runnerUp).blend(b, better);
                b = b.blend(dist, better);
                a = a.blend((float) c, better);
            }
            b.intoArray(best, i);
            s2.intoArray(second, i);
            for (int j = 0; j < l; j++) arg[i + j] = (int) a.lane(j);
        }
        for (; i < i1; i++) {
            float bb = Float.POSITIVE_INFINITY, ss = Float.POSITIVE_INFINITY;
            int aa = 0;
            for (int c = 0; c < size; c++) {
                float dist = norms[c] - 2f * dots[c * t + i];
                if (dist < bb) {
                    ss = bb;
                    bb = dist;
                    aa = c;
                } else if (dist < ss) ss = dist;
            }
            best[i] = bb;
            second[i] = ss;
            arg[i] = aa;
        }
    }

    private int exact(float[] x, int t, int i, float[] dots, float limit) {
        double best = Double.POSITIVE_INFINITY;
        int arg = -1;
        for (int c = 0; c < size; c++) {
            if (norms[c] - 2f * dots[c * t + i] > limit) continue;
            double s = packed.squaredDistance(c, x, i, t);
            if (s < best) {
                best = s;
                arg = c;
            }
        }
        return arg;
    }

    /** Adds (sign +1) or subtracts (-1) the vectors of codes into y [d][t]. */
    void accumulate(int[] codes, float[] y, int t, float sign) {
        int parts = (int) Math.min(Parallel.threads() * 4L, Math.max(1, (long) t * dim / (1 << 14)));
        Parallel.forEach(parts, part -> { // channels are independent: each part adds along its own rows of y (3 parts for 192 columns)
            int j0 = dim * part / parts, j1 = dim * (part + 1) / parts;
            for (int i = 0; i < t; i++) packed.addRow(codes[i], j0, j1, sign, y, i, t);
        });
    }
}
