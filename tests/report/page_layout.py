"""Page images of the demo report and their comparison, for the layout-regression test and its refresh script.

Pages are rendered by ``pdftoppm`` in grey at a low resolution and compared as *ink maps*: each page is cut
into blocks of ``BLOCK`` pixels and each block becomes the share of its pixels that are ink. Text moving by
a pixel, or a font's antialiasing changing, barely moves a block's share; a figure or a table that moves,
grows, vanishes or is cut by a page break changes many blocks a lot. That is what the test catches.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np

DPI = 30  # an A4 page is 248 x 351 pixels: small files, and still every table and figure is visible
BLOCK = 8  # pixels per block side (about 7 mm)
INK = 200  # a grey level below this is ink
# tolerances (fractions of ink): a page fails when its blocks differ on average by more than MEAN_TOL,
# or when more than CHANGED_SHARE of its blocks changed by more than CHANGED_BLOCK
MEAN_TOL = 0.02
CHANGED_BLOCK = 0.25
CHANGED_SHARE = 0.03

HERE = Path(__file__).parent
ARTEFACTS = HERE / "data" / "layout"


def render_pages(pdf: Path, out_dir: Path, dpi: int = DPI) -> list[Path]:
    """page-NN.png (grey) of every page of ``pdf`` in ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for old in out_dir.glob("page-*.png"):
        old.unlink()
    subprocess.run(["pdftoppm", "-gray", "-r", str(dpi), "-png", str(pdf), str(out_dir / "page")], check=True)
    pages = sorted(out_dir.glob("page-*.png"))
    # pdftoppm pads the page number to the page count's width: name them page-01.. for a stable order
    named = []
    for i, p in enumerate(pages, start=1):
        target = out_dir / f"page-{i:02d}.png"
        if p != target:
            p.rename(target)
        named.append(target)
    return named


def load_grey(path: Path) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(path).convert("L"), dtype=np.uint8)


def ink_map(grey: np.ndarray, block: int = BLOCK) -> np.ndarray:
    """Share of ink per block (rows, columns); a partial last block is dropped."""
    h, w = grey.shape[0] // block * block, grey.shape[1] // block * block
    ink = (grey[:h, :w] < INK).astype(float)
    return ink.reshape(h // block, block, w // block, block).mean(axis=(1, 3))


def page_difference(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    """Mean block difference and the share of blocks that changed a lot, between two grey pages."""
    ma, mb = ink_map(a), ink_map(b)
    rows, cols = min(ma.shape[0], mb.shape[0]), min(ma.shape[1], mb.shape[1])
    d = np.abs(ma[:rows, :cols] - mb[:rows, :cols])
    return {"mean": float(d.mean()), "changed": float((d > CHANGED_BLOCK).mean())}


def same_layout(diff: dict[str, float]) -> bool:
    return diff["mean"] <= MEAN_TOL and diff["changed"] <= CHANGED_SHARE


def write_manifest(pages: list[Path], out_dir: Path, source: str) -> None:
    manifest = {"pages": len(pages), "dpi": DPI, "block": BLOCK, "ink_below": INK, "source": source,
                "refresh": "python scripts/update_report_layout.py (after looking at the new pages)"}
    (out_dir / "layout.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
