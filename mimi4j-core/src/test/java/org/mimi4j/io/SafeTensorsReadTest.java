package org.mimi4j.io;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Parts of a tensor read in place ({@link SafeTensors#read}) equal the same elements of the tensor, in every float dtype. */
class SafeTensorsReadTest {
    static final int N = 70_001; // past the 65536-element chunks that 16-bit tensors are converted in

    /** The float32 value of element i of an entry, decoded here from its little-endian bytes. */
    static float decode(SafeTensors.Entry e, int i) {
        ByteBuffer b = ByteBuffer.wrap(e.bytes()).order(ByteOrder.LITTLE_ENDIAN);
        return switch (e.dtype()) {
            case F32 -> b.getFloat(4 * i);
            case F64 -> (float) b.getDouble(8 * i);
            case F16 -> Float.float16ToFloat(b.getShort(2 * i));
            case BF16 -> Float.intBitsToFloat((b.getShort(2 * i) & 0xffff) << 16);
            default -> throw new AssertionError();
        };
    }

    @Test
    void rangesOfEveryFloatDtype(@TempDir Path dir) throws Exception {
        Random r = new Random(5);
        float[] v = new float[N];
        for (int i = 0; i < N; i++) v[i] = (float) r.nextGaussian();
        ByteBuffer f64 = ByteBuffer.allocate(8 * N).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < N; i++) f64.putDouble(r.nextGaussian());
        Map<String, SafeTensors.Entry> entries = new LinkedHashMap<>();
        entries.put("f32", SafeTensors.Entry.f32(v, N));
        entries.put("f16", SafeTensors.Entry.floats(v, SafeTensors.DType.F16, N));
        entries.put("bf16", SafeTensors.Entry.floats(v, SafeTensors.DType.BF16, N));
        entries.put("f64", new SafeTensors.Entry(SafeTensors.DType.F64, new long[]{N}, f64.array()));
        Path file = dir.resolve("t.safetensors");
        SafeTensors.write(file, entries, Map.of());
        try (SafeTensors st = SafeTensors.open(file)) {
            for (var e : entries.entrySet()) {
                String name = e.getKey();
                float[] want = new float[N];
                for (int i = 0; i < N; i++) want[i] = decode(e.getValue(), i);
                assertArrayEquals(want, st.floats(name), 0f, name);
                // {from, n}: all, a few, across a chunk boundary, a chunk and more, the end, nothing
                for (int[] range : new int[][]{{0, N}, {1, 4}, {65_530, 20}, {1_000, 65_536 + 7}, {N - 9, 9}, {N, 0}}) {
                    int from = range[0], n = range[1];
                    float[] got = new float[n + 5];
                    Arrays.fill(got, Float.NaN);
                    st.read(name, from, got, 3, n);
                    float[] expect = new float[n + 5];
                    Arrays.fill(expect, Float.NaN);
                    System.arraycopy(want, from, expect, 3, n);
                    assertArrayEquals(expect, got, 0f, name + " from " + from + " n " + n);
                }
                assertThrows(IndexOutOfBoundsException.class, () -> st.read(name, N - 3, new float[4], 0, 4), name);
                assertThrows(IndexOutOfBoundsException.class, () -> st.read(name, -1, new float[4], 0, 4), name);
            }
        }
    }
}
