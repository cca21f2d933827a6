package org.mimi4j.perf;

import org.mimi4j.kernels.Gemm;
import org.mimi4j.kernels.PackedMatrix;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The GEMM counters behind {@code mimi bench}'s rows "GEMMs with 1-2 / more columns per weight": each top-level call
 * counted once (a chain once, with both weights, also when it runs as two calls), by its columns, with its FLOPs and weight bytes; nothing when off.
 * And by shape, behind the rows "GEMM M x K" of the offline sections.
 */
class ProfilerTest {
    @AfterEach
    void off() {
        Profiler.enable(false);
        Profiler.reset();
    }

    @Test
    void countsEachGemmCallOnceByItsColumns() {
        PackedMatrix a = PackedMatrix.pack(new float[40 * 30], 40, 30), b = PackedMatrix.pack(new float[24 * 40], 24, 40);
        float[] x = new float[30 * 50], y = new float[40 * 50], z = new float[24 * 50];
        Profiler.reset();
        Gemm.gemm(a, null, a.rowsOf(2), new Gemm.Segment(x, 0, y, 0, 2, 2), false); // off: not counted
        assertEquals(0, Profiler.nanos(Profiler.Gemms.FEW_COLUMNS));
        Profiler.enable(true);
        Gemm.gemm(a, null, a.rowsOf(2), new Gemm.Segment(x, 0, y, 0, 2, 2), false);                 // a stream's step
        Gemm.gemm(a, null, a.rowsOf(1), new Gemm.Segment(x, 0, y, 0, 1, 1), false);
        Gemm.gemm(a, null, a.rowsOf(50), new Gemm.Segment[]{new Gemm.Segment(x, 0, y, 0, 50, 20),   // 20 + 3 columns
                new Gemm.Segment(x, 20, y, 20, 50, 3)}, false);
        Gemm.chain(a, null, a.rowsOf(50), new Gemm.Segment[]{new Gemm.Segment(x, 0, y, 0, 50, 50)},  // conv1 then conv2
                b, null, new Gemm.Segment[]{new Gemm.Segment(null, 0, z, 0, 50, 50)});
        Gemm.chain(a, null, a.rowsOf(2), new Gemm.Segment[]{new Gemm.Segment(x, 0, y, 0, 2, 2)},    // a chain run as two calls
                b, null, new Gemm.Segment[]{new Gemm.Segment(null, 0, z, 0, 2, 2)});
        Profiler.enable(false);
        assertEquals(2L * 40 * 30 * (2 + 1) + 2L * (40 * 30 + 24 * 40) * 2, Profiler.flops(Profiler.Gemms.FEW_COLUMNS));
        assertEquals(2 * 4L * 40 * 30 + 4L * (40 * 30 + 24 * 40), Profiler.bytes(Profiler.Gemms.FEW_COLUMNS));
        assertEquals(2L * 40 * 30 * 23 + 2L * (40 * 30 + 24 * 40) * 50, Profiler.flops(Profiler.Gemms.MANY_COLUMNS));
        assertEquals(4L * 40 * 30 + 4L * (40 * 30 + 24 * 40), Profiler.bytes(Profiler.Gemms.MANY_COLUMNS));
        for (Profiler.Gemms g : Profiler.Gemms.values()) assertTrue(Profiler.nanos(g) > 0, g + " timed");
    }

    /** A task that runs beside others, one per thread, counts its time as its share: stages then add up to wall time. */
    @Test
    void aSharedThreadCountsItsShareOfTheTime() throws InterruptedException {
        Profiler.reset();
        Profiler.enable(true);
        long outer = System.nanoTime();
        Profiler.share(4);
        try {
            long t0 = Profiler.begin();
            Thread.sleep(20);
            Profiler.end(Profiler.Stage.CONV, t0, 1);
        } finally {
            Profiler.share(1);
        }
        long quarter = Profiler.nanos(Profiler.Stage.CONV);
        long t0 = Profiler.begin();
        Thread.sleep(20);
        Profiler.end(Profiler.Stage.QUANTIZER, t0, 1);
        outer = System.nanoTime() - outer;
        Profiler.enable(false);
        assertTrue(quarter >= 5_000_000L, "a quarter of at least 20 ms: " + quarter);
        assertTrue(4 * quarter <= outer - 20_000_000L, "no more than a quarter: " + quarter + " of " + outer);
        assertTrue(Profiler.nanos(Profiler.Stage.QUANTIZER) >= 20_000_000L, "all of it again after share(1)");
    }

    @Test
    void countsEachShapeApartLongestFirst() {
        PackedMatrix a = PackedMatrix.pack(new float[40 * 30], 40, 30), b = PackedMatrix.pack(new float[24 * 40], 24, 40);
        float[] x = new float[30 * 500], y = new float[40 * 500], z = new float[24 * 500];
        Profiler.reset();
        Profiler.enable(true);
        for (int i = 0; i < 3; i++) Gemm.gemm(a, null, a.rowsOf(500), new Gemm.Segment(x, 0, y, 0, 500, 500), false);
        Gemm.gemm(a, null, a.rowsOf(2), new Gemm.Segment(x, 0, y, 0, 2, 2), false);
        Gemm.chain(a, null, a.rowsOf(50), new Gemm.Segment[]{new Gemm.Segment(x, 0, y, 0, 50, 50)},
                b, null, new Gemm.Segment[]{new Gemm.Segment(null, 0, z, 0, 50, 50)});
        Profiler.enable(false);
        List<Profiler.Shape> shapes = Profiler.shapes();
        assertEquals(3, shapes.size(), shapes.toString()); // 40 x 30 over 500 and over 2 columns, the chain over 50
        Profiler.Shape wide = find(shapes, 0, 500), narrow = find(shapes, 0, 2), chain = find(shapes, 24, 50);
        assertEquals("40 x 30", wide.product());
        assertEquals(3, wide.calls());
        assertEquals(2L * 40 * 30 * 500 * 3, wide.flops());
        assertEquals(1, narrow.calls());
        assertEquals(2L * 40 * 30 * 2, narrow.flops());
        assertEquals("40 x 30, then 24 x 40", chain.product());
        assertEquals(1, chain.calls());
        assertEquals(2L * (40 * 30 + 24 * 40) * 50, chain.flops());
        for (int i = 1; i < shapes.size(); i++) assertTrue(shapes.get(i - 1).nanos() >= shapes.get(i).nanos(), "longest first");
        Profiler.reset();
        assertTrue(Profiler.shapes().isEmpty());
    }

    private static Profiler.Shape find(List<Profiler.Shape> shapes, int m2, int columns) {
        return shapes.stream().filter(g -> g.m2() == m2 && g.columns() == columns).findFirst().orElseThrow();
    }
}
