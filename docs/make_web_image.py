"""Render the picture of docs/web.md: the bundled town's web map in headless Chromium.

    .venv/bin/python docs/make_web_image.py     # needs make web-assets, Debian's chromium and playwright

Builds the bundled town, writes its site with ``boundaries web``, serves it with
``python -m http.server`` and takes a screenshot (a station hovered, a search typed)
into ``docs/img/web.png`` with ``tests/browser.py``'s helpers.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from browser import page_of, serve, wait_for_tiles  # noqa: E402

TOWN = ROOT / "fixtures" / "town"
PICTURE = ROOT / "docs" / "img" / "web.png"


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        stations, site = Path(tmp) / "stations.gpkg", Path(tmp) / "site"
        subprocess.run([sys.executable, "-m", "boundaries", "build", TOWN / "addresses.csv", "--communes",
                        TOWN / "communes.geojson", "-o", stations, "-q"], check=True)
        subprocess.run([sys.executable, "-m", "boundaries", "web", stations, "--communes", TOWN / "communes.geojson",
                        "--field", "n_addresses", "-o", site, "-q"], check=True)
        with serve(site) as url, page_of(url + "index.html", 900, 640) as page:
            page.fill("#search", "mont")
            page.mouse.move(560, 300)
            wait_for_tiles(page)
            page.screenshot(path=str(PICTURE))
    print(f"wrote {PICTURE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
