package org.mimi4j.cli;

import org.mimi4j.MimiException;
import org.mimi4j.audio.AudioFormatException;
import picocli.AutoComplete;
import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.NoSuchFileException;

/** The {@code mimi} command. User mistakes end with one line on stderr and exit status 1; usage errors with 2. */
@Command(name = "mimi", mixinStandardHelpOptions = true, versionProvider = MimiCli.Version.class,
        description = "Kyutai's Mimi neural audio codec: 24 kHz speech to discrete codes and back.",
        subcommands = {EncodeCommand.class, DecodeCommand.class, RoundtripCommand.class, InfoCommand.class, ServeCommand.class,
                BenchCommand.class,
                AutoComplete.GenerateCompletion.class})
public final class MimiCli implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "missing command: encode, decode, roundtrip, info, serve, bench or generate-completion");
    }

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the command line and returns the exit status. */
    public static int run(String... args) {
        return run(new java.io.PrintWriter(System.out, true), new java.io.PrintWriter(System.err, true), args);
    }

    /** Runs the command line with the given output and error writers (for tests and embedding). */
    public static int run(java.io.PrintWriter out, java.io.PrintWriter err, String... args) {
        CommandLine cl = new CommandLine(new MimiCli());
        cl.setOut(out);
        cl.setErr(err);
        cl.getSubcommands().get("generate-completion").getCommandSpec().usageMessage().hidden(false);
        cl.setExecutionExceptionHandler((e, cmd, parsed) -> {
            cmd.getErr().println("mimi: error: " + message(e));
            if (Boolean.getBoolean("mimi4j.debug") || !(isUserError(e))) e.printStackTrace(cmd.getErr());
            return e instanceof UsageException ? CommandLine.ExitCode.USAGE : 1;
        });
        return cl.execute(args);
    }

    static boolean isUserError(Throwable e) {
        return e instanceof MimiException || e instanceof AudioFormatException || e instanceof IOException
                || e instanceof UncheckedIOException || e instanceof UserException;
    }

    /** One line for an exception, with the usual IO exceptions spelled out. */
    static String message(Throwable e) {
        if (e instanceof UncheckedIOException u) e = u.getCause();
        if (e instanceof NoSuchFileException n) return n.getFile() + ": no such file or directory";
        if (e instanceof AccessDeniedException a) return a.getFile() + ": permission denied";
        if (e instanceof FileAlreadyExistsException f) return f.getFile() + ": already exists";
        String m = e.getMessage();
        if (m == null) m = e.getClass().getSimpleName();
        return m.lines().findFirst().orElse(m);
    }

    /** A mistake of the user's, reported as its message alone (exit status 1). */
    static class UserException extends RuntimeException {
        UserException(String message) {
            super(message);
        }
    }

    /** An option value or combination that does not fit, found after parsing: exit status 2, as picocli's own. */
    static final class UsageException extends UserException {
        UsageException(String message) {
            super(message);
        }
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = MimiCli.class.getPackage().getImplementationVersion();
            return new String[]{"mimi4j " + (v == null ? "(development build)" : v) + ", Java " + Runtime.version()};
        }
    }
}
