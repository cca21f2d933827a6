package org.mimi4j.server;

import org.eclipse.jetty.websocket.api.StatusCode;
import org.mimi4j.Mimi;
import org.mimi4j.stream.DecoderBatch;
import org.mimi4j.stream.Duplex;
import org.mimi4j.stream.EncoderBatch;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.IntSupplier;
import java.util.concurrent.locks.LockSupport;

/**
 * The one thread that computes: every live stream sits in a slot of the shared {@link EncoderBatch} (each with its own
 * number of codebooks) and/or the shared {@link DecoderBatch}; each turn feeds the streams' queued input into their
 * slots, steps each batch once (one batched compute for all streams with a frame ready) and hands the results to the
 * streams' send queues. Steps run back to back while anything is ready, so under load each step gathers every
 * stream that became ready during the previous one (continuous batching); idle, the thread parks. Frames to encode
 * and frames a decode stream queued before the turn run at once, one batch per compute thread ({@link Duplex}); a
 * roundtrip stream's frame is decoded in the turn that encodes it.
 */
final class Scheduler implements Runnable {
    private final MimiServer server;
    private final Mimi mimi;
    private final int capacity;
    private EncoderBatch encoder;
    private DecoderBatch decoder;
    private final List<StreamSession> sessions = new ArrayList<>();
    private final ConcurrentLinkedQueue<StreamSession> joining = new ConcurrentLinkedQueue<>();
    private final AtomicBoolean wake = new AtomicBoolean();
    private volatile boolean running = true;
    private volatile Thread thread;
    static final boolean DEBUG = Boolean.getBoolean("mimi4j.server.debug") || System.getenv("MIMI4J_SERVER_DEBUG") != null;
    private long lastDebug;
    private final java.util.Set<StreamSession> finishing = new java.util.HashSet<>();

    Scheduler(MimiServer server, int capacity) {
        this.server = server;
        this.mimi = server.mimi;
        this.capacity = capacity;
    }

    void start() {
        Thread t = new Thread(this, "mimi-scheduler");
        t.setDaemon(true);
        thread = t;
        t.start();
    }

    void stop() throws InterruptedException {
        running = false;
        wake();
        Thread t = thread;
        if (t != null) t.join(10_000);
    }

    void join(StreamSession s) {
        joining.add(s);
        wake();
        if (!running && joining.remove(s)) s.close(StatusCode.SHUTDOWN, "server shutting down");
    }

    void wake() {
        wake.set(true);
        Thread t = thread;
        if (t != null) LockSupport.unpark(t);
    }

    @Override
    public void run() {
        while (running) {
            try {
                server.metrics.tick(System.nanoTime());
                if (!turn() && !wake.getAndSet(false)) LockSupport.parkNanos(200_000_000L);
            } catch (Throwable e) {
                // a bug must not take the server down: fail every stream involved and carry on with fresh batches
                server.metrics.error("internal");
                System.err.println("mimi serve: scheduler error: " + e);
                e.printStackTrace();
                for (StreamSession s : sessions) s.fail(StatusCode.SERVER_ERROR, "internal error: " + e.getClass().getSimpleName(), null);
                sessions.clear();
                finishing.clear();
                encoder = null;
                decoder = null;
            }
        }
        for (StreamSession s : sessions) s.close(StatusCode.SHUTDOWN, "server shutting down");
        StreamSession s;
        while ((s = joining.poll()) != null) s.close(StatusCode.SHUTDOWN, "server shutting down");
    }

    /** One turn; returns whether anything was computed (then the next turn follows at once). */
    private boolean turn() {
        StreamSession j;
        while ((j = joining.poll()) != null) attach(j);
        for (Iterator<StreamSession> it = sessions.iterator(); it.hasNext(); ) {
            StreamSession s = it.next();
            if (s.isClosed()) {
                detach(s);
                it.remove();
            } else {
                feed(s);
            }
        }
        boolean encode = encoder != null && encoder.ready() > 0;
        boolean decode = decoder != null && decoder.ready() > 0;
        // frames to encode beside frames already queued to decode (decode streams'): one batch on each compute thread
        // at once (Duplex), else the one on all of them
        if (encode && decode) Duplex.step(this::stepEncoder, this::stepDecoder);
        else if (encode) stepEncoder();
        else if (decode) stepDecoder();
        if (decode) for (StreamSession s : sessions) if (s.dec != null) collectAudio(s);
        if (encode) {
            for (StreamSession s : sessions) if (s.enc != null) collectCodes(s);
            // roundtrip streams just queued the frames encoded: decoded in this turn still (their latency is both steps)
            if (decoder != null && decoder.ready() > 0) {
                stepDecoder();
                for (StreamSession s : sessions) if (s.dec != null) collectAudio(s);
                decode = true;
            }
        }
        for (StreamSession s : sessions) if (!s.isClosed() && !finishing.contains(s)) maybeFinish(s);
        if (DEBUG && System.nanoTime() - lastDebug > 500_000_000L) {
            lastDebug = System.nanoTime();
            StringBuilder sb = new StringBuilder("[sched] ");
            for (StreamSession s : sessions) sb.append(s.id).append(':').append(s.kind).append(" inbox=").append(s.inbox.size()).append('/').append(s.inboxUnits.get())
                    .append(" dq=").append(s.dec == null ? -1 : s.dec.queuedFrames()).append(" dec=").append(s.framesDecoded).append(" end=").append(s.endSeen)
                    .append(" out=").append(s.queuedMessages()).append(" closed=").append(s.isClosed()).append("; ");
            System.err.println(sb);
        }
        return encode || decode;
    }

    private void stepEncoder() {
        step(encoder::step, server.metrics.encoderStep, server.metrics.encoderStreamsStepped);
    }

    private void stepDecoder() {
        step(decoder::step, server.metrics.decoderStep, server.metrics.decoderStreamsStepped);
    }

    /** One batch's step; its time and stream-frames counted when it stepped any stream. */
    private static void step(IntSupplier batch, Metrics.Histogram time, AtomicLong streams) {
        long t0 = System.nanoTime();
        int n = batch.getAsInt();
        if (n == 0) return;
        time.observeNanos(System.nanoTime() - t0);
        streams.addAndGet(n);
    }

    private void attach(StreamSession s) {
        if (s.isClosed()) {
            s.release();
            return;
        }
        try {
            if (s.kind != StreamSession.Kind.DECODE) {
                if (encoder == null) encoder = new EncoderBatch(mimi, capacity, s.numQuantizers, server.config.mode());
                s.enc = encoder.join(s.numQuantizers);
            }
            if (s.kind != StreamSession.Kind.ENCODE) {
                if (decoder == null) decoder = new DecoderBatch(mimi, capacity, server.config.mode());
                s.dec = decoder.join();
            }
        } catch (IllegalStateException full) { // cannot happen while admission counts streams; be safe anyway
            if (s.enc != null) s.enc.leave();
            s.enc = null;
            server.metrics.rejected("full");
            s.close(StatusCode.TRY_AGAIN_LATER, "server full");
            return;
        }
        s.attached = true;
        sessions.add(s);
    }

    private void detach(StreamSession s) {
        if (s.enc != null) s.enc.leave();
        if (s.dec != null) s.dec.leave();
        s.enc = null;
        s.dec = null;
        finishing.remove(s);
        s.release();
    }

    /** Moves queued input into the stream's slot, keeping at most about one frame's worth there. */
    private void feed(StreamSession s) {
        int fs = mimi.frameSize();
        if (s.kind == StreamSession.Kind.DECODE) {
            while (s.dec.queuedFrames() < 1 && !s.endSeen) {
                if (s.partial == null) {
                    s.partial = s.inbox.poll();
                    s.partialPos = 0;
                    if (s.partial == null) break;
                }
                StreamSession.Item it = s.partial;
                if (it.end()) {
                    s.endSeen = true;
                    s.partial = null;
                    break;
                }
                s.dec.push(it.frames()[s.partialPos++]);
                s.frameReady.add(it.arrivedNanos());
                s.inboxUnits.decrementAndGet();
                if (s.partialPos == it.frames().length) s.partial = null;
            }
        } else {
            while (!s.endSeen && s.samplesPushed - s.framesEncoded * fs < fs) {
                StreamSession.Item it = s.inbox.poll();
                if (it == null) break;
                if (it.end()) {
                    s.endSeen = true;
                    s.enc.end();
                    if (s.samplesPushed % fs != 0) s.frameReady.add(it.arrivedNanos());
                    break;
                }
                long before = s.samplesPushed / fs;
                s.enc.push(it.pcm());
                s.samplesPushed += it.pcm().length;
                for (long f = before; f < s.samplesPushed / fs; f++) s.frameReady.add(it.arrivedNanos());
                s.inboxUnits.addAndGet(-it.pcm().length);
            }
        }
        s.resumeIfBelowLimit();
    }

    private void collectCodes(StreamSession s) {
        int[][] frames = s.enc.poll();
        if (frames.length == 0) return;
        long now = System.nanoTime();
        for (int[] f : frames) {
            s.framesEncoded++;
            server.metrics.framesEncoded.incrementAndGet();
            Long t = s.frameReady.poll();
            if (t != null) server.metrics.frameLatency.observeNanos(now - t);
            s.send(StreamSession.encodeCodes(f));
            if (s.dec != null && !s.isClosed()) s.dec.push(f);
        }
    }

    private void collectAudio(StreamSession s) {
        float[] pcm = s.dec.poll();
        int fs = mimi.frameSize();
        long now = System.nanoTime();
        for (int off = 0; off + fs <= pcm.length; off += fs) {
            s.framesDecoded++;
            server.metrics.framesDecoded.incrementAndGet();
            if (s.kind == StreamSession.Kind.DECODE) {
                Long t = s.frameReady.poll();
                if (t != null) server.metrics.frameLatency.observeNanos(now - t);
            }
            s.send(StreamSession.encodePcm(pcm, off, fs, s.format));
        }
    }

    private void maybeFinish(StreamSession s) {
        if (!s.endSeen) return;
        boolean encDone = s.enc == null || (s.enc.finished() && !s.enc.ready());
        boolean decDone = s.dec == null || s.dec.queuedFrames() == 0;
        if (s.kind == StreamSession.Kind.DECODE && (s.partial != null || !s.inbox.isEmpty())) return;
        if (!encDone || !decDone) return;
        finishing.add(s);
        long frames = s.kind == StreamSession.Kind.DECODE ? s.framesDecoded : s.framesEncoded;
        s.finish("{\"type\":\"done\",\"frames\":" + frames + "}");
    }

    int sessions() {
        return sessions.size();
    }
}
