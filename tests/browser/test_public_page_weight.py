"""Every public page a client opens weighs under 100 KB as transferred (HTML + CSS + JS + fonts
+ images, counted from Chromium's CDP Network events), in English and in Arabic (issue 23).

The pages are the ones bench/public_pages.py measures (its `client_pages` makes a booking of
the demo's Settlement intake and two consent requests, one signed, through the running suite)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # bench/ is the repository's, not an installed package
    sys.path.insert(0, str(ROOT))

from bench.chromium import PAGE_BUDGET, load  # noqa: E402
from bench.public_pages import LANGUAGES, client_pages, pages_in  # noqa: E402

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def public_pages(served):
    return client_pages(served.base, served.admin_token, client_address="192.0.2.230")


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_public_page_transfers_under_100_kb(served, browser, public_pages, lang):
    measured = {
        name: load(browser, served.base + path, throttled=False, lcp=False)
        for name, path in pages_in(public_pages, lang).items()
    }
    report = "\n".join(
        f"{name}: {got.weight:,} bytes {got.transferred}" for name, got in measured.items()
    )
    # Each page's own HTML, the stylesheet and the script were counted: the sum is real.
    assert all(
        {"Document", "Stylesheet", "Script"} <= got.transferred.keys() for got in measured.values()
    ), report
    heavy = {name: got.weight for name, got in measured.items() if got.weight >= PAGE_BUDGET}
    assert heavy == {}, f"over {PAGE_BUDGET:,} bytes:\n{report}"
