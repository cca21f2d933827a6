package org.mimi4j.audio;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/** {@link AudioIO#readAtMost}: the whole of a source that fits, null for one longer, whether its length is known or not. */
class ReadAtMostTest {
    /** n samples (i / n), given out 1000 at a time, with or without a known duration. */
    static AudioSource source(int n, boolean known) {
        return new AudioSource() {
            int pos;

            public int sampleRate() {
                return 24000;
            }

            public int channels() {
                return 1;
            }

            public String formatName() {
                return "test";
            }

            public long durationSamples() {
                return known ? n : -1;
            }

            public int read(float[] buf, int off, int len) {
                if (pos == n) return -1;
                int m = Math.min(Math.min(len, 1000), n - pos);
                for (int i = 0; i < m; i++) buf[off + i] = (pos + i) / (float) n;
                pos += m;
                return m;
            }

            public void close() {
            }
        };
    }

    @Test
    void readsWhatFitsAndRefusesWhatDoesNot() throws Exception {
        for (boolean known : new boolean[]{true, false}) {
            for (int n : new int[]{0, 1, 999, 4096, 4097, 20000}) {
                float[] want = new float[n];
                for (int i = 0; i < n; i++) want[i] = i / (float) n;
                for (int max : new int[]{n, n + 1, 3 * n + 5000}) {
                    assertArrayEquals(want, AudioIO.readAtMost(source(n, known), max).samples(), n + " samples, at most " + max);
                }
                if (n > 0) assertNull(AudioIO.readAtMost(source(n, known), n - 1), n + " samples, at most " + (n - 1));
            }
            assertArrayEquals(new float[0], AudioIO.readAtMost(source(0, known), 0).samples());
        }
    }
}
