package org.mimi4j.audio;

/**
 * A user's audio file cannot be read: unknown or unsupported format, corrupt or truncated data, no samples, a
 * directory instead of a file. The message is one line that starts with the file's name; callers such as the CLI
 * print it without a stack trace. Genuine I/O failures (disk errors) stay {@link java.io.IOException}s.
 */
public class AudioFormatException extends RuntimeException {
    public AudioFormatException(String message) {
        super(message);
    }

    public AudioFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
