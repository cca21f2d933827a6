package org.mimi4j.spark;

import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** Small local Spark sessions and helpers shared by the tests. */
final class SparkTestSupport {
    private SparkTestSupport() {
    }

    static SparkSession session(String master) {
        return SparkSession.builder().master(master).appName("mimi4j-spark-test")
                .config("spark.ui.enabled", "false")
                .config("spark.driver.bindAddress", "127.0.0.1")
                .config("spark.driver.host", "127.0.0.1")
                .config("spark.sql.shuffle.partitions", "4")
                .getOrCreate();
    }

    static Path golden() {
        String p = System.getProperty("mimi4j.golden", System.getenv("MIMI4J_GOLDEN"));
        Path r = Path.of(p == null ? "../shared/golden" : p);
        if (!Files.isDirectory(r)) r = Path.of("../../shared/golden");
        return r.toAbsolutePath().normalize();
    }

    /** The tiny golden model's weight file (config.json beside it). */
    static String tinyModel() {
        return golden().resolve("tiny/model.safetensors").toString();
    }

    /** The codes column of an output row as int[K][T]. */
    @SuppressWarnings("unchecked")
    static int[][] codes(Row r) {
        int i = r.fieldIndex("codes");
        if (r.isNullAt(i)) return null;
        List<Object> outer = r.getList(i);
        int[][] c = new int[outer.size()][];
        for (int k = 0; k < c.length; k++) {
            Object inner = outer.get(k);
            List<Object> l = inner instanceof List<?> list ? (List<Object>) list
                    : scala.jdk.javaapi.CollectionConverters.asJava((scala.collection.Seq<Object>) inner);
            c[k] = new int[l.size()];
            for (int t = 0; t < c[k].length; t++) c[k][t] = ((Number) l.get(t)).intValue();
        }
        return c;
    }

    /** Rows by path, failing on a path seen twice. */
    static Map<String, Row> byPath(List<Row> rows) {
        Map<String, Row> m = new HashMap<>();
        for (Row r : rows) {
            Row old = m.put(r.getString(r.fieldIndex("path")), r);
            if (old != null) throw new AssertionError("path twice in the output: " + r.getString(r.fieldIndex("path")));
        }
        return m;
    }
}
