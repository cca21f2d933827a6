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

    /**
     * Refuses to replace an existing output unless allowed, and anything but a regular file (outputs are renamed into
     * place, which would replace a device or a symbolic link rather than write to it); checks the folder exists.
     */
    static void checkWritable(Path out, boolean overwrite) {
        if (Files.isDirectory(out)) throw new MimiCli.UserException(out + ": is a directory");
        if (Files.isSymbolicLink(out)) throw new MimiCli.UserException(out + ": is a symbolic link (name the file it points to)");
        if (Files.exists(out) && !Files.isRegularFile(out)) throw new MimiCli.UserException(out + ": is not a regular file (a device or other special file)");
        if (Files.exists(out) && !overwrite) throw new MimiCli.UserException(out + ": already exists (use --overwrite to replace it)");
        Path dir = out.toAbsolutePath().getParent();
        if (dir != null && !Files.isDirectory(dir)) throw new MimiCli.UserException(dir + ": no such directory");
        if (dir != null && !Files.isWritable(dir)) throw new MimiCli.UserException(dir + ": not writable");
    }

    /** Refuses an output that is the input file itself (it would be replaced before it was read). */
    static void checkNotInput(Path in, Path out) {
        try {
            if (Files.exists(out) && Files.isSameFile(in, out)) throw new MimiCli.UserException(out + ": is the input file");
        } catch (IOException e) {
            // cannot tell: the checks that follow report what is wrong with either path
        }
    }

    /** Refuses an output whose extension says another format than the one written, e.g. codes into OUT.wav. */
    static void checkExtension(Path out, String what, String... extensions) {
        String n = out.getFileName().toString().toLowerCase(java.util.Locale.ROOT);
        for (String e : extensions) if (n.endsWith("." + e)) return;
        throw new MimiCli.UserException(out + ": " + what + " are written as ." + String.join(" or .", extensions));
    }

    interface Body {
        void run() throws IOException;
    }

    /**
     * Runs a writer of {@code out} so that Ctrl-C during it leaves no temporary behind; first removes the temporaries
     * of {@code out} that a killed run (SIGKILL, a crash: no shutdown hook) left.
     */
    static void writing(Path out, Body body) throws IOException {
        Path abs = out.toAbsolutePath();
        removeTemporaries(abs);
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
