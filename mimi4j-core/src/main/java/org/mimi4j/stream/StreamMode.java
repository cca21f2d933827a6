package org.mimi4j.stream;

import org.mimi4j.nn.Transformer;

/**
 * What a stream's transformers see once the stream is longer than their context (250 steps at 25 Hz = 10 s for
 * the released model; mimi-facts #10). Before that point both modes give the same results.
 */
public enum StreamMode {
    /**
     * moshi's streaming (the default): each 1920-sample frame gives the transformers two 25 Hz steps written into a
     * key/value ring of capacity {@code context} before attending, so the first step of each frame sees one key
     * fewer than offline. Reproduces upstream's streaming encode/decode ({@code model.streaming()} in moshi, the
     * {@code stream_*} goldens) frame for frame, whatever the chunk size, and is what a peer running moshi sees.
     */
    UPSTREAM(Transformer.CacheMode.UPSTREAM),
    /**
     * Every step sees exactly the last {@code context} keys, as in offline encode/decode: a stream reproduces
     * {@code Mimi.encode}/{@code Mimi.decode} frame for frame, so files of any length can be coded offline in
     * bounded memory.
     */
    OFFLINE_EXACT(Transformer.CacheMode.OFFLINE_EXACT);

    private final Transformer.CacheMode cacheMode;

    StreamMode(Transformer.CacheMode cacheMode) {
        this.cacheMode = cacheMode;
    }

    /** The transformer cache semantics of this mode. */
    public Transformer.CacheMode cacheMode() {
        return cacheMode;
    }
}
