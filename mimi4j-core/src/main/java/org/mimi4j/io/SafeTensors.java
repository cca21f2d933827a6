package org.mimi4j.io;

import java.io.IOException;
import java.io.OutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A memory-mapped safetensors file (https://github.com/huggingface/safetensors): an 8-byte little-endian header
 * length N, N bytes of JSON {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {str: str}}, then
 * the data area. The header is validated as the reference implementation does: length within the file, JSON
 * well-formed, dtypes known, shape x dtype size == byte range, ranges contiguous, inside and covering the data area.
 * Tensors are read as float32 (from F32, F16, BF16, F64) or int64 (from any integer type).
 */
public final class SafeTensors implements AutoCloseable {
    /** Largest header the reference implementation accepts. */
    static final long MAX_HEADER = 100_000_000L;

    public enum DType {
        BOOL(1), U8(1), I8(1), I16(2), U16(2), F16(2), BF16(2), I32(4), U32(4), F32(4), I64(8), U64(8), F64(8);

        public final int size;

        DType(int size) {
            this.size = size;
        }

        boolean isFloat() {
            return this == F16 || this == BF16 || this == F32 || this == F64;
        }
    }

    /** One tensor's entry in the header; begin/end are offsets in the data area. */
    public record TensorInfo(String name, DType dtype, long[] shape, long begin, long end) {
        public long numel() {
            long n = 1;
            for (long d : shape) n *= d;
            return n;
        }

        public String shapeString() {
            return Arrays.toString(shape);
        }
    }

    private final Path path;
    private final Arena arena;
    private final MemorySegment data;
    private final Map<String, TensorInfo> tensors;
    private final Map<String, String> metadata;

    private SafeTensors(Path path, Arena arena, MemorySegment data, Map<String, TensorInfo> tensors,
                        Map<String, String> metadata) {
        this.path = path;
        this.arena = arena;
        this.data = data;
        this.tensors = tensors;
        this.metadata = metadata;
    }

    /** "WAV", "FLAC", "MP3" or "Ogg" when a file starts as one (an audio file given where a safetensors one goes), else null. */
    private static String audioKind(byte[] head) {
        String h = new String(head, StandardCharsets.ISO_8859_1);
        if (h.equals("RIFF")) return "WAV";
        if (h.equals("fLaC")) return "FLAC";
        if (h.startsWith("ID3") || (head[0] & 0xFF) == 0xFF && (head[1] & 0xE0) == 0xE0) return "MP3";
        if (h.equals("OggS")) return "Ogg";
        return null;
    }

    /** Maps the file read-only and validates its header. */
    public static SafeTensors open(Path path) {
        if (Files.isDirectory(path)) throw new SafeTensorsException(path + ": is a directory, not a safetensors file");
        Arena arena = Arena.ofShared();
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < 8) throw new SafeTensorsException(path + ": not a safetensors file (only " + size + " bytes)");
            MemorySegment all = ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            long n = all.get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0);
            if (n < 2 || n > MAX_HEADER || n > size - 8) {
                String kind = audioKind(all.asSlice(0, 4).toArray(ValueLayout.JAVA_BYTE));
                if (kind != null) throw new SafeTensorsException(path + ": is " + kind + " audio, not a safetensors file");
                throw new SafeTensorsException(path + ": not a safetensors file or truncated (header length " +
                        Long.toUnsignedString(n) + " but file has " + size + " bytes)");
            }
            byte[] hb = all.asSlice(8, n).toArray(ValueLayout.JAVA_BYTE);
            String header;
            try {
                header = StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(hb)).toString();
            } catch (CharacterCodingException e) {
                throw new SafeTensorsException(path + ": not a safetensors file (header is not UTF-8)");
            }
            MemorySegment dataArea = all.asSlice(8 + n);
            SafeTensors st = parseHeader(path, header, dataArea.byteSize(), arena, dataArea);
            return st;
        } catch (NoSuchFileException e) {
            arena.close();
            throw new SafeTensorsException(path + ": no such file");
        } catch (AccessDeniedException e) {
            arena.close();
            throw new SafeTensorsException(path + ": permission denied");
        } catch (IOException e) {
            arena.close();
            throw new SafeTensorsException(path + ": cannot read (" + e.getMessage() + ")", e);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    @SuppressWarnings("unchecked")
    private static SafeTensors parseHeader(Path path, String header, long dataSize, Arena arena, MemorySegment data) {
        Object root;
        try {
            root = Json.parse(header.stripTrailing());
        } catch (IllegalArgumentException e) {
            throw new SafeTensorsException(path + ": invalid safetensors header (" + e.getMessage() + ")");
        }
        if (!(root instanceof Map<?, ?> m)) throw new SafeTensorsException(path + ": safetensors header is not a JSON object");
        Map<String, TensorInfo> tensors = new LinkedHashMap<>();
        Map<String, String> meta = new LinkedHashMap<>();
        for (Map.Entry<String, Object> e : ((Map<String, Object>) m).entrySet()) {
            String name = e.getKey();
            if (name.equals("__metadata__")) {
                if (!(e.getValue() instanceof Map<?, ?> mm)) throw new SafeTensorsException(path + ": __metadata__ is not an object");
                for (Map.Entry<?, ?> me : mm.entrySet()) {
                    if (!(me.getValue() instanceof String sv)) throw new SafeTensorsException(path + ": __metadata__ value of \"" + me.getKey() + "\" is not a string");
                    meta.put((String) me.getKey(), sv);
                }
                continue;
            }
            if (!(e.getValue() instanceof Map<?, ?> t)) throw new SafeTensorsException(path + ": entry \"" + name + "\" is not an object");
            Object dt = t.get("dtype"), sh = t.get("shape"), off = t.get("data_offsets");
            if (!(dt instanceof String dts)) throw new SafeTensorsException(path + ": tensor " + name + " has no dtype");
            DType dtype;
            try {
                dtype = DType.valueOf(dts);
            } catch (IllegalArgumentException x) {
                throw new SafeTensorsException(path + ": tensor " + name + " has unknown dtype " + dts);
            }
            if (!(sh instanceof List<?> shl)) throw new SafeTensorsException(path + ": tensor " + name + " has no shape");
            long[] shape = new long[shl.size()];
            long numel = 1;
            for (int k = 0; k < shape.length; k++) {
                if (!(shl.get(k) instanceof Long d) || d < 0) throw new SafeTensorsException(path + ": tensor " + name + " has a bad shape " + shl);
                shape[k] = d;
                numel = Math.multiplyExact(numel, d);
            }
            if (!(off instanceof List<?> ol) || ol.size() != 2 || !(ol.get(0) instanceof Long b) || !(ol.get(1) instanceof Long en) || b < 0 || en < b) {
                throw new SafeTensorsException(path + ": tensor " + name + " has bad data_offsets " + off);
            }
            if (numel * dtype.size != en - b) {
                throw new SafeTensorsException(path + ": tensor " + name + " has shape " + Arrays.toString(shape) + " x " + dtype +
                        " = " + numel * dtype.size + " bytes but its byte range holds " + (en - b));
            }
            tensors.put(name, new TensorInfo(name, dtype, shape, b, en));
        }
        List<TensorInfo> sorted = new ArrayList<>(tensors.values());
        sorted.sort(Comparator.comparingLong(TensorInfo::begin).thenComparingLong(TensorInfo::end));
        long expect = 0;
        for (TensorInfo t : sorted) {
            if (t.begin != expect) {
                throw new SafeTensorsException(path + ": tensor " + t.name + " starts at byte " + t.begin + " of the data area, expected " +
                        expect + (t.begin < expect ? " (ranges overlap)" : " (gap between tensors)"));
            }
            expect = t.end;
        }
        if (expect != dataSize) {
            throw new SafeTensorsException(path + ": " + (expect > dataSize ? "truncated: tensors need " + expect +
                    " bytes of data but the file has " + dataSize : "data area has " + (dataSize - expect) + " bytes not covered by any tensor"));
        }
        return new SafeTensors(path, arena, data, Collections.unmodifiableMap(tensors), Collections.unmodifiableMap(meta));
    }

    public Path path() {
        return path;
    }

    public Map<String, TensorInfo> tensors() {
        return tensors;
    }

    public Map<String, String> metadata() {
        return metadata;
    }

    public boolean has(String name) {
        return tensors.containsKey(name);
    }

    public TensorInfo info(String name) {
        TensorInfo t = tensors.get(name);
        if (t == null) throw new SafeTensorsException(path + ": no tensor named " + name);
        return t;
    }

    /** The raw bytes of a tensor, a slice of the mapping (valid until {@link #close()}). */
    public MemorySegment segment(String name) {
        return segment(info(name));
    }

    private MemorySegment segment(TensorInfo t) {
        return data.asSlice(t.begin, t.end - t.begin);
    }

    /** The tensor converted to float32, row-major. */
    public float[] floats(String name) {
        TensorInfo t = info(name);
        if (t.numel() > Integer.MAX_VALUE - 8) throw new SafeTensorsException(path + ": tensor " + name + " is too large");
        float[] out = new float[(int) t.numel()];
        read(name, 0, out, 0, out.length);
        return out;
    }

    private static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfDouble F64_LE = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /**
     * Elements from .. from + n of the tensor (row-major) converted to float32 into dst[off ..): a part of a tensor
     * without a copy of the whole of it. Safe to call from several threads.
     */
    public void read(String name, long from, float[] dst, int off, int n) {
        read(info(name), from, dst, off, n);
    }

    /** {@link #read(String, long, float[], int, int)} of a tensor of this file by its {@link #info}. */
    public void read(TensorInfo t, long from, float[] dst, int off, int n) {
        if (!t.dtype.isFloat()) throw new SafeTensorsException(path + ": tensor " + t.name + " is " + t.dtype + ", expected a float type");
        if (from < 0 || n < 0 || from + n > t.numel()) {
            throw new IndexOutOfBoundsException(t.name + ": elements " + from + ".." + (from + n) + " of " + t.numel());
        }
        MemorySegment s = segment(t);
        switch (t.dtype) {
            case F32 -> MemorySegment.copy(s, F32_LE, 4 * from, dst, off, n);
            case F64 -> {
                for (int k = 0; k < n; k++) dst[off + k] = (float) s.getAtIndex(F64_LE, from + k);
            }
            case F16, BF16 -> { // bulk copies of the 16-bit values, converted in chunks
                short[] h = new short[Math.min(n, 1 << 16)];
                boolean bf = t.dtype == DType.BF16;
                for (int k0 = 0; k0 < n; k0 += h.length) {
                    int c = Math.min(h.length, n - k0);
                    MemorySegment.copy(s, I16_LE, 2 * (from + k0), h, 0, c);
                    if (bf) for (int k = 0; k < c; k++) dst[off + k0 + k] = Float.intBitsToFloat((h[k] & 0xffff) << 16);
                    else for (int k = 0; k < c; k++) dst[off + k0 + k] = Float.float16ToFloat(h[k]);
                }
            }
            default -> throw new AssertionError();
        }
    }

    /** The tensor converted to int64, row-major (any integer dtype). */
    public long[] longs(String name) {
        TensorInfo t = info(name);
        int n = (int) t.numel();
        long[] out = new long[n];
        MemorySegment s = segment(name);
        ByteOrder le = ByteOrder.LITTLE_ENDIAN;
        for (int k = 0; k < n; k++) {
            out[k] = switch (t.dtype) {
                case I64, U64 -> s.getAtIndex(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(le), k);
                case I32 -> s.getAtIndex(ValueLayout.JAVA_INT_UNALIGNED.withOrder(le), k);
                case U32 -> s.getAtIndex(ValueLayout.JAVA_INT_UNALIGNED.withOrder(le), k) & 0xffffffffL;
                case I16 -> s.getAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(le), k);
                case U16 -> s.getAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(le), k) & 0xffff;
                case I8, BOOL -> s.get(ValueLayout.JAVA_BYTE, k);
                case U8 -> s.get(ValueLayout.JAVA_BYTE, k) & 0xff;
                default -> throw new SafeTensorsException(path + ": tensor " + name + " is " + t.dtype + ", expected an integer type");
            };
        }
        return out;
    }

    @Override
    public void close() {
        arena.close();
    }

    // ---------------------------------------------------------------- writing

    /** A tensor to write: dtype, shape and little-endian bytes. */
    public record Entry(DType dtype, long[] shape, byte[] bytes) {
        public static Entry f32(float[] v, long... shape) {
            ByteBuffer b = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
            b.asFloatBuffer().put(v);
            return new Entry(DType.F32, shape, b.array());
        }

        public static Entry i64(long[] v, long... shape) {
            ByteBuffer b = ByteBuffer.allocate(v.length * 8).order(ByteOrder.LITTLE_ENDIAN);
            b.asLongBuffer().put(v);
            return new Entry(DType.I64, shape, b.array());
        }

        /** float32 values rounded to F16 or BF16 (round to nearest even), or kept as F32. */
        public static Entry floats(float[] v, DType dtype, long... shape) {
            if (dtype == DType.F32) return f32(v, shape);
            ByteBuffer b = ByteBuffer.allocate(v.length * 2).order(ByteOrder.LITTLE_ENDIAN);
            for (float f : v) b.putShort(dtype == DType.F16 ? Float.floatToFloat16(f) : toBf16(f));
            return new Entry(dtype, shape, b.array());
        }
    }

    /** float32 to bfloat16 bits, round to nearest even (NaN kept quiet). */
    public static short toBf16(float f) {
        int bits = Float.floatToRawIntBits(f);
        if (Float.isNaN(f)) return (short) ((bits >>> 16) | 0x40);
        int rounding = 0x7fff + ((bits >>> 16) & 1);
        return (short) ((bits + rounding) >>> 16);
    }

    /** Writes a safetensors file atomically: to a temporary file beside {@code path}, then renamed over it. */
    public static void write(Path path, Map<String, Entry> entries, Map<String, String> metadata) throws IOException {
        AtomicFiles.write(path, out -> writeTo(out, entries, metadata));
    }

    /** Writes the safetensors bytes to a stream (header padded with spaces to a multiple of 8, as the reference does). */
    public static void writeTo(OutputStream out, Map<String, Entry> entries, Map<String, String> metadata) throws IOException {
        Map<String, Object> header = new LinkedHashMap<>();
        if (metadata != null && !metadata.isEmpty()) header.put("__metadata__", new LinkedHashMap<>(metadata));
        long off = 0;
        for (Map.Entry<String, Entry> e : entries.entrySet()) {
            Entry t = e.getValue();
            long numel = 1;
            for (long d : t.shape) numel *= d;
            if (numel * t.dtype.size != t.bytes.length) {
                throw new IllegalArgumentException("tensor " + e.getKey() + ": shape " + Arrays.toString(t.shape) + " does not match " + t.bytes.length + " bytes");
            }
            Map<String, Object> info = new LinkedHashMap<>();
            info.put("dtype", t.dtype.name());
            info.put("shape", t.shape);
            info.put("data_offsets", new long[]{off, off + t.bytes.length});
            header.put(e.getKey(), info);
            off += t.bytes.length;
        }
        byte[] hb = Json.write(header).getBytes(StandardCharsets.UTF_8);
        int padded = (hb.length + 7) / 8 * 8;
        ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(padded);
        out.write(len.array());
        out.write(hb);
        for (int k = hb.length; k < padded; k++) out.write(' ');
        for (Entry t : entries.values()) out.write(t.bytes);
    }
}
