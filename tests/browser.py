"""Open a site of ``boundaries web`` in a real browser: Debian's headless Chromium, driven by Playwright.

Playwright (the ``dev`` extra) drives ``/usr/bin/chromium`` (Debian package ``chromium``,
installed by ``.ci/run``); its own browsers are never downloaded (``playwright install``
is not run). The site is served by ``python -m http.server`` on 127.0.0.1 and a free port,
as a user would serve it. Each helper skips the calling test, saying why, when Chromium or
Playwright is missing, unless ``BOUNDARIES_REQUIRE_CLIENTS=1`` (CI) makes that a failure.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("BOUNDARIES_CHROMIUM", "/usr/bin/chromium")
#: The flags of a quiet, offline, throw-away browser.
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]
REQUIRE_ENV = "BOUNDARIES_REQUIRE_CLIENTS"


def skip(reason: str) -> None:
    """Skip the test with ``reason``, or fail it when CI requires the clients."""
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{REQUIRE_ENV}=1 but {reason}", pytrace=False)
    pytest.skip(reason)


def require_browser():
    """Playwright's ``sync_playwright``, or skip: Chromium or Playwright missing."""
    if not Path(CHROMIUM).is_file():
        skip(f"{CHROMIUM} not found; install with: apt-get install -y --no-install-recommends chromium "
             "(.ci/run does this in CI)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        skip("playwright not installed; pip install -e '.[dev]'")
    return sync_playwright


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve(folder: Path, ranges: bool = False):
    """``python -m http.server`` on 127.0.0.1 serving ``folder`` (it ignores ``Range``: 200 and the whole
    file), or with ``ranges`` this module's server that answers them (206, as static hosts do): yields its URL."""
    port = _free_port()
    command = [__file__, str(port), str(folder)] if ranges else \
        ["-m", "http.server", "--bind", "127.0.0.1", str(port), "-d", str(folder)]
    server = subprocess.Popen([sys.executable, *command], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    try:
        for _ in range(100):
            with contextlib.suppress(OSError):
                urllib.request.urlopen(url, timeout=1).close()
                break
            time.sleep(0.05)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


@contextlib.contextmanager
def page_of(url: str, width: int = 900, height: int = 700, on_response=None):
    """A Chromium page with ``url`` loaded and the map's tiles rendered; page errors collected in ``page.errors``,
    each HTTP response given to ``on_response`` as (status, URL)."""
    sync_playwright = require_browser()
    with sync_playwright() as p, tempfile.TemporaryDirectory() as profile:
        browser = p.chromium.launch_persistent_context(profile, executable_path=CHROMIUM, headless=True, args=FLAGS,
                                                       viewport={"width": width, "height": height})
        try:
            page = browser.new_page()
            page.errors = []
            page.on("pageerror", lambda e: page.errors.append(str(e)))
            if on_response is not None:
                page.on("response", lambda r: on_response((r.status, r.url)))
            page.goto(url)
            wait_for_tiles(page)
            yield page
        finally:
            browser.close()


def wait_for_tiles(page, seconds: float = 30) -> None:
    """Wait until the map has loaded its style and tiles (polled: the page's CSP forbids Playwright's eval)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if page.evaluate("!!(window.boundariesMap && window.boundariesMap.loaded() "
                         "&& window.boundariesMap.areTilesLoaded())"):
            return
        time.sleep(0.1)
    raise AssertionError(f"the map did not load in {seconds} s; page errors: {page.errors}")


def _range_server(port: int, folder: str) -> None:
    """Serve ``folder`` on 127.0.0.1:``port``, answering ``Range: bytes=a-b`` with 206 (one range)."""
    import functools
    import http.server
    import re

    class Handler(http.server.SimpleHTTPRequestHandler):
        def send_head(self):
            wanted = re.fullmatch(r"bytes=(\d+)-(\d+)", self.headers.get("Range", ""))
            path = Path(self.translate_path(self.path))
            if not wanted or not path.is_file():
                return super().send_head()
            data = path.read_bytes()
            start, end = int(wanted.group(1)), min(int(wanted.group(2)), len(data) - 1)
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
            self.send_header("Content-Length", str(end - start + 1))
            self.send_header("Content-Type", self.guess_type(str(path)))
            self.end_headers()
            import io

            return io.BytesIO(data[start:end + 1])

    handler = functools.partial(Handler, directory=folder)
    http.server.ThreadingHTTPServer(("127.0.0.1", port), handler).serve_forever()


if __name__ == "__main__":
    _range_server(int(sys.argv[1]), sys.argv[2])
