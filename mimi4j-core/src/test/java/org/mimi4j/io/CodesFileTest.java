package org.mimi4j.io;

import org.mimi4j.InvalidInputException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Codes in .npy files as numpy writes them: [K, T], or transformers' [1, K, T] of one item. */
class CodesFileTest {
    /** An .npy file (format 1.0) of int64 values with the given shape tuple, as np.save writes it. */
    static Path npy(Path dir, String name, String shape, long... values) throws Exception {
        String dict = "{'descr': '<i8', 'fortran_order': False, 'shape': " + shape + ", }";
        int pad = 64 - (10 + dict.length() + 1) % 64;
        String header = dict + " ".repeat(pad % 64) + "\n";
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(new byte[]{(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (byte) header.length(), (byte) (header.length() >> 8)});
        out.write(header.getBytes(StandardCharsets.ISO_8859_1));
        ByteBuffer b = ByteBuffer.allocate(8 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        for (long v : values) b.putLong(v);
        out.write(b.array());
        Path p = dir.resolve(name);
        Files.write(p, out.toByteArray());
        return p;
    }

    @Test
    void readsTwoAndThreeDimensionalNpyAlike(@TempDir Path dir) throws Exception {
        int[][] want = {{1, 2, 3}, {2047, 0, 5}};
        Path written = dir.resolve("w.npy");
        CodesFile.write(written, want, Map.of(), CodesFile.Format.NPY);
        assertArrayEquals(want, CodesFile.read(written).codes());
        assertArrayEquals(want, CodesFile.read(npy(dir, "kt.npy", "(2, 3)", 1, 2, 3, 2047, 0, 5)).codes());
        assertArrayEquals(want, CodesFile.read(npy(dir, "bkt.npy", "(1, 2, 3)", 1, 2, 3, 2047, 0, 5)).codes());
    }

    @Test
    void refusesOtherShapesNamingThem(@TempDir Path dir) throws Exception {
        for (String shape : new String[]{"(2, 1, 3)", "(6,)", "(1, 1, 2, 3)"}) {
            Path p = npy(dir, "s.npy", shape, 1, 2, 3, 4, 5, 6);
            InvalidInputException e = assertThrows(InvalidInputException.class, () -> CodesFile.read(p));
            assertTrue(e.getMessage().contains("expected [1, K, T] or [K, T]"), e.getMessage());
            assertTrue(e.getMessage().contains("s.npy"), e.getMessage());
        }
        Path short_ = npy(dir, "short.npy", "(1, 2, 3)", 1, 2, 3);
        InvalidInputException e = assertThrows(InvalidInputException.class, () -> CodesFile.read(short_));
        assertTrue(e.getMessage().contains("shape needs 48"), e.getMessage());
    }
}
