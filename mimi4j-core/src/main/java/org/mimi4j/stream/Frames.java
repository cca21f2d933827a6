package org.mimi4j.stream;

import org.mimi4j.InvalidInputException;
import org.mimi4j.Mimi;

/** The compute calls shared by the solo streams and the batches (package-private). */
final class Frames {
    /** Frames per compute call of a solo stream fed a long chunk: bounds the activations (~8 MB full-size). */
    static final int MAX_FRAMES_PER_CALL = Integer.getInteger("mimi4j.streamFramesPerCall", 16);

    private Frames() {
    }

    static int[] items(int n) {
        int[] r = new int[n];
        for (int i = 0; i < n; i++) r[i] = i;
        return r;
    }

    /**
     * Encodes {@code f} whole frames per stream (x[b] holds f*1920 samples) and advances the states; returns codes
     * frame-major [b][f][nq[b]] and reports each latent column to its listener.
     */
    static int[][][] encode(Mimi m, float[][] x, int f, Mimi.EncoderState[] st, int[] nq, LatentListener[] ls, long[] frame0) {
        int n = x.length, d = m.config().hiddenSize();
        float[][] emb = m.encodeToLatent(x, f * m.frameSize(), st, false, null, items(n));
        int[][][] codes = m.quantize(emb, f, nq); // [b][nq][f]
        int[][][] out = new int[n][][];
        for (int b = 0; b < n; b++) {
            if (ls[b] != null) {
                for (int t = 0; t < f; t++) {
                    float[] col = new float[d];
                    for (int c = 0; c < d; c++) col[c] = emb[b][c * f + t];
                    ls[b].onLatent(frame0[b] + t, col);
                }
            }
            int[][] frames = new int[f][nq[b]];
            for (int q = 0; q < nq[b]; q++) for (int t = 0; t < f; t++) frames[t][q] = codes[b][q][t];
            out[b] = frames;
        }
        return out;
    }

    /** Validates one code frame [K]: 1 <= K <= codebooks, every code in [0, cardinality). */
    static void checkFrame(Mimi m, int[] frame) {
        if (frame == null || frame.length < 1) throw new InvalidInputException("a code frame needs at least one codebook");
        if (frame.length > m.totalCodebooks()) {
            throw new InvalidInputException("code frame has " + frame.length + " codebooks but the model has " + m.totalCodebooks());
        }
        for (int q = 0; q < frame.length; q++) {
            if (frame[q] < 0 || frame[q] >= m.cardinality()) {
                throw new InvalidInputException("code " + frame[q] + " of codebook " + q + " is outside [0, " + m.cardinality() + ")");
            }
        }
    }

    /** Checks pcm[off..off+len) is finite; an error says where in the stream, which had {@code before} samples until this chunk. */
    static void checkFinite(float[] pcm, int off, int len, long before) {
        for (int i = off; i < off + len; i++) {
            if (!Float.isFinite(pcm[i])) {
                throw new InvalidInputException("audio has a non-finite sample (" + pcm[i] + ") at index " + (before + i - off)
                        + " of the stream (index " + i + " of the array pushed)");
            }
        }
    }

    static void checkRange(int arrayLength, int off, int len) {
        if (off < 0 || len < 0 || off > arrayLength - len) {
            throw new IndexOutOfBoundsException("offset " + off + ", length " + len + " outside an array of " + arrayLength);
        }
    }

    /** Codes [f][K] (frame-major, all K equal) to [1][K][f] for decodeStep. */
    static int[][][] codebookMajor(int[][] frames, int from, int f) {
        int k = frames[from].length;
        int[][] c = new int[k][f];
        for (int t = 0; t < f; t++) for (int q = 0; q < k; q++) c[q][t] = frames[from + t][q];
        return new int[][][]{c};
    }
}
