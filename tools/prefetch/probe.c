/*
 * One thread: C[M][N] = A[M][K] B[K][N] in mimi4j's blocking (kernels/Gemm.java: A in 16-row panels, k-major; a tile of
 * 8 rows x 32 columns in 16 zmm accumulators; K blocks of 512; B packed per K block into slivers of 32 columns; rows
 * in blocks of 128, every sliver over a block's tiles before the next sliver), with the weights A the same every call
 * (hot: from cache) or cycling through 24 matrices (cold: from memory, as a transformer's linears in an offline call).
 * The first tile of each panel, on a block's first sliver, optionally asks for its panel's lines `ahead` floats early:
 * "prefetch" with prefetcht1 (C only), "load" with a plain load whose value is used (what Java can write).
 * Build: gcc -O3 -march=native -o probe probe.c.  Run: ./probe M K N [ahead, floats: 2048].  See README.md.
 */
#include <immintrin.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

enum { MR = 16, TR = 8, NR = 32, KC = 512, MC = 128, SKEW = 16, WEIGHTS = 24 };
static int AHEAD = 2048; /* floats: 128 k steps of a 16-row panel */
enum Mode { NONE, PREFETCH, LOAD };
static const char *NAMES[] = {"none", "prefetcht1", "load"};
float sink;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

/* rows row0..row0+7 of a panel (a: that panel's row row0 % 16 at k = kb), one sliver b ([kc][32]) */
static void micro(const float *a, const float *b, float *c, int ldc, int kc, int init, enum Mode ask) {
    __m512 c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51, c60, c61, c70, c71;
    if (init) {
        c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = c40 = c41 = c50 = c51 = c60 = c61 = c70 = c71 = _mm512_setzero_ps();
    } else {
        c00 = _mm512_loadu_ps(c); c01 = _mm512_loadu_ps(c + 16);
        c10 = _mm512_loadu_ps(c + ldc); c11 = _mm512_loadu_ps(c + ldc + 16);
        c20 = _mm512_loadu_ps(c + 2 * ldc); c21 = _mm512_loadu_ps(c + 2 * ldc + 16);
        c30 = _mm512_loadu_ps(c + 3 * ldc); c31 = _mm512_loadu_ps(c + 3 * ldc + 16);
        c40 = _mm512_loadu_ps(c + 4 * ldc); c41 = _mm512_loadu_ps(c + 4 * ldc + 16);
        c50 = _mm512_loadu_ps(c + 5 * ldc); c51 = _mm512_loadu_ps(c + 5 * ldc + 16);
        c60 = _mm512_loadu_ps(c + 6 * ldc); c61 = _mm512_loadu_ps(c + 6 * ldc + 16);
        c70 = _mm512_loadu_ps(c + 7 * ldc); c71 = _mm512_loadu_ps(c + 7 * ldc + 16);
    }
    float touched = 0;
    for (int k = 0; k < kc; k++, a += MR, b += NR) {
        if (ask == PREFETCH) _mm_prefetch((const char *)(a + AHEAD), _MM_HINT_T1); /* one 64-byte line per k step */
        else if (ask == LOAD) touched += a[AHEAD];
        __m512 b0 = _mm512_load_ps(b), b1 = _mm512_load_ps(b + 16), x;
        x = _mm512_set1_ps(a[0]); c00 = _mm512_fmadd_ps(x, b0, c00); c01 = _mm512_fmadd_ps(x, b1, c01);
        x = _mm512_set1_ps(a[1]); c10 = _mm512_fmadd_ps(x, b0, c10); c11 = _mm512_fmadd_ps(x, b1, c11);
        x = _mm512_set1_ps(a[2]); c20 = _mm512_fmadd_ps(x, b0, c20); c21 = _mm512_fmadd_ps(x, b1, c21);
        x = _mm512_set1_ps(a[3]); c30 = _mm512_fmadd_ps(x, b0, c30); c31 = _mm512_fmadd_ps(x, b1, c31);
        x = _mm512_set1_ps(a[4]); c40 = _mm512_fmadd_ps(x, b0, c40); c41 = _mm512_fmadd_ps(x, b1, c41);
        x = _mm512_set1_ps(a[5]); c50 = _mm512_fmadd_ps(x, b0, c50); c51 = _mm512_fmadd_ps(x, b1, c51);
        x = _mm512_set1_ps(a[6]); c60 = _mm512_fmadd_ps(x, b0, c60); c61 = _mm512_fmadd_ps(x, b1, c61);
        x = _mm512_set1_ps(a[7]); c70 = _mm512_fmadd_ps(x, b0, c70); c71 = _mm512_fmadd_ps(x, b1, c71);
    }
    sink += touched;
    _mm512_storeu_ps(c, c00); _mm512_storeu_ps(c + 16, c01); c += ldc;
    _mm512_storeu_ps(c, c10); _mm512_storeu_ps(c + 16, c11); c += ldc;
    _mm512_storeu_ps(c, c20); _mm512_storeu_ps(c + 16, c21); c += ldc;
    _mm512_storeu_ps(c, c30); _mm512_storeu_ps(c + 16, c31); c += ldc;
    _mm512_storeu_ps(c, c40); _mm512_storeu_ps(c + 16, c41); c += ldc;
    _mm512_storeu_ps(c, c50); _mm512_storeu_ps(c + 16, c51); c += ldc;
    _mm512_storeu_ps(c, c60); _mm512_storeu_ps(c + 16, c61); c += ldc;
    _mm512_storeu_ps(c, c70); _mm512_storeu_ps(c + 16, c71);
}

/* M a multiple of 128, N of 32 */
static void gemm(const float *A, const float *B, float *bp, float *C, int M, int K, int N, enum Mode ask) {
    int slivers = N / NR;
    for (int kb = 0; kb < K; kb += KC) {
        int kc = K - kb < KC ? K - kb : KC, stride = kc * NR + SKEW;
        for (int k = 0; k < kc; k++) /* B rows kb.. into slivers */
            for (int s = 0; s < slivers; s++)
                for (int j = 0; j < NR; j += 16) _mm512_store_ps(bp + s * stride + k * NR + j, _mm512_loadu_ps(B + (size_t)(kb + k) * N + s * NR + j));
        for (int ic = 0; ic < M; ic += MC)
            for (int s = 0; s < slivers; s++)
                for (int row0 = ic; row0 < ic + MC; row0 += TR)
                    micro(A + (size_t)(row0 / MR) * K * MR + row0 % MR + (size_t)kb * MR, bp + s * stride, C + (size_t)row0 * N + s * NR, N, kc,
                          kb == 0, s == 0 && row0 % MR == 0 ? ask : NONE);
    }
}

int main(int argc, char **argv) {
    if (argc != 4 && argc != 5) { fprintf(stderr, "usage: probe M K N [ahead]\n"); return 2; }
    if (argc == 5) AHEAD = atoi(argv[4]);
    int M = atoi(argv[1]), K = atoi(argv[2]), N = atoi(argv[3]);
    if (M <= 0 || K <= 0 || N <= 0 || M % MC || N % NR || K % 16) { fprintf(stderr, "probe: M a multiple of 128, N of 32, K of 16\n"); return 2; }
    float *A[WEIGHTS];
    srand(1);
    for (int w = 0; w < WEIGHTS; w++) {
        A[w] = aligned_alloc(64, (size_t)M * K * 4);
        for (size_t i = 0; i < (size_t)M * K; i++) A[w][i] = (float)rand() / RAND_MAX - 0.5f;
    }
    float *B = aligned_alloc(64, (size_t)K * N * 4), *C = aligned_alloc(64, (size_t)M * N * 4);
    float *bp = aligned_alloc(64, ((size_t)KC * NR + SKEW) * (N / NR) * 4 + 64);
    for (size_t i = 0; i < (size_t)K * N; i++) B[i] = (float)rand() / RAND_MAX;
    double flop = 2.0 * M * K * N;
    for (int round = 0; round < 5; round++) {
        for (int cold = 0; cold <= 1; cold++)
            for (enum Mode ask = NONE; ask <= LOAD; ask++) {
                if (!cold && ask != NONE) continue;
                int reps = (int)(4e10 / flop) + 1;
                double t0 = now();
                for (int i = 0; i < reps; i++) gemm(A[cold ? i % WEIGHTS : 0], B, bp, C, M, K, N, ask);
                double t = (now() - t0) / reps;
                if (round >= 2) printf("C    %dx%dx%d %s %-10s %7.0f us %4.0f GFLOP/s\n", M, K, N, cold ? "cold" : "hot ", NAMES[ask], t * 1e6, flop / t / 1e9);
            }
    }
    return sink == 12345.f;
}
