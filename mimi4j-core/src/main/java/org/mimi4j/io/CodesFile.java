package org.mimi4j.io;

import org.mimi4j.InvalidInputException;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Codes files: safetensors with tensor {@code audio_codes} int64 [1][K][T] and string metadata (what
 * {@code safetensors.torch.load_file} reads), or numpy {@code .npy} int64 [K][T].
 */
public final class CodesFile {
    public static final String TENSOR = "audio_codes";

    private CodesFile() {
    }

    /** Codes [K][T] and the file's metadata (empty for npy). */
    public record Codes(int[][] codes, Map<String, String> metadata) {
        public int numCodebooks() {
            return codes.length;
        }

        public int frames() {
            return codes.length == 0 ? 0 : codes[0].length;
        }
    }

    public enum Format { SAFETENSORS, NPY }

    /** The format a path's extension implies (.npy, otherwise safetensors). */
    public static Format formatOf(Path p) {
        return p.getFileName().toString().toLowerCase().endsWith(".npy") ? Format.NPY : Format.SAFETENSORS;
    }

    public static void write(Path path, int[][] codes, Map<String, String> metadata, Format format) throws IOException {
        int k = codes.length, t = codes[0].length;
        long[] flat = new long[k * t];
        for (int q = 0; q < k; q++) for (int i = 0; i < t; i++) flat[q * t + i] = codes[q][i];
        if (format == Format.SAFETENSORS) {
            SafeTensors.write(path, Map.of(TENSOR, SafeTensors.Entry.i64(flat, 1, k, t)), metadata);
        } else {
            AtomicFiles.write(path, out -> writeNpy(out, flat, k, t));
        }
    }

    private static void writeNpy(OutputStream out, long[] flat, int k, int t) throws IOException {
        String dict = "{'descr': '<i8', 'fortran_order': False, 'shape': (" + k + ", " + t + "), }";
        int total = 10 + dict.length() + 1;
        int pad = (64 - total % 64) % 64;
        String header = dict + " ".repeat(pad) + "\n";
        out.write(new byte[]{(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0});
        out.write(header.length() & 0xff);
        out.write(header.length() >> 8);
        out.write(header.getBytes(StandardCharsets.US_ASCII));
        ByteBuffer b = ByteBuffer.allocate(flat.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        b.asLongBuffer().put(flat);
        out.write(b.array());
    }

    /** Reads a codes file of either format (detected from the content). */
    public static Codes read(Path path) throws IOException {
        if (Files.isDirectory(path)) throw new InvalidInputException(path + ": is a directory, not a codes file");
        if (!Files.exists(path)) throw new InvalidInputException(path + ": no such file");
        byte[] magic = new byte[6];
        try (InputStream in = Files.newInputStream(path)) {
            if (in.readNBytes(magic, 0, 6) == 6 && magic[0] == (byte) 0x93 && magic[1] == 'N' && magic[2] == 'U') return readNpy(path);
        }
        try (SafeTensors st = SafeTensors.open(path)) {
            if (!st.has(TENSOR)) throw new InvalidInputException(path + ": no tensor " + TENSOR + " (tensors: " + st.tensors().keySet() + ")");
            SafeTensors.TensorInfo info = st.info(TENSOR);
            switch (info.dtype()) {
                case I64, I32, I16, U16, U8, I8 -> { }
                default -> throw new InvalidInputException(path + ": " + TENSOR + " has dtype " + info.dtype() + ", expected an integer type (int64)");
            }
            long[] s = info.shape();
            int k, t;
            if (s.length == 3 && s[0] == 1) {
                k = (int) s[1];
                t = (int) s[2];
            } else if (s.length == 2) {
                k = (int) s[0];
                t = (int) s[1];
            } else {
                throw new InvalidInputException(path + ": " + TENSOR + " has shape " + info.shapeString() + ", expected [1, K, T] or [K, T]");
            }
            return new Codes(unflatten(st.longs(TENSOR), k, t, path), st.metadata());
        }
    }

    private static final Pattern SHAPE = Pattern.compile("'shape':\\s*\\(([\\d\\s,]*)\\)");
    private static final Pattern DESCR = Pattern.compile("'descr':\\s*'([<>|]?[a-z]\\d)'");

    private static Codes readNpy(Path path) throws IOException {
        byte[] all = Files.readAllBytes(path);
        if (all.length < 10) throw new InvalidInputException(path + ": truncated .npy file");
        int major = all[6];
        int hlen, start;
        if (major == 1) {
            hlen = (all[8] & 0xff) | (all[9] & 0xff) << 8;
            start = 10;
        } else {
            hlen = ByteBuffer.wrap(all, 8, 4).order(ByteOrder.LITTLE_ENDIAN).getInt();
            start = 12;
        }
        if (hlen < 0 || start + hlen > all.length) throw new InvalidInputException(path + ": truncated .npy header");
        String header = new String(all, start, hlen, StandardCharsets.ISO_8859_1);
        if (header.contains("'fortran_order': True")) throw new InvalidInputException(path + ": Fortran-ordered .npy is not supported");
        Matcher d = DESCR.matcher(header), sh = SHAPE.matcher(header);
        if (!d.find()) throw new InvalidInputException(path + ": .npy header has no dtype");
        if (!sh.find()) throw new InvalidInputException(path + ": .npy header has no shape");
        String descr = d.group(1).replaceAll("^[<|]", "");
        int size = switch (descr) {
            case "i8" -> 8;
            case "i4" -> 4;
            case "i2" -> 2;
            default -> throw new InvalidInputException(path + ": .npy dtype " + d.group(1) + ", expected little-endian int64 (<i8)");
        };
        // [K, T], or [1, K, T] as transformers' audio_codes of one item (np.save(f, out.audio_codes.numpy()))
        String[] dims = java.util.Arrays.stream(sh.group(1).split(",")).map(String::strip).filter(x -> !x.isEmpty()).toArray(String[]::new);
        if (!(dims.length == 2 || dims.length == 3 && dims[0].equals("1")) || dims[dims.length - 2].length() > 9 || dims[dims.length - 1].length() > 9) {
            throw new InvalidInputException(path + ": .npy codes have shape [" + String.join(", ", dims) + "], expected [1, K, T] or [K, T]");
        }
        int k = Integer.parseInt(dims[dims.length - 2]), t = Integer.parseInt(dims[dims.length - 1]);
        int off = start + hlen;
        if ((long) k * t * size != all.length - off) throw new InvalidInputException(path + ": .npy data holds " + (all.length - off) + " bytes, shape needs " + (long) k * t * size);
        ByteBuffer b = ByteBuffer.wrap(all, off, all.length - off).order(ByteOrder.LITTLE_ENDIAN);
        long[] flat = new long[k * t];
        for (int i = 0; i < flat.length; i++) flat[i] = size == 8 ? b.getLong() : size == 4 ? b.getInt() : b.getShort();
        return new Codes(unflatten(flat, k, t, path), new LinkedHashMap<>());
    }

    private static int[][] unflatten(long[] flat, int k, int t, Path path) {
        if (k < 1 || t < 1) throw new InvalidInputException(path + ": codes of shape [" + k + ", " + t + "] are empty");
        int[][] c = new int[k][t];
        for (int q = 0; q < k; q++) {
            for (int i = 0; i < t; i++) {
                long v = flat[q * t + i];
                if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) throw new InvalidInputException(path + ": code " + v + " at codebook " + q + ", frame " + i + " is out of range");
                c[q][i] = (int) v;
            }
        }
        return c;
    }
}
