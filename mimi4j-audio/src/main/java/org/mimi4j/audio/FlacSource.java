package org.mimi4j.audio;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;

import org.jflac.ChannelData;
import org.jflac.FLACDecoder;
import org.jflac.FrameListener;
import org.jflac.frame.Frame;
import org.jflac.metadata.Metadata;
import org.jflac.metadata.StreamInfo;

/**
 * FLAC through jFLAC. jFLAC silently zeroes frames that fail their CRC and skips undecodable ones; those are
 * reported here as corruption instead, and a file that ends before STREAMINFO's sample count as truncated.
 */
final class FlacSource extends DecoderSource {
    private final FLACDecoder decoder;
    private final StreamInfo info;
    private final float scale;
    private String frameError;

    FlacSource(String name, InputStream in) throws IOException {
        super(name, in);
        decoder = new FLACDecoder(in);
        decoder.addFrameListener(new FrameListener() {
            @Override
            public void processMetadata(Metadata metadata) {
            }

            @Override
            public void processFrame(Frame frame) {
            }

            @Override
            public void processError(String msg) {
                if (frameError == null) frameError = msg;
            }
        });
        try {
            decoder.readMetadata();
        } catch (EOFException e) {
            throw error("truncated: the file ends inside the FLAC metadata");
        } catch (IOException | RuntimeException e) {
            throw error("corrupt FLAC metadata (" + e.getMessage() + ")", e);
        }
        info = decoder.getStreamInfo();
        if (info == null) throw error("corrupt FLAC: no STREAMINFO block");
        if (info.getChannels() < 1 || info.getSampleRate() < 1 || info.getBitsPerSample() < 4) {
            throw error("corrupt FLAC: STREAMINFO says " + info.getChannels() + " channels, "
                    + info.getSampleRate() + " Hz, " + info.getBitsPerSample() + " bits");
        }
        scale = (float) (1.0 / ((double) info.getChannels() * (1L << (info.getBitsPerSample() - 1))));
    }

    @Override
    public int sampleRate() {
        return info.getSampleRate();
    }

    @Override
    public int channels() {
        return info.getChannels();
    }

    @Override
    public String formatName() {
        return "FLAC";
    }

    @Override
    public long durationSamples() {
        return info.getTotalSamples() > 0 ? info.getTotalSamples() : -1;
    }

    @Override
    protected int decodeBlock() throws IOException {
        Frame frame;
        try {
            frame = decoder.readNextFrame();
        } catch (RuntimeException e) {
            throw error("corrupt FLAC frame (" + e.getMessage() + ")", e);
        }
        if (frame == null) return -1; // a file cut inside a frame is reported by the sample count check
        if (frameError != null) throw error("corrupt FLAC frame (" + frameError + ")");
        int n = frame.header.blockSize;
        int channels = frame.header.channels;
        if (channels != info.getChannels()) {
            throw error("corrupt FLAC: a frame has " + channels + " channels, STREAMINFO says " + info.getChannels());
        }
        ChannelData[] data = decoder.getChannelData();
        float[] out = block(n);
        for (int i = 0; i < n; i++) {
            long sum = 0;
            for (int c = 0; c < channels; c++) sum += data[c].getOutput()[i];
            out[i] = sum * scale;
        }
        return n;
    }
}
