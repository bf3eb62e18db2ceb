"""earlyphase: run an early-phase dose-finding oncology trial end to end."""

__all__ = ["__version__"]


def __getattr__(name: str):
    # Read on first use: importlib.metadata costs ~50 ms, which every CLI call would otherwise pay.
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("earlyphase")
        except PackageNotFoundError:  # running from a source tree without install
            return "0.0.0+unknown"
    raise AttributeError(f"module 'earlyphase' has no attribute {name!r}")
