package org.mimi4j.kernels;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The attention kernel against a plain double-precision softmax(q k^T / sqrt(hd)) v, with time-major keys and with a
 * ring cache read in place. Which path a head size takes depends on the vector width L (the build runs these tests at
 * 128, 256 and 512 bits): 4L channels at a time for multiples of 4L (64, the released model's, at every width), one
 * query at a time for other multiples of L, scalar otherwise (8, the tiny goldens', with AVX-512).
 */
class AttentionTest {
    @Test
    void vectorPath() {
        check(8, 64, 40, 300);
        check(2, 64, 2, 251);   // a streaming step: few queries, a full window
        check(3, 32, 17, 70);
        check(2, 128, 9, 40);
    }

    /**
     * Two or three queries with keys (a streaming step brings 2) run as one group of the group kernels, the last
     * query repeated: each query's output equals the reference, and attending that query alone (the one-query
     * kernels), bit for bit. Head sizes 64 (4L channels at a time at every width) and 32 (one query's values at a time
     * with AVX-512).
     */
    @Test
    void fewQueriesEqualEachAlone() {
        for (int hd : new int[]{64, 32}) for (int nq = 2; nq <= 3; nq++) {
            int heads = 8, nk = 251, d = heads * hd;
            SplittableRandom r = new SplittableRandom(77 + nq + hd);
            float[] q = rand(r, nq * d), k = rand(r, nk * d), v = rand(r, nk * d);
            int[] lo = new int[nq], hi = new int[nq];
            for (int i = 0; i < nq; i++) {
                hi[i] = nk - nq + i;
                lo[i] = Math.max(0, hi[i] - 250 + 1);
            }
            float[] out = new float[nq * d];
            Attention.attend(q, nq, k, v, heads, hd, lo, hi, out);
            assertClose(reference(q, nq, k, v, heads, hd, lo, hi), out);
            for (int i = 0; i < nq; i++) {
                float[] one = new float[d];
                Attention.attend(java.util.Arrays.copyOfRange(q, i * d, (i + 1) * d), 1, k, v, heads, hd, new int[]{lo[i]}, new int[]{hi[i]}, one);
                assertArrayEquals(one, java.util.Arrays.copyOfRange(out, i * d, (i + 1) * d), "hd " + hd + ", " + nq + " queries: query " + i + " alone, bit for bit");
            }
        }
    }

    /**
     * The blocked kernel of offline calls (channel-major queries and outputs, vectors along the queries) gives every
     * query the bits of the per-query kernels, whatever block a query falls in: sliding windows (causal, a ring
     * starting mid-block and wrapping), windows of moshi's streaming cache (each query's first key moves by whole
     * calls), a query without keys, and a last partial block.
     */
    @Test
    void blockedEqualsPerQueryBitForBit() {
        for (int hd : new int[]{64, 32, 16, 8}) {
            if (!Attention.blockable(hd)) continue; // 16 and 8: at 256 and 128 bits only
            for (int nq : new int[]{Attention.QUERY_BLOCK, 3 * Attention.QUERY_BLOCK + 7, 100}) {
                int heads = 4, d = heads * hd, nk = nq + 180;
                SplittableRandom r = new SplittableRandom(31L * hd + nq);
                float[] q = rand(r, nq * d), k = rand(r, nk * d), v = rand(r, nk * d);
                for (int mode = 0; mode < 2; mode++) {
                    int[] lo = new int[nq], hi = new int[nq];
                    for (int i = 0; i < nq; i++) {
                        hi[i] = nk - nq + i;
                        lo[i] = mode == 0 ? Math.max(0, hi[i] - 250 + 1) : Math.max(0, (hi[i] / 12 * 12 + 11) - 200 + 1);
                    }
                    lo[5] = hi[5] + 1; // no key
                    int cap = Attention.ringCapacity(nk + 5), start = cap - 9;
                    float[] kr = keyRing(k, nk, d, cap, start), vr = valueRing(v, nk, heads, hd, cap, start);
                    float[] want = new float[nq * d];
                    Attention.attend(q, nq, kr, vr, start, cap, heads, hd, lo, hi, want);
                    int ldq = Attention.queryStride(nq);
                    float[] qc = new float[d * ldq], out = new float[d * nq];
                    for (int i = 0; i < nq; i++) for (int c = 0; c < d; c++) qc[c * ldq + i] = q[i * d + c];
                    java.util.Arrays.fill(qc, nq, ldq, Float.NaN); // lanes past the queries: read, never seen
                    Attention.attendBlocked(qc, ldq, nq, kr, vr, start, cap, heads, hd, lo, hi, out, nq);
                    for (int i = 0; i < nq; i++) {
                        for (int c = 0; c < d; c++) {
                            float w = want[i * d + c], g = out[c * nq + i];
                            if (Float.floatToIntBits(w) != Float.floatToIntBits(g)) {
                                throw new AssertionError("hd " + hd + ", " + nq + " queries, mode " + mode + ": query " + i + " channel " + c + ": " + w + " per query, " + g + " blocked");
                            }
                        }
                    }
                    assertClose(reference(q, nq, k, v, heads, hd, lo, hi), want);
                }
            }
        }
    }

    @Test
    void scalarPath() {
        check(4, 8, 12, 30);
        check(2, 24, 5, 19);
    }

    private static void check(int heads, int hd, int nq, int nk) {
        int d = heads * hd;
        SplittableRandom r = new SplittableRandom(heads * 1000L + hd * 10L + nq);
        float[] q = rand(r, nq * d), k = rand(r, nk * d), v = rand(r, nk * d);
        int[] lo = new int[nq], hi = new int[nq];
        for (int i = 0; i < nq; i++) {
            hi[i] = nk - nq + i;                       // causal: query i sees up to its own key
            lo[i] = Math.max(0, hi[i] - 250 + 1);      // sliding window of 250
            if (i == 1) lo[i] = hi[i] + 1;             // one query with no key at all: zeros
        }
        float[] want = reference(q, nq, k, v, heads, hd, lo, hi);

        float[] out = new float[nq * d];
        Attention.attend(q, nq, k, v, heads, hd, lo, hi, out);
        assertClose(want, out);

        // the same keys and values in a ring of the kernel's layouts, starting 9 slots before its end (in the middle of
        // a key block) and wrapping around
        int cap = Attention.ringCapacity(nk + 5), start = cap - 9;
        float[] kr = keyRing(k, nk, d, cap, start), vr = valueRing(v, nk, heads, hd, cap, start);
        float[] ring = new float[nq * d];
        Attention.attend(q, nq, kr, vr, start, cap, heads, hd, lo, hi, ring);
        assertArrayEquals(out, ring, "ring cache read in place = time-major copy, bit for bit");
    }

    /** Time-major keys [nk][d] in a ring of the kernel's layout, key j in slot (start + j) % cap. */
    private static float[] keyRing(float[] k, int nk, int d, int cap, int start) {
        float[] kr = new float[cap * d];
        for (int j = 0; j < nk; j++) for (int c = 0; c < d; c++) kr[Attention.keyIndex((start + j) % cap, c, d)] = k[j * d + c];
        return kr;
    }

    /** Time-major values [nk][heads*hd] in a ring of the kernel's layout, as {@link #keyRing}. */
    private static float[] valueRing(float[] v, int nk, int heads, int hd, int cap, int start) {
        float[] vr = new float[cap * heads * hd];
        for (int j = 0; j < nk; j++) {
            for (int h = 0; h < heads; h++) System.arraycopy(v, (j * heads + h) * hd, vr, Attention.valueIndex((start + j) % cap, h, cap, hd), hd);
        }
        return vr;
    }

    private static float[] reference(float[] q, int nq, float[] k, float[] v, int heads, int hd, int[] lo, int[] hi) {
        int d = heads * hd;
        float[] out = new float[nq * d];
        for (int h = 0; h < heads; h++) {
            for (int i = 0; i < nq; i++) {
                if (hi[i] < lo[i]) continue;
                double[] s = new double[hi[i] - lo[i] + 1];
                double max = Double.NEGATIVE_INFINITY, sum = 0;
                for (int j = lo[i]; j <= hi[i]; j++) {
                    double dot = 0;
                    for (int c = 0; c < hd; c++) dot += (double) q[i * d + h * hd + c] * k[j * d + h * hd + c];
                    s[j - lo[i]] = dot / Math.sqrt(hd);
                    max = Math.max(max, s[j - lo[i]]);
                }
                for (int j = 0; j < s.length; j++) sum += s[j] = Math.exp(s[j] - max);
                for (int c = 0; c < hd; c++) {
                    double acc = 0;
                    for (int j = lo[i]; j <= hi[i]; j++) acc += s[j - lo[i]] * v[j * d + h * hd + c];
                    out[i * d + h * hd + c] = (float) (acc / sum);
                }
            }
        }
        return out;
    }

    private static float[] rand(SplittableRandom r, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) (r.nextDouble() * 2 - 1);
        return a;
    }

    private static void assertClose(float[] want, float[] got) {
        for (int i = 0; i < want.length; i++) {
            assertTrue(Math.abs(want[i] - got[i]) <= 1e-5 + 1e-4 * Math.abs(want[i]), "element " + i + ": want " + want[i] + ", got " + got[i]);
        }
    }
}
