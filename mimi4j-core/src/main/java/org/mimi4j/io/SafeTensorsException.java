package org.mimi4j.io;

import org.mimi4j.MimiException;

/** A file that is not a valid safetensors file: truncated, bad header length, bad JSON, unknown dtype, bad ranges. */
public class SafeTensorsException extends MimiException {
    public SafeTensorsException(String message) {
        super(message);
    }

    public SafeTensorsException(String message, Throwable cause) {
        super(message, cause);
    }
}
