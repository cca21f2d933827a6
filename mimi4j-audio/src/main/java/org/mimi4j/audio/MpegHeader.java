package org.mimi4j.audio;

/**
 * One MPEG audio frame header (the 4 bytes before each frame), Layer III only. {@code dataOffset} is where the
 * frame's data starts, after the header, CRC and side info: the place of a Xing/Info tag.
 */
record MpegHeader(int sampleRate, int channels, int samplesPerFrame, int frameLength, int dataOffset) {
    private static final int[] BITRATES_V1 = {0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320};
    private static final int[] BITRATES_V2 = {0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160};
    private static final int[][] RATES = {{11025, 12000, 8000}, null, {22050, 24000, 16000}, {44100, 48000, 32000}};

    /** The 11-bit frame sync and a valid version, any layer: an MPEG audio frame or ADTS AAC. */
    static boolean isSync(byte[] b, int p) {
        return p + 4 <= b.length && (b[p] & 0xFF) == 0xFF && (b[p + 1] & 0xE0) == 0xE0 && (b[p + 1] & 0x18) != 0x08;
    }

    /** Layer bits: 0 reserved (ADTS AAC uses it), 1 Layer III, 2 Layer II, 3 Layer I. */
    static int layerBits(byte[] b, int p) {
        return (b[p + 1] >> 1) & 3;
    }

    /** Parses the Layer III header at {@code b[p]}, or returns null if there is none (free format included). */
    static MpegHeader parse(byte[] b, int p) {
        if (!isSync(b, p) || layerBits(b, p) != 1) return null;
        int version = (b[p + 1] >> 3) & 3; // 0 = MPEG 2.5, 2 = MPEG 2, 3 = MPEG 1
        int bitrateIndex = (b[p + 2] >> 4) & 15;
        int rateIndex = (b[p + 2] >> 2) & 3;
        if (bitrateIndex == 0 || bitrateIndex == 15 || rateIndex == 3) return null;
        boolean v1 = version == 3;
        int rate = RATES[version][rateIndex];
        int bitrate = (v1 ? BITRATES_V1 : BITRATES_V2)[bitrateIndex] * 1000;
        int padding = (b[p + 2] >> 1) & 1;
        int channels = ((b[p + 3] >> 6) & 3) == 3 ? 1 : 2;
        int samples = v1 ? 1152 : 576;
        int length = samples / 8 * bitrate / rate + padding;
        int sideInfo = v1 ? (channels == 1 ? 17 : 32) : (channels == 1 ? 9 : 17);
        boolean crc = (b[p + 1] & 1) == 0;
        return new MpegHeader(rate, channels, samples, length, 4 + (crc ? 2 : 0) + sideInfo);
    }
}
