"""earlyphase: run an early-phase dose-finding oncology trial end to end."""

from importlib.metadata import PackageNotFoundError, version as _version

try:
    __version__ = _version("earlyphase")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
