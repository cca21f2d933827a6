package org.mimi4j;

/** Audio or codes that the model cannot take: codes out of range, too many codebooks, empty audio, bad shapes. */
public class InvalidInputException extends MimiException {
    public InvalidInputException(String message) {
        super(message);
    }
}
