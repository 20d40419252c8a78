"""The web map's cost on real data: archive size and seconds of ``boundaries web`` for Val-de-Marne.

Val-de-Marne 2016 is built by ``boundaries.build`` (default options), written as a GeoPackage,
then ``boundaries.web.write_site`` writes its site (zoom 4–14): the seconds of the site alone, the
size of ``stations.pmtiles`` and ``communes.pmtiles``, and the bytes per station, from which the
whole of France (70,000 stations, issue 21's target ≤ 300 MB) is extrapolated linearly — a guess,
not a measurement: the national archive is not built here.

Run alone: ``python -m benchmarks.experiments.web`` (prints a Markdown table; needs ``make web-assets``).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from ..common import SHARED, log

#: Stations of a national build (issue 21), for the linear extrapolation.
NATIONAL_STATIONS = 70_000


def val_de_marne_site() -> dict:
    """Seconds and sizes of the Val-de-Marne site."""
    import boundaries
    from boundaries.web import write_site

    folder = SHARED / "val-de-marne-2016"
    log("web: building Val-de-Marne 2016")
    built = boundaries.build(folder / "addresses.csv.gz", folder / "communes.geojson", jobs=1)
    with tempfile.TemporaryDirectory() as tmp:
        stations = Path(tmp) / "stations.gpkg"
        built.write(str(stations))  # a str: Result.write(Path) raised TypeError (a Path in the report) on 2026-12-07
        t0 = time.perf_counter()
        site = write_site(stations, Path(tmp) / "site", folder / "communes.geojson")
        seconds = time.perf_counter() - t0
        sizes = {p.name: p.stat().st_size for p in site.folder.glob("*.pmtiles")}
    per_station = sum(sizes.values()) / site.stations
    return {"stations": site.stations, "communes": site.communes, "seconds": round(seconds, 1),
            "stations_bytes": sizes["stations.pmtiles"], "communes_bytes": sizes["communes.pmtiles"],
            "bytes_per_station": round(per_station), "national_mb_guess": round(per_station * NATIONAL_STATIONS / 1e6)}


def table(result: dict) -> str:
    """The measurement as a Markdown table."""
    r = result
    return "\n".join([
        "| stations | communes | seconds (web only) | stations.pmtiles | communes.pmtiles | bytes / station "
        f"| France at {NATIONAL_STATIONS:,} stations (linear guess) |",
        "|---:|---:|---:|---:|---:|---:|---:|",
        f"| {r['stations']:,} | {r['communes']:,} | {r['seconds']} | {r['stations_bytes'] / 1e6:.1f} MB "
        f"| {r['communes_bytes'] / 1e6:.1f} MB | {r['bytes_per_station']:,} | {r['national_mb_guess']:,} MB |",
    ])


if __name__ == "__main__":
    print(table(val_de_marne_site()))
