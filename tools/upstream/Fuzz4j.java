import org.mimi4j.Mimi;
import org.mimi4j.Padding;
import org.mimi4j.stream.MimiDecoderStream;
import org.mimi4j.stream.MimiEncoderStream;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** mimi4j side of the differential fuzz (see fuzz.py): the cases of DIR/cases.json, outputs into DIR/j4/. */
public class Fuzz4j {
    public static void main(String[] a) throws Exception {
        Path dir = Path.of(a[0]);
        Mimi m = Mimi.load(Path.of(a[1]));
        Files.createDirectories(dir.resolve("j4"));
        // cases.lines: one "id kind batch nq k t lens... | chunk" line per case (written by fuzz.py)
        for (String line : Files.readAllLines(dir.resolve("cases.lines"))) {
            String[] p = line.split(" ");
            String id = p[0], kind = p[1];
            int batch = Integer.parseInt(p[2]), nq = Integer.parseInt(p[3]), k = Integer.parseInt(p[4]), t = Integer.parseInt(p[5]);
            int chunk = Integer.parseInt(p[6]);
            switch (kind) {
                case "enc" -> {
                    float[] all = floats(dir.resolve("in").resolve(id + ".f32"));
                    int len = all.length / batch;
                    int[] lengths = new int[batch];
                    float[][] x = new float[batch][];
                    for (int b = 0; b < batch; b++) {
                        x[b] = java.util.Arrays.copyOfRange(all, b * len, (b + 1) * len);
                        lengths[b] = Integer.parseInt(p[7 + b]);
                    }
                    List<int[]> rows = new ArrayList<>();
                    if (batch == 1) rows.addAll(List.of(m.encode(java.util.Arrays.copyOf(x[0], lengths[0]), nq)));
                    else for (int[][] item : m.encode(x, lengths, nq, Padding.MOSHI, null).audioCodes()) rows.addAll(List.of(item));
                    writeInts(dir.resolve("j4").resolve(id + ".i32"), rows);
                }
                case "senc" -> {
                    float[] x = floats(dir.resolve("in").resolve(id + ".f32"));
                    MimiEncoderStream s = m.encoderStream(nq);
                    List<int[]> rows = new ArrayList<>();
                    for (int o = 0; o < x.length; o += chunk) rows.addAll(List.of(s.push(x, o, Math.min(chunk, x.length - o))));
                    writeInts(dir.resolve("j4").resolve(id + ".i32"), rows);
                }
                case "dec", "sdec" -> {
                    int[] flat = ints(dir.resolve("in").resolve(id + ".i32"));
                    int[][] codes = new int[k][t];
                    for (int q = 0; q < k; q++) System.arraycopy(flat, q * t, codes[q], 0, t);
                    float[] y;
                    if (kind.equals("dec")) y = m.decode(codes);
                    else {
                        MimiDecoderStream s = m.decoderStream();
                        y = new float[t * 1920];
                        for (int f = 0; f < t; f++) {
                            int[] frame = new int[k];
                            for (int q = 0; q < k; q++) frame[q] = codes[q][f];
                            System.arraycopy(s.push(frame), 0, y, f * 1920, 1920);
                        }
                    }
                    ByteBuffer bb = ByteBuffer.allocate(4 * y.length).order(ByteOrder.LITTLE_ENDIAN);
                    for (float v : y) bb.putFloat(v);
                    Files.write(dir.resolve("j4").resolve(id + ".f32"), bb.array());
                }
                default -> throw new IllegalArgumentException(kind);
            }
        }
        System.exit(0);
    }

    static float[] floats(Path p) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(p)).order(ByteOrder.LITTLE_ENDIAN);
        float[] x = new float[b.remaining() / 4];
        b.asFloatBuffer().get(x);
        return x;
    }

    static int[] ints(Path p) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(p)).order(ByteOrder.LITTLE_ENDIAN);
        int[] x = new int[b.remaining() / 4];
        b.asIntBuffer().get(x);
        return x;
    }

    static void writeInts(Path p, List<int[]> rows) throws IOException {
        int n = 0;
        for (int[] r : rows) n += r.length;
        ByteBuffer bb = ByteBuffer.allocate(4 * n).order(ByteOrder.LITTLE_ENDIAN);
        for (int[] r : rows) for (int v : r) bb.putInt(v);
        Files.write(p, bb.array());
    }
}
