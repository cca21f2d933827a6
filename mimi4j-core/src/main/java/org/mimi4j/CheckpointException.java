package org.mimi4j;

/** A checkpoint or config that cannot give a Mimi model: missing tensor, wrong shape, unknown or mixed layout. */
public class CheckpointException extends MimiException {
    public CheckpointException(String message) {
        super(message);
    }

    public CheckpointException(String message, Throwable cause) {
        super(message, cause);
    }
}
