package org.mimi4j.cli;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Output files being written. Writers write to a hidden temporary sibling and rename it when complete; on Ctrl-C a
 * shutdown hook removes the temporaries of outputs still in flight, so an interrupted run leaves no partial output.
 */
final class Outputs {
    private static final Set<Path> IN_FLIGHT = ConcurrentHashMap.newKeySet();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            for (Path p : IN_FLIGHT) removeTemporaries(p);
        }, "mimi-cleanup"));
    }

    private Outputs() {
    }

    /** Refuses to replace an existing output unless allowed; checks the folder exists. */
    static void checkWritable(Path out, boolean overwrite) {
        if (Files.isDirectory(out)) throw new MimiCli.UserException(out + ": is a directory");
        if (Files.exists(out) && !overwrite) throw new MimiCli.UserException(out + ": already exists (use --overwrite to replace it)");
        Path dir = out.toAbsolutePath().getParent();
        if (dir != null && !Files.isDirectory(dir)) throw new MimiCli.UserException(dir + ": no such directory");
        if (dir != null && !Files.isWritable(dir)) throw new MimiCli.UserException(dir + ": not writable");
    }

    interface Body {
        void run() throws IOException;
    }

    /** Runs a writer of {@code out} so that Ctrl-C during it leaves no temporary behind. */
    static void writing(Path out, Body body) throws IOException {
        Path abs = out.toAbsolutePath();
        IN_FLIGHT.add(abs);
        try {
            body.run();
        } finally {
            IN_FLIGHT.remove(abs);
        }
    }

    /** Deletes the hidden ".NAME.*.part" temporaries of an output. */
    static void removeTemporaries(Path out) {
        Path dir = out.getParent();
        if (dir == null) return;
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, "." + out.getFileName() + ".*.part")) {
            for (Path p : ds) Files.deleteIfExists(p);
        } catch (IOException ignored) {
            // best effort at exit
        }
    }
}
