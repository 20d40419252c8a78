"""Shared fixtures: paths to the bundled town and to the real data in ../shared/data."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

# A suite started in the background of a script (`make test &` without job control) inherits SIGINT
# ignored, and so would every child: the tests that interrupt a build (Ctrl-C, QGIS's Cancel) would
# see it run to its end. The suite's children take Ctrl-C as a terminal's job does.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

ROOT = Path(__file__).resolve().parents[1]
TOWN = ROOT / "fixtures" / "town"
SHARED = Path(os.environ.get("BOUNDARIES_SHARED_DATA", ROOT.parent / "shared" / "data"))


def shared_path(*parts: str) -> Path:
    """Path under ../shared/data, or skip the test with the reason when it is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real data not found at {path} (the shared/ folder beside the checkout); skipped")
    return path


@pytest.fixture
def town():
    """The generated example town: (addresses.csv, communes.geojson, stations_truth.geojson)."""
    return TOWN / "addresses.csv", TOWN / "communes.geojson", TOWN / "stations_truth.geojson"


# --------------------------------------------------------------------------------------
# hypothesis profiles: ``ci`` (the default: few examples, derandomized so every run
# tries the same ones) and ``fuzz`` (``make fuzz``: 10,000 examples, random).
try:
    from hypothesis import HealthCheck, settings

    settings.register_profile(
        "ci", max_examples=int(os.environ.get("BOUNDARIES_EXAMPLES", 30)), deadline=None, derandomize=True,
        print_blob=True, suppress_health_check=[HealthCheck.too_slow],
    )
    settings.register_profile(
        "fuzz", max_examples=int(os.environ.get("BOUNDARIES_EXAMPLES", 10_000)), deadline=None,
        print_blob=True, suppress_health_check=[HealthCheck.too_slow],
    )
    settings.load_profile(
        os.environ.get("HYPOTHESIS_PROFILE") or ("fuzz" if os.environ.get("BOUNDARIES_FUZZ") == "1" else "ci")
    )
except ImportError:  # hypothesis is a dev dependency; the property tests import it themselves
    pass


def examples(ci: int) -> int:
    """``max_examples`` for a test that wants more (or fewer) than the profile's in CI: ``ci`` there, the
    profile's own number under ``make fuzz`` (``HYPOTHESIS_PROFILE=fuzz``), so the long run scales it too."""
    if os.environ.get("HYPOTHESIS_PROFILE") == "fuzz" or os.environ.get("BOUNDARIES_FUZZ") == "1":
        return int(os.environ.get("BOUNDARIES_EXAMPLES", 10_000))
    return ci
