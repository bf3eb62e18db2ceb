"""Layout regressions of the demo report: its printed pages against the page images kept in tests/report/data/layout.

The comparison works on ink maps (see page_layout.py), so antialiasing and a pixel of text shift pass while a
page added or lost, a figure moved or a table cut by a new page break fail. After a deliberate layout change,
look at the new pages and refresh the artefacts with ``python scripts/update_report_layout.py``.
"""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest

from page_layout import (ARTEFACTS, BLOCK, load_grey, page_difference, render_pages, same_layout)
from report_test_helpers import chromium_or_skip

REFRESH = "look at them, then refresh with: python scripts/update_report_layout.py"


def _pdftoppm_or_skip():
    if shutil.which("pdftoppm") is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("pdftoppm (poppler-utils) is required in CI")
        pytest.skip("pdftoppm (poppler-utils) not installed (outside CI)")


@pytest.fixture(scope="module")
def kept():
    manifest = json.loads((ARTEFACTS / "layout.json").read_text(encoding="utf-8"))
    pages = sorted(ARTEFACTS.glob("page-*.png"))
    assert len(pages) == manifest["pages"]
    return manifest, [load_grey(p) for p in pages]


@pytest.fixture(scope="module")
def rendered(report_dir, tmp_path_factory):
    chromium_or_skip()
    _pdftoppm_or_skip()
    out = tmp_path_factory.mktemp("layout-now")
    return out, [load_grey(p) for p in render_pages(report_dir / "report.pdf", out)]


def test_the_printed_report_has_a_sensible_number_of_pages(report_dir, kept):
    import subprocess

    manifest, _ = kept
    # the 21-page PDF of issue 10 ended in 8 pages of hover links; the paper layout stays well below that
    assert 8 <= manifest["pages"] <= 16
    chromium_or_skip()
    _pdftoppm_or_skip()
    text = subprocess.run(["pdftotext", "-layout", str(report_dir / "report.pdf"), "-"], capture_output=True,
                          text=True, check=True).stdout
    pages = text.split("\f")
    first = next(i for i, p in enumerate(pages) if "Appendix: patients and records behind each number" in p)
    appendix_pages = len([p for p in pages[first:] if p.strip()])
    assert appendix_pages <= 4, f"the appendix takes {appendix_pages} pages"
    assert "A. Patients behind each number" in text and "B. Records of each patient" in text


def test_no_link_in_the_report_is_dead(report_dir):
    import re

    html = (report_dir / "report.html").read_text(encoding="utf-8")
    ids = set(re.findall(r'\bid="([^"]+)"', html))
    targets = re.findall(r'href="#([^"]+)"', html)
    assert len(targets) > 100
    dead = sorted({t for t in targets if t not in ids})
    assert dead == [], dead[:10]


def test_demo_report_pages_match_the_kept_page_images(kept, rendered):
    manifest, old = kept
    out, new = rendered
    assert len(new) == manifest["pages"], (f"the report now prints on {len(new)} pages, the kept images have "
                                           f"{manifest['pages']}; new pages are in {out}; {REFRESH}")
    bad = []
    for i, (a, b) in enumerate(zip(old, new), start=1):
        diff = page_difference(a, b)
        if not same_layout(diff):
            bad.append(f"page {i}: mean ink difference {diff['mean']:.3f}, {diff['changed']:.1%} of blocks changed")
    assert not bad, "layout changed: " + "; ".join(bad) + f". New pages are in {out}; {REFRESH}"


def test_the_comparison_ignores_antialiasing_but_sees_a_moved_block(kept):
    _, pages = kept
    page = max(pages, key=lambda p: (p < 200).mean())  # the page with the most ink
    rng = np.random.default_rng(1)
    # antialiasing-like noise: grey levels jitter by up to 40 near edges, and text shifts by one pixel
    noisy = np.clip(page.astype(int) + rng.integers(-40, 41, page.shape) * (page < 250), 0, 255).astype(np.uint8)
    assert same_layout(page_difference(page, noisy))
    assert same_layout(page_difference(page, np.roll(page, 1, axis=1)))
    # a page break that pushes everything down by three blocks (about 2 cm) is a layout change
    shifted = np.full_like(page, 255)
    shifted[3 * BLOCK:] = page[:-3 * BLOCK]
    assert not same_layout(page_difference(page, shifted))
    # so is a figure that vanishes: blank out the largest inked third of the page
    third = page.shape[0] // 3
    blank = page.copy()
    k = int(np.argmax([(page[j * third:(j + 1) * third] < 200).sum() for j in range(3)]))
    blank[k * third:(k + 1) * third] = 255
    assert not same_layout(page_difference(page, blank))
