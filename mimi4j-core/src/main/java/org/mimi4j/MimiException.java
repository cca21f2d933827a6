package org.mimi4j;

/**
 * Base of every error mimi4j reports for a user's mistake or bad data (a file, a tensor, a shape, a sample rate).
 * The message is one line that names the problem; callers such as the CLI print it without a stack trace.
 */
public class MimiException extends RuntimeException {
    public MimiException(String message) {
        super(message);
    }

    public MimiException(String message, Throwable cause) {
        super(message, cause);
    }
}
