"""HTML -> PDF with headless Chromium (Debian's ``chromium`` package; CI installs it).

Chromium prints exactly what the HTML shows (same CSS, same embedded SVG figures), so the PDF
and the HTML cannot drift apart. ``--pdf`` fails with a clear message when Chromium is missing;
it never skips silently.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from earlyphase.errors import ConfigurationError

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
HEADLESS_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
)


def find_chromium() -> str:
    """Path of a Chromium/Chrome executable (``EARLYPHASE_CHROMIUM`` overrides); raise if none."""
    explicit = os.environ.get("EARLYPHASE_CHROMIUM")
    if explicit:
        if Path(explicit).is_file() and os.access(explicit, os.X_OK):
            return explicit
        raise ConfigurationError(f"EARLYPHASE_CHROMIUM={explicit!r} is not an executable file")
    for name in CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    raise ConfigurationError(
        "--pdf needs headless Chromium to print the report, and none was found on PATH "
        f"(looked for: {', '.join(CANDIDATES)}). Install it (Debian/Ubuntu: sudo apt-get install chromium) "
        "or set EARLYPHASE_CHROMIUM to its path; the HTML report was not affected."
    )


def html_to_pdf(html_path: str | Path, pdf_path: str | Path, timeout: float = 120.0) -> Path:
    """Print ``html_path`` to ``pdf_path`` (A4, the page CSS of the report) with headless Chromium."""
    exe = find_chromium()
    given = Path(pdf_path)  # returned as the caller named it (relative stays relative: paths are compared later)
    html_path = Path(html_path).resolve()
    pdf_path = given.resolve()
    if pdf_path.exists():
        pdf_path.unlink()
    with tempfile.TemporaryDirectory(prefix="earlyphase-chromium-") as profile:
        cmd = [exe, *HEADLESS_FLAGS, f"--user-data-dir={profile}", "--no-pdf-header-footer",
               "--run-all-compositor-stages-before-draw", f"--print-to-pdf={pdf_path}", html_path.as_uri()]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise ConfigurationError(f"Chromium did not finish printing {html_path} within {timeout:.0f} s") from None
    if not pdf_path.is_file() or pdf_path.stat().st_size == 0:
        raise ConfigurationError(
            f"Chromium ({exe}) did not write {pdf_path} (exit code {proc.returncode}): {proc.stderr.strip()[-500:]}"
        )
    return given
