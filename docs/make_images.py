"""Render the pictures of docs/qgis.md: our GeoPackages opened alone in QGIS (PyQGIS, headless).

    .venv/bin/python docs/make_images.py            # needs Debian's python3-qgis and ../shared/data

Builds the bundled town and Val-de-Marne 2016 (default options) into GeoPackages in a
temporary folder, then draws each with ``tests/qgis_render.py`` (every layer opened alone
with its default style, as a drag-and-drop does) into ``docs/img/``: the whole town, and
Créteil (94028) framed on its commune outline.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from clients import pyqgis_python, qgis_env  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
IMAGES = ROOT / "docs" / "img"
#: (picture, addresses, communes, width in pixels, layer framing the map, QGIS filter of its features)
PICTURES = [
    ("town.png", ROOT / "fixtures/town/addresses.csv", ROOT / "fixtures/town/communes.geojson", 800, None, None),
    ("val-de-marne-94028.png", SHARED / "val-de-marne-2016/addresses.csv.gz",
     SHARED / "val-de-marne-2016/communes.geojson", 800, "communes", "\"code\" = '94028'"),
]


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        for name, addresses, communes, width, layer, expression in PICTURES:
            gpkg = Path(tmp) / (Path(name).stem + ".gpkg")
            subprocess.run([sys.executable, "-m", "boundaries", "build", addresses, "--communes", communes,
                            "-o", gpkg, "-q", "--report", str(gpkg) + ".json"], check=True)
            png = Path(tmp) / name
            extra = [layer, expression] if layer else []
            subprocess.run([pyqgis_python(), ROOT / "tests/qgis_render.py", gpkg, png, str(width), *extra],
                           env=qgis_env(), check=True, capture_output=True)
            shutil.copyfile(png, IMAGES / name)
            print(f"wrote {IMAGES / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
