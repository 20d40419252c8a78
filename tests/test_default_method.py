"""The default method (hull, chosen on the official maps) and ``auto``'s reason per commune.

See docs/default-method.md for the measurements behind the choice.
"""

import json
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

import boundaries
from boundaries.params import Parameters
from boundaries.request import BuildRequest
from boundaries.tessellate import choose_method

#: The method the measurements chose (docs/default-method.md).
DEFAULT = "hull"
#: What a reason says for each outcome of auto's comparison (boundaries.tessellate.choose_method).
LOSS = re.compile(r"^(hull|voronoi): (?:hull )?loses (\d+\.\d) points of held-out addresses, "
                  r"(within|over) the ([\d.]+)-point margin")


def test_the_default_method_is_hull_from_python(town):
    addresses, communes, _ = town
    assert BuildRequest.method == DEFAULT
    built = boundaries.build(addresses, communes)
    assert built.report.method == DEFAULT
    assert set(built.stations["method"]) == {DEFAULT, "commune"}
    asked = boundaries.build(addresses, communes, method=DEFAULT)
    assert shapely.equals(built.stations.geometry.values, asked.stations.geometry.values).all()
    assert set(boundaries.build(addresses, communes, method="voronoi").stations["method"]) == {"voronoi", "commune"}


def test_the_default_method_is_hull_from_the_command_line(town, tmp_path):
    addresses, communes, _ = town
    out = tmp_path / "stations.geojson"
    proc = subprocess.run([sys.executable, "-m", "boundaries", "build", str(addresses), "--communes", str(communes),
                           "-o", str(out), "-q"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    methods = {f["properties"]["method"] for f in json.loads(out.read_text())["features"]}
    assert methods == {DEFAULT, "commune"}
    report = json.loads(out.with_name("stations.report.json").read_text())
    assert report["method"] == DEFAULT
    assert all(c["method_reason"].startswith(f"{c['method']}: ") for c in report["communes"].values())
    helptext = subprocess.run([sys.executable, "-m", "boundaries", "build", "--help"],
                              capture_output=True, text=True).stdout
    assert re.search(r"--method \[[a-z|]+\]\s.*\[default:\s+hull\]", " ".join(helptext.split()))


def test_auto_gives_a_reason_for_every_commune_that_matches_its_choice(town):
    addresses, communes, _ = town
    built = boundaries.build(addresses, communes, method="auto")
    by_commune = built.stations.groupby("code_commune")["method"].first().to_dict()
    for code, c in built.report.communes.items():
        assert c["method"] == by_commune[code]
        assert c["method_reason"].startswith(f"{c['method']}: "), (code, c["method_reason"])
    assert built.report.communes["99004"]["method_reason"] == "commune: one station, the whole outline"
    # a method asked for is said so
    asked = boundaries.build(addresses, communes, method="voronoi").report.communes
    assert {c["method_reason"] for c in asked.values() if c["method"] == "voronoi"} == {"voronoi: asked"}


def _seeds(data) -> pd.DataFrame:
    """A few stations' address seeds in a 1 km square: clustered, spread or interleaved, weights 1 to 3."""
    n_st = data.draw(st.integers(2, 4))
    n = data.draw(st.integers(30, 160))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    spread = data.draw(st.sampled_from([30.0, 120.0, 400.0]))
    centres = rng.uniform(100, 900, (n_st, 2))
    station = np.arange(n) % n_st
    xy = np.clip(centres[station] + rng.normal(0, spread, (n, 2)), 1, 999)
    xy = np.unique(np.round(xy, 1), axis=0)  # seeds are unique coordinates
    station = np.arange(len(xy)) % n_st
    return pd.DataFrame({"sx": xy[:, 0], "sy": xy[:, 1], "station_key": [f"99001_{s + 1}" for s in station],
                         "rows": rng.integers(1, 4, len(xy))})


@settings(deadline=None)
@given(data=st.data())
def test_auto_reason_agrees_with_the_choice_and_the_margin(data):
    seeds = _seeds(data)
    outline = shapely.box(0, 0, 1000, 1000)
    margin = data.draw(st.sampled_from([0.0, 0.005, 0.01, 0.05]))
    params = Parameters(auto_max_loss=margin, auto_min_test=data.draw(st.sampled_from([1, 5, 20])))
    chosen, reason = choose_method(seeds, outline, params)
    assert chosen in ("hull", "voronoi") and reason.startswith(f"{chosen}: ") and "\n" not in reason
    m = LOSS.match(reason)
    if m:  # the loss it states decides against the margin it states, which is the one asked
        assert m.group(1) == chosen and float(m.group(4)) == pytest.approx(100 * margin)
        assert (m.group(3) == "over") == (chosen == "voronoi")
    else:  # nothing lost, or nothing to compare: hull, the default, stays
        assert chosen == "hull"
    # a margin of every point keeps hull whatever the hold-out says
    assert choose_method(seeds, outline, Parameters(auto_max_loss=1.0, auto_min_test=params.auto_min_test))[0] == "hull"
