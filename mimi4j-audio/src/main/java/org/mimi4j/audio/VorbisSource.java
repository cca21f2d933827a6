package org.mimi4j.audio;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;

import com.jcraft.jogg.Packet;
import com.jcraft.jogg.Page;
import com.jcraft.jogg.StreamState;
import com.jcraft.jogg.SyncState;
import com.jcraft.jorbis.Block;
import com.jcraft.jorbis.Comment;
import com.jcraft.jorbis.DspState;
import com.jcraft.jorbis.Info;

/**
 * Ogg Vorbis through JOrbis. The output ends at the granule position of the last page, as libvorbisfile does
 * (the final packet is padded); a stream without its end-of-stream page is reported as truncated, a page that
 * fails its checksum as corrupt. Only the first logical stream of a chained file is decoded.
 */
final class VorbisSource extends DecoderSource {
    private static final int READ_SIZE = 8192;

    private final SyncState sync = new SyncState();
    private final StreamState stream = new StreamState();
    private final Page page = new Page();
    private final Packet packet = new Packet();
    private final Info info = new Info();
    private final DspState dsp = new DspState();
    private final Block vorbisBlock = new Block(dsp);
    private final float[][][] pcm = new float[1][][];
    private final int[] pcmIndex;
    private final long duration;
    private boolean lastPage;
    private long endGranule = -1;
    private long decoded;
    private Integer serial;

    /** {@code path}, when known, lets the duration be read from the last page before decoding. */
    VorbisSource(String name, InputStream in, Path path) throws IOException {
        super(name, in);
        sync.init();
        if (!nextPage()) throw error("truncated: the file ends inside the first Ogg page");
        Comment comment = new Comment();
        info.init();
        comment.init();
        for (int headers = 0; headers < 3; ) {
            int r = stream.packetout(packet);
            if (r == 1) {
                if (info.synthesis_headerin(comment, packet) < 0) {
                    throw error(headers == 0 ? "the Ogg stream is not Vorbis" : "corrupt Vorbis header");
                }
                headers++;
            } else if (r < 0) {
                throw error("corrupt Vorbis header");
            } else if (!nextPage()) {
                throw error("truncated: the file ends inside the Vorbis headers");
            }
        }
        if (info.channels < 1 || info.rate < 1) throw error("corrupt Vorbis header");
        dsp.synthesis_init(info);
        vorbisBlock.init(dsp);
        pcmIndex = new int[info.channels];
        duration = path == null ? -1 : lastGranule(path, serial);
    }

    /** Feeds the next page of our stream to {@link #stream}; false at the end of the input. */
    private boolean nextPage() throws IOException {
        while (true) {
            int r = sync.pageout(page);
            if (r < 0) throw error("corrupt Ogg page (bad checksum or lost sync)");
            if (r > 0) {
                if (serial == null) {
                    serial = page.serialno(); // the first page starts the stream we decode
                    stream.init(serial);
                }
                if (stream.pagein(page) < 0) continue; // another logical stream
                if (page.eos() != 0) {
                    lastPage = true;
                    endGranule = page.granulepos();
                }
                return true;
            }
            int at = sync.buffer(READ_SIZE);
            int n = in.read(sync.data, at, READ_SIZE);
            if (n <= 0) return false;
            sync.wrote(n);
        }
    }

    @Override
    protected int decodeBlock() throws IOException {
        while (true) {
            int n = dsp.synthesis_pcmout(pcm, pcmIndex);
            if (n > 0) {
                dsp.synthesis_read(n);
                if (lastPage && endGranule >= 0) n = (int) Math.max(0, Math.min(n, endGranule - decoded));
                decoded += n;
                float[] out = block(n);
                float scale = 1f / info.channels;
                for (int i = 0; i < n; i++) {
                    float sum = 0;
                    for (int c = 0; c < info.channels; c++) sum += pcm[0][c][pcmIndex[c] + i];
                    out[i] = sum * scale;
                }
                return n;
            }
            int r = stream.packetout(packet);
            if (r < 0) throw error("corrupt Ogg stream (missing data)");
            if (r > 0) {
                if (vorbisBlock.synthesis(packet) == 0) dsp.synthesis_blockin(vorbisBlock);
            } else if (lastPage) {
                return -1;
            } else if (!nextPage()) {
                throw error("truncated: the Ogg stream ends without its last page");
            }
        }
    }

    @Override
    public int sampleRate() {
        return info.rate;
    }

    @Override
    public int channels() {
        return info.channels;
    }

    @Override
    public String formatName() {
        return "Ogg Vorbis";
    }

    @Override
    public long durationSamples() {
        return duration;
    }

    /** The granule position (= sample count) of the last page of stream {@code serial}, or -1 if none is found. */
    private static long lastGranule(Path path, int serial) throws IOException {
        try (FileChannel ch = FileChannel.open(path)) {
            long size = ch.size();
            int tail = (int) Math.min(size, 1 << 16);
            ByteBuffer buf = ByteBuffer.allocate(tail).order(ByteOrder.LITTLE_ENDIAN);
            ch.read(buf, size - tail);
            for (int p = buf.position() - 27; p >= 0; p--) {
                if (buf.get(p) == 'O' && buf.get(p + 1) == 'g' && buf.get(p + 2) == 'g' && buf.get(p + 3) == 'S'
                        && buf.get(p + 4) == 0 && buf.getInt(p + 14) == serial && buf.getLong(p + 6) >= 0) {
                    return buf.getLong(p + 6);
                }
            }
            return -1;
        }
    }
}
