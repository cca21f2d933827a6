// mimi4j side of the side-by-side harness: a single-file program on JDK 25, run as
//   java --add-modules jdk.incubator.vector -Xmx8g -cp mimi4j-core.jar MimiServer.java --checkpoint F --audio F
// Loads the checkpoint once (Mimi.load), warms up with one 10 s encode, then answers one JSON line per command read
// from stdin, the same commands and the same code layouts for the SHA-256 as pt_server.py:
//   encode8 | encode32 | decode | stream1 [FRAMES] | stream16 [FRAMES] | load | quit
// offline codes hashed as [K][T] little-endian int32, streams as [frame][stream][K]. Times around the work only.

import org.mimi4j.Mimi;
import org.mimi4j.kernels.Parallel;
import org.mimi4j.stream.DecoderBatch;
import org.mimi4j.stream.EncoderBatch;
import org.mimi4j.stream.MimiDecoderStream;
import org.mimi4j.stream.MimiEncoderStream;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

public class MimiServer {
    static final int SR = 24000, FRAME = 1920, STREAM_OFFSET = 88000;

    static void log(String s) {
        System.err.println("[mimi4j] " + s);
        System.err.flush();
    }

    public static void main(String[] args) throws Exception {
        Path ckpt = null, audioPath = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--checkpoint" -> ckpt = Path.of(args[++i]);
                case "--audio" -> audioPath = Path.of(args[++i]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        ByteBuffer bb = ByteBuffer.wrap(Files.readAllBytes(audioPath)).order(ByteOrder.LITTLE_ENDIAN);
        float[] audio = new float[bb.remaining() / 4];
        bb.asFloatBuffer().get(audio);

        long t0 = System.nanoTime();
        Mimi m = Mimi.load(ckpt);
        double loadMs = (System.nanoTime() - t0) / 1e6;
        log(String.format(Locale.ROOT, "loaded in %.0f ms; warming up (one 10 s encode)", loadMs));
        t0 = System.nanoTime();
        m.encode(Arrays.copyOf(audio, 10 * SR), 8);
        double warmMs = (System.nanoTime() - t0) / 1e6;

        Map<String, Object> info = new LinkedHashMap<>();
        info.put("side", "mimi4j");
        info.put("ready", true);
        info.put("load_ms", loadMs);
        info.put("warmup_encode10s_ms", warmMs);
        info.put("java", Runtime.version().toString());
        info.put("threads", Parallel.threads());
        info.put("max_heap_mb", Runtime.getRuntime().maxMemory() >> 20);
        info.put("jar", Mimi.class.getProtectionDomain().getCodeSource().getLocation().getPath());
        info.put("layout", m.layout().toString());
        info.put("audio_samples", audio.length);
        System.out.println(json(info));
        System.out.flush();

        int[][] codes8 = null;
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
        for (String line; (line = in.readLine()) != null; ) {
            String[] parts = line.trim().split("\\s+");
            if (parts[0].isEmpty()) continue;
            String cmd = parts[0];
            if (cmd.equals("quit")) break;
            Map<String, Object> ans = new LinkedHashMap<>();
            try {
                switch (cmd) {
                    case "encode8", "encode32" -> {
                        int nq = cmd.equals("encode8") ? 8 : 32;
                        long s = System.nanoTime();
                        int[][] c = m.encode(audio, nq);
                        double ms = (System.nanoTime() - s) / 1e6;
                        if (nq == 8) codes8 = c;
                        ans.put("ms", ms);
                        ans.put("sha256", shaOffline(c));
                        ans.put("shape", new int[]{c.length, c[0].length});
                    }
                    case "decode" -> {
                        if (codes8 == null) codes8 = m.encode(audio, 8);
                        long s = System.nanoTime();
                        float[] y = m.decode(codes8);
                        double ms = (System.nanoTime() - s) / 1e6;
                        ans.put("ms", ms);
                        ans.put("sha256", shaOffline(codes8));
                        ans.put("samples", y.length);
                        double sq = 0, peak = 0;
                        for (float v : y) {
                            sq += (double) v * v;
                            peak = Math.max(peak, Math.abs(v));
                        }
                        ans.put("audio_rms", Math.sqrt(sq / y.length));
                        ans.put("audio_peak", peak);
                    }
                    case "stream1", "stream16" -> {
                        int streams = cmd.equals("stream1") ? 1 : 16;
                        int frames = parts.length > 1 ? Integer.parseInt(parts[1]) : streams == 1 ? 200 : 60;
                        ans.putAll(stream(m, audio, streams, frames));
                    }
                    case "load" -> {
                        System.gc(); // from a clean heap, as in a new process (not timing the collection of the last model)
                        long s = System.nanoTime();
                        Mimi m2 = Mimi.load(ckpt);
                        double ms = (System.nanoTime() - s) / 1e6;
                        if (m2.frameSize() != FRAME) throw new IllegalStateException();
                        m2 = null;
                        ans.put("ms", ms);
                    }
                    default -> ans.put("error", "unknown command " + cmd);
                }
            } catch (Throwable e) {
                ans.clear();
                ans.put("error", e.toString());
            }
            ans.put("workload", cmd);
            System.out.println(json(ans));
            System.out.flush();
        }
    }

    /** Per frame: one 1920-sample chunk per stream encoded, its codes decoded; a fresh stream (or batch) per call. */
    static Map<String, Object> stream(Mimi m, float[] audio, int streams, int frames) throws Exception {
        int n = audio.length;
        float[][][] chunks = new float[frames][streams][];
        for (int f = 0; f < frames; f++) {
            for (int i = 0; i < streams; i++) {
                int o = (int) (((long) i * STREAM_OFFSET + (long) f * FRAME) % (n - FRAME));
                chunks[f][i] = Arrays.copyOfRange(audio, o, o + FRAME);
            }
        }
        double[] per = new double[frames];
        int[][][] got = new int[frames][streams][];
        double sq = 0, peak = 0;
        if (streams == 1) {
            MimiEncoderStream enc = m.encoderStream(8);
            MimiDecoderStream dec = m.decoderStream();
            for (int f = 0; f < frames; f++) {
                long s = System.nanoTime();
                int[][] fr = enc.push(chunks[f][0]);
                float[] y = dec.push(fr[0]);
                per[f] = (System.nanoTime() - s) / 1e6;
                if (fr.length != 1) throw new IllegalStateException("expected one frame, got " + fr.length);
                got[f][0] = fr[0];
                for (float v : y) {
                    sq += (double) v * v;
                    peak = Math.max(peak, Math.abs(v));
                }
            }
        } else {
            EncoderBatch eb = m.encoderBatch(streams, 8);
            DecoderBatch db = m.decoderBatch(streams);
            EncoderBatch.Slot[] es = new EncoderBatch.Slot[streams];
            DecoderBatch.Slot[] ds = new DecoderBatch.Slot[streams];
            for (int i = 0; i < streams; i++) {
                es[i] = eb.join();
                ds[i] = db.join();
            }
            float[][] ys = new float[streams][];
            for (int f = 0; f < frames; f++) {
                long s = System.nanoTime();
                for (int i = 0; i < streams; i++) es[i].push(chunks[f][i]);
                eb.step();
                for (int i = 0; i < streams; i++) {
                    int[][] fr = es[i].poll();
                    if (fr.length != 1) throw new IllegalStateException("expected one frame, got " + fr.length);
                    got[f][i] = fr[0];
                    ds[i].push(fr[0]);
                }
                db.step();
                for (int i = 0; i < streams; i++) ys[i] = ds[i].poll();
                per[f] = (System.nanoTime() - s) / 1e6;
                for (float[] y : ys) {
                    for (float v : y) {
                        sq += (double) v * v;
                        peak = Math.max(peak, Math.abs(v));
                    }
                }
            }
        }
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        ByteBuffer b = ByteBuffer.allocate(4 * 32).order(ByteOrder.LITTLE_ENDIAN);
        for (int f = 0; f < frames; f++) {
            for (int i = 0; i < streams; i++) {
                b.clear();
                for (int v : got[f][i]) b.putInt(v);
                md.update(b.array(), 0, b.position());
            }
        }
        double[] s = per.clone();
        Arrays.sort(s);
        Map<String, Object> ans = new LinkedHashMap<>();
        ans.put("ms", s[s.length / 2]);
        ans.put("p99_ms", s[Math.min(s.length - 1, (int) Math.ceil(0.99 * s.length) - 1)]);
        ans.put("mean_ms", Arrays.stream(per).average().orElse(0));
        ans.put("max_ms", s[s.length - 1]);
        ans.put("frames", frames);
        ans.put("streams", streams);
        ans.put("sha256", HexFormat.of().formatHex(md.digest()));
        ans.put("audio_rms", Math.sqrt(sq / ((double) frames * streams * FRAME)));
        ans.put("audio_peak", peak);
        return ans;
    }

    static String shaOffline(int[][] c) throws Exception {
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        ByteBuffer b = ByteBuffer.allocate(4 * c[0].length).order(ByteOrder.LITTLE_ENDIAN);
        for (int[] row : c) {
            b.clear();
            for (int v : row) b.putInt(v);
            md.update(b.array(), 0, b.position());
        }
        return HexFormat.of().formatHex(md.digest());
    }

    static String json(Map<String, Object> m) {
        StringBuilder sb = new StringBuilder("{");
        for (Map.Entry<String, Object> e : m.entrySet()) {
            if (sb.length() > 1) sb.append(", ");
            sb.append('"').append(e.getKey()).append("\": ").append(value(e.getValue()));
        }
        return sb.append('}').toString();
    }

    static String value(Object v) {
        if (v instanceof Double d) return Double.isFinite(d) ? d.toString() : "null";
        if (v instanceof Number || v instanceof Boolean) return v.toString();
        if (v instanceof int[] a) {
            StringBuilder sb = new StringBuilder("[");
            for (int i = 0; i < a.length; i++) sb.append(i > 0 ? ", " : "").append(a[i]);
            return sb.append(']').toString();
        }
        String s = String.valueOf(v);
        StringBuilder sb = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            if (c == '"' || c == '\\') sb.append('\\').append(c);
            else if (c < 0x20) sb.append(String.format("\\u%04x", (int) c));
            else sb.append(c);
        }
        return sb.append('"').toString();
    }
}
