"""Pages loaded in Debian's Chromium through CDP under Slow 4G: largest contentful paint and the
bytes each page transferred, by kind (document, stylesheet, script, font, image).

Slow 4G as Lighthouse defines it: 150 ms round trip, 1.6 Mbps down, 750 kbps up, and a 4x CPU
slowdown; every load in a fresh browser context with the cache disabled (a first visit), 390 px
wide. Used by bench/console.py, bench/public_pages.py and the public pages' weight test.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
LCP_BUDGET_MS = 1000.0
PAGE_BUDGET = 100_000  # bytes of HTML + CSS + JS + fonts + images per page (issues 22, 23)
SLOW_4G = {
    "offline": False,
    "latency": 150,
    "downloadThroughput": 1.6 * 1024 * 1024 / 8,
    "uploadThroughput": 750 * 1024 / 8,
}
CPU_SLOWDOWN = 4
VIEWPORT = {"width": 390, "height": 844}
# CDP's resource types that make a page's weight (XHR, pings and the favicon's 404 do not).
WEIGHED = {"Document", "Stylesheet", "Script", "Font", "Image"}

_LCP = """() => new Promise(resolve => {
    new PerformanceObserver(list => {
        const entries = list.getEntries();
        resolve(entries[entries.length - 1].startTime);
    }).observe({type: 'largest-contentful-paint', buffered: true});
})"""


@dataclass
class Load:
    """One cold load of a page: its LCP (ms) and the bytes transferred per resource type."""

    url: str
    lcp_ms: float | None
    transferred: dict[str, int] = field(default_factory=dict)

    @property
    def weight(self) -> int:
        """HTML + CSS + JS + fonts + images as transferred (headers included)."""
        return sum(size for kind, size in self.transferred.items() if kind in WEIGHED)


@contextlib.contextmanager
def chromium() -> Iterator:
    """Debian's Chromium, headless, through Playwright (`playwright install` cannot download)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def load(
    browser,
    url: str,
    *,
    cookies: list[dict] | None = None,
    throttled: bool = True,
    lcp: bool = True,
) -> Load:
    """Open `url` in a fresh context (cache disabled; Slow 4G and 4x CPU unless `throttled` is
    false) and return its LCP and the bytes of every response, counted from CDP's Network
    events (`encodedDataLength`: what crossed the wire)."""
    context = browser.new_context(viewport=VIEWPORT)
    try:
        if cookies:
            context.add_cookies(cookies)
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        kinds: dict[str, str] = {}
        transferred: dict[str, int] = {}

        def sent(event: dict) -> None:
            kinds[event["requestId"]] = event.get("type", "Other")

        done: set[str] = set()

        def finished(event: dict) -> None:
            done.add(event["requestId"])
            kind = kinds.get(event["requestId"], "Other")
            transferred[kind] = transferred.get(kind, 0) + int(event["encodedDataLength"])

        def failed(event: dict) -> None:
            done.add(event["requestId"])

        cdp.on("Network.requestWillBeSent", sent)
        cdp.on("Network.loadingFinished", finished)
        cdp.on("Network.loadingFailed", failed)
        cdp.send("Network.enable")
        cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
        if throttled:
            cdp.send("Network.emulateNetworkConditions", SLOW_4G)
            cdp.send("Emulation.setCPUThrottlingRate", {"rate": CPU_SLOWDOWN})
        response = page.goto(url, wait_until="load")
        if response is None or response.status != 200:
            raise RuntimeError(f"{url} answered {response and response.status}")
        painted = page.evaluate(_LCP) if lcp else None
        for _ in range(250):  # every request the page made has finished (at most 5 s more)
            if done >= kinds.keys():
                break
            page.wait_for_timeout(20)
        return Load(url, painted, dict(transferred))
    finally:
        context.close()
