"""Stub of huggingface_hub for the side-by-side harness: moshi.models.loaders imports it at module level, but the
harness builds Mimi from a local file with get_mimi(file) and must never download anything."""


def hf_hub_download(*args, **kwargs):
    raise RuntimeError("huggingface_hub is stubbed in this harness: nothing is downloaded")


from .errors import EntryNotFoundError  # noqa: E402,F401
