package org.mimi4j.perf;

import org.junit.jupiter.api.Test;
import org.mimi4j.io.Json;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The table and JSON of {@code mimi bench} from a report of known numbers (the measuring itself takes minutes). */
class BenchReportTest {
    private static Bench.Report report() {
        List<Bench.Row> rows = List.of(
                new Bench.Row("encode 60 s", "total", 1000, 100, 60, "177 MB allocated"),
                new Bench.Row("encode 60 s", "SEANet convs", 500, 60, 60, ""),
                new Bench.Row("decode 60 s", "total", 2000, 100, 60, "a \"quoted\" note\\"));
        Map<String, Double> peaks = new LinkedHashMap<>();
        peaks.put("encode 60 s", 200.0);
        peaks.put("decode 60 s", 250.0);
        Map<String, Double> facts = new LinkedHashMap<>();
        facts.put("vector_bits", 512.0);
        facts.put("encode_ms_8", 1000.0);
        return new Bench.Report(2, 100, 150, 12.5, "/tmp/model.safetensors", rows, facts, peaks);
    }

    @Test
    void tableQuotesEachSectionAgainstThePeakMeasuredAroundIt() {
        String t = Bench.table(report());
        assertTrue(t.startsWith("FMA peak measured in this run: 100 GFLOP/s (1 thread), 150 GFLOP/s (2 threads) at the start, "
                + "200-250 around the sections; 512-bit vectors; memory read 12.5 GB/s"), t);
        assertTrue(t.contains("| encode 60 s (FMA peak around it: 200 GFLOP/s) |"), t);
        assertTrue(t.contains("| total | 1000 | 100 | 100 | 50% | 60.0 | 177 MB allocated |"), t);   // 100 GFLOP/s of 200
        assertTrue(t.contains("| SEANet convs | 500 | 60.0 | 120 | 60% |  |  |"), t);               // 120 of 200
        assertTrue(t.contains("| total | 2000 | 100 | 50.0 | 20% | 30.0 |"), t);                      // 50 of 250
        assertTrue(t.contains("- encode_ms_8: 1000"), t);
    }

    @Test
    void jsonParsesAndCarriesTheSameNumbers() {
        @SuppressWarnings("unchecked")
        Map<String, Object> j = (Map<String, Object>) Json.parse(Bench.json(report()));
        assertEquals(2L, j.get("threads"));
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> rows = (List<Map<String, Object>>) j.get("rows");
        assertEquals(3, rows.size());
        assertEquals(0.5, ((Number) rows.get(0).get("peak_fraction")).doubleValue(), 1e-4);
        assertEquals(250.0, ((Number) rows.get(2).get("peak_gflops")).doubleValue(), 1e-4);
        assertEquals("a \"quoted\" note\\", rows.get(2).get("note"));
        assertEquals(Double.valueOf(512), ((Number) ((Map<?, ?>) j.get("facts")).get("vector_bits")).doubleValue());
    }

    @Test
    void listsTheShapesThatTakeAtLeastOneAndAHalfPercentOfTheSection() {
        List<Profiler.Shape> shapes = List.of( // longest first, as Profiler.shapes() gives them
                new Profiler.Shape(32, 192, 64, 7680, 400_000_000L, 30_000_000_000L, 187),
                new Profiler.Shape(128, 512, 0, 1920, 300_000_000L, 47_000_000_000L, 1),
                new Profiler.Shape(64, 7, 0, 7680, 14_000_000L, 1_000_000_000L, 187));
        List<Bench.Row> rows = Bench.shapeRows("encode 60 s", shapes, 1000, 60, 1); // 1.5% of 1000 ms: 15 ms
        assertEquals(2, rows.size(), rows.toString());
        assertEquals("GEMM 32 x 192, then 64 x 32", rows.get(0).name());
        assertEquals(400, rows.get(0).ms(), 1e-9);
        assertEquals(75, rows.get(0).gflops(), 1e-9);
        assertEquals("187 calls of 7680 columns", rows.get(0).note());
        assertEquals("GEMM 128 x 512", rows.get(1).name());
        assertEquals("1 call of 1920 columns", rows.get(1).note());
    }

    @Test
    void streamingShapeRowsArePerFrameWithTheBandwidthOfNarrowCalls() {
        List<Profiler.Shape> shapes = List.of( // 300 frames: 16 calls per frame of a 512 x 2048 weight (4 MB) over 2 columns
                new Profiler.Shape(512, 2048, 0, 2, 300 * 3_000_000L, 300 * 16 * 2L * 512 * 2048 * 2, 300 * 16),
                new Profiler.Shape(32, 192, 64, 1920, 300 * 1_000_000L, 300 * 31_457_280L, 300 * 2),
                new Profiler.Shape(256, 512, 0, 64, 300 * 400_000L, 300 * 16_777_216L, 22));   // not every frame: 0.0733 per frame
        List<Bench.Row> rows = Bench.shapeRows("streaming", shapes, 25, 0.08, 300);
        assertEquals(3, rows.size(), rows.toString());
        assertEquals("GEMM 512 x 2048 (mean)", rows.get(0).name());
        assertEquals(3, rows.get(0).ms(), 1e-9);
        // 16 x 4 MB read in 3 ms: 22.4 GB/s
        assertEquals("16 calls per frame of 2 columns, weights read at 22.4 GB/s", rows.get(0).note());
        assertEquals("2 calls per frame of 1920 columns", rows.get(1).note());
        assertEquals("0.07 calls per frame of 64 columns", rows.get(2).note());
    }
}
