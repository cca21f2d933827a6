from .errors import EntryNotFoundError  # noqa: F401
