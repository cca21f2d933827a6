package org.mimi4j.io;

import org.mimi4j.MimiException;

/** A file that cannot be had from the Hugging Face Hub or its cache: not found, no access, offline, corrupt download. */
public class HubException extends MimiException {
    public HubException(String message) {
        super(message);
    }

    public HubException(String message, Throwable cause) {
        super(message, cause);
    }
}
