import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * probe.c in Java (the Vector API, 512-bit vectors): the same product, layout, loop order and weights, hot or cold,
 * without or with a plain load of the panel's lines ahead (Java has no prefetch instruction). One thread.
 * Run: java --add-modules jdk.incubator.vector Probe.java M K N [ahead, floats: 2048]. See README.md.
 */
public class Probe {
    static final VectorSpecies<Float> S = FloatVector.SPECIES_512;
    static final int MR = 16, TR = 8, NR = 32, KC = 512, MC = 128, SKEW = 16, WEIGHTS = 24, L = 16;
    static int ahead = 2048;
    static float sink;

    /** Rows row0..row0+7 of a panel (ad[ai]: that panel's row row0 % 16 at k = kb), one sliver at bp[bi] ([kc][32]). */
    static void micro(float[] ad, int ai, float[] bp, int bi, float[] c, int ci, int ldc, int kc, boolean init, boolean load) {
        FloatVector c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51, c60, c61, c70, c71;
        if (init) {
            c00 = FloatVector.zero(S);
            c01 = c10 = c11 = c20 = c21 = c30 = c31 = c40 = c41 = c50 = c51 = c60 = c61 = c70 = c71 = c00;
        } else {
            c00 = FloatVector.fromArray(S, c, ci); c01 = FloatVector.fromArray(S, c, ci + L);
            c10 = FloatVector.fromArray(S, c, ci + ldc); c11 = FloatVector.fromArray(S, c, ci + ldc + L);
            c20 = FloatVector.fromArray(S, c, ci + 2 * ldc); c21 = FloatVector.fromArray(S, c, ci + 2 * ldc + L);
            c30 = FloatVector.fromArray(S, c, ci + 3 * ldc); c31 = FloatVector.fromArray(S, c, ci + 3 * ldc + L);
            c40 = FloatVector.fromArray(S, c, ci + 4 * ldc); c41 = FloatVector.fromArray(S, c, ci + 4 * ldc + L);
            c50 = FloatVector.fromArray(S, c, ci + 5 * ldc); c51 = FloatVector.fromArray(S, c, ci + 5 * ldc + L);
            c60 = FloatVector.fromArray(S, c, ci + 6 * ldc); c61 = FloatVector.fromArray(S, c, ci + 6 * ldc + L);
            c70 = FloatVector.fromArray(S, c, ci + 7 * ldc); c71 = FloatVector.fromArray(S, c, ci + 7 * ldc + L);
        }
        float touched = 0;
        int reach = ad.length - 1;
        for (int k = 0; k < kc; k++) {
            int a = ai + k * MR, b = bi + k * NR;
            if (load) touched += ad[Math.min(a + ahead, reach)]; // one 64-byte line per k step
            FloatVector b0 = FloatVector.fromArray(S, bp, b), b1 = FloatVector.fromArray(S, bp, b + L), x;
            x = FloatVector.broadcast(S, ad[a]); c00 = x.fma(b0, c00); c01 = x.fma(b1, c01);
            x = FloatVector.broadcast(S, ad[a + 1]); c10 = x.fma(b0, c10); c11 = x.fma(b1, c11);
            x = FloatVector.broadcast(S, ad[a + 2]); c20 = x.fma(b0, c20); c21 = x.fma(b1, c21);
            x = FloatVector.broadcast(S, ad[a + 3]); c30 = x.fma(b0, c30); c31 = x.fma(b1, c31);
            x = FloatVector.broadcast(S, ad[a + 4]); c40 = x.fma(b0, c40); c41 = x.fma(b1, c41);
            x = FloatVector.broadcast(S, ad[a + 5]); c50 = x.fma(b0, c50); c51 = x.fma(b1, c51);
            x = FloatVector.broadcast(S, ad[a + 6]); c60 = x.fma(b0, c60); c61 = x.fma(b1, c61);
            x = FloatVector.broadcast(S, ad[a + 7]); c70 = x.fma(b0, c70); c71 = x.fma(b1, c71);
        }
        sink += touched;
        c00.intoArray(c, ci); c01.intoArray(c, ci + L); ci += ldc;
        c10.intoArray(c, ci); c11.intoArray(c, ci + L); ci += ldc;
        c20.intoArray(c, ci); c21.intoArray(c, ci + L); ci += ldc;
        c30.intoArray(c, ci); c31.intoArray(c, ci + L); ci += ldc;
        c40.intoArray(c, ci); c41.intoArray(c, ci + L); ci += ldc;
        c50.intoArray(c, ci); c51.intoArray(c, ci + L); ci += ldc;
        c60.intoArray(c, ci); c61.intoArray(c, ci + L); ci += ldc;
        c70.intoArray(c, ci); c71.intoArray(c, ci + L);
    }

    static void gemm(float[] a, float[] b, float[] bp, float[] c, int m, int k, int n, boolean load) {
        int slivers = n / NR;
        for (int kb = 0; kb < k; kb += KC) {
            int kc = Math.min(KC, k - kb), stride = kc * NR + SKEW;
            for (int kk = 0; kk < kc; kk++) // B rows kb.. into slivers
                for (int s = 0; s < slivers; s++) System.arraycopy(b, (kb + kk) * n + s * NR, bp, s * stride + kk * NR, NR);
            for (int ic = 0; ic < m; ic += MC)
                for (int s = 0; s < slivers; s++)
                    for (int row0 = ic; row0 < ic + MC; row0 += TR)
                        micro(a, (row0 / MR) * k * MR + row0 % MR + kb * MR, bp, s * stride, c, row0 * n + s * NR, n, kc, kb == 0,
                                load && s == 0 && row0 % MR == 0);
        }
    }

    public static void main(String[] args) {
        int m, k, n;
        try {
            m = Integer.parseInt(args[0]);
            k = Integer.parseInt(args[1]);
            n = Integer.parseInt(args[2]);
            if (args.length > 3) ahead = Integer.parseInt(args[3]);
        } catch (RuntimeException e) {
            System.err.println("usage: Probe M K N [ahead]");
            System.exit(2);
            return;
        }
        if (m <= 0 || m % MC != 0 || n <= 0 || n % NR != 0 || k <= 0 || k % 16 != 0) {
            System.err.println("Probe: M a multiple of 128, N of 32, K of 16");
            System.exit(2);
        }
        java.util.Random r = new java.util.Random(1);
        float[][] a = new float[WEIGHTS][m * k];
        for (float[] w : a) for (int i = 0; i < w.length; i++) w[i] = r.nextFloat() - 0.5f;
        float[] b = new float[k * n], c = new float[m * n], bp = new float[(KC * NR + SKEW) * (n / NR)];
        for (int i = 0; i < b.length; i++) b[i] = r.nextFloat();
        double flop = 2.0 * m * k * n;
        for (int round = 0; round < 8; round++) { // rounds 0-4: the JIT's
            for (int mode = 0; mode < 3; mode++) {
                boolean cold = mode > 0, load = mode == 2;
                int reps = (int) (4e10 / flop) + 1;
                long t0 = System.nanoTime();
                for (int i = 0; i < reps; i++) gemm(a[cold ? i % WEIGHTS : 0], b, bp, c, m, k, n, load);
                double t = (System.nanoTime() - t0) / 1e9 / reps;
                if (round >= 5) System.out.printf("Java %dx%dx%d %s %-10s %7.0f us %4.0f GFLOP/s%n", m, k, n, cold ? "cold" : "hot ",
                        load ? "load" : "none", t * 1e6, flop / t / 1e9);
            }
        }
        if (sink == 12345f) System.out.println();
    }
}
