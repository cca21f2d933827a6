package org.mimi4j.spark;

import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.mimi4j.Mimi;
import org.mimi4j.Padding;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

/**
 * What a task does with a window of inputs (read the short ones whole, encode them together, stream the others)
 * gives each input the result the one-input path ({@link AudioEncoder#encode}) gives it: the same codes and counts,
 * and the same error for an input the model refuses (a NaN sample) or that cannot be read.
 */
class AudioEncoderTest {
    @Test
    void aWindowGivesEachInputItsOwnResult() throws Exception {
        Mimi model = Mimi.load(java.nio.file.Path.of(SparkTestSupport.tinyModel()));
        int[] lengths = {30000, 31000, 12000, 30500, 12100, 45000, 29900, 250000};
        List<String> paths = new ArrayList<>();
        List<byte[]> bytes = new ArrayList<>();
        for (int i = 0; i < lengths.length; i++) {
            float[] x = new float[lengths[i]];
            for (int j = 0; j < x.length; j++) x[j] = (float) (0.3 * Math.sin(j * (0.02 + 0.003 * i)) + 0.02 * Math.sin(j * 1.7));
            if (i == 3) x[777] = Float.NaN;
            paths.add("in" + i + ".wav");
            bytes.add(GeneratedCorpus.wav(new float[][]{x}, 24000, 1, "float32"));
        }
        paths.add("junk.wav");
        bytes.add("RIFF....WAVEnot really".getBytes());
        for (Padding padding : Padding.values()) {
            AudioEncoder enc = new AudioEncoder(model, 8, padding, new Configuration(false));
            AudioEncoder.Result[] got = new AudioEncoder.Result[paths.size()];
            List<AudioEncoder.Read> reads = new ArrayList<>();
            List<Integer> at = new ArrayList<>();
            for (int i = 0; i < paths.size(); i++) {
                AudioEncoder.Read r = enc.read(paths.get(i), bytes.get(i));
                if (r.failed() != null) got[i] = r.failed();
                else if (r.samples() == null) got[i] = enc.encode(paths.get(i), bytes.get(i));
                else {
                    reads.add(r);
                    at.add(i);
                }
            }
            assertEquals(7, reads.size(), "the short inputs are read whole");
            List<AudioEncoder.Result> together = enc.encodeTogether(reads, 4);
            for (int i = 0; i < together.size(); i++) got[at.get(i)] = together.get(i);
            for (int i = 0; i < paths.size(); i++) {
                AudioEncoder.Result want = enc.encode(paths.get(i), bytes.get(i)), r = got[i];
                String what = padding + ", " + paths.get(i);
                assertEquals(want.path(), r.path(), what);
                assertEquals(want.error(), r.error(), what);
                assertEquals(want.samples(), r.samples(), what);
                assertEquals(want.sourceSampleRate(), r.sourceSampleRate(), what);
                if (want.codes() == null) assertNull(r.codes(), what);
                else assertArrayEquals(want.codes(), r.codes(), what);
            }
            assertNotNull(got[3].error(), "the NaN input fails");
            assertNotNull(got[8].error(), "the unreadable input fails");
        }
    }
}
