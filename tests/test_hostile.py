"""Hostile codes and careless outputs (issue 17): nothing is ever written outside the place the user named."""

import os

import geopandas as gpd
import pytest
import shapely
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from boundaries.cli import main
from boundaries.errors import InputError
from boundaries.write import write_split
from conftest import TOWN, examples

#: Characters a hostile or broken code may hold: path separators, dots, controls, spaces, digits.
HOSTILE = st.text(alphabet=list("./\\\n\r\t\x00\x1b ~$AB0123456789éZ:"), min_size=0, max_size=12)


def _layer(commune_codes):
    n = len(commune_codes)
    return gpd.GeoDataFrame({
        "id_bv": [f"{c}_1" for c in commune_codes], "code_bv": [f"{c}_0001" for c in commune_codes],
        "numero_bv": ["0001"] * n, "code_commune": list(commune_codes),
        "nom_commune": ["x"] * n, "code_departement": [c[:2] for c in commune_codes],
        "nom_departement": ["y"] * n, "colour": [0] * n,
    }, geometry=[shapely.box(2.0 + i * 0.01, 46.0, 2.005 + i * 0.01, 46.005) for i in range(n)], crs="EPSG:4326")


def _files_under(root):
    return {os.path.join(d, f) for d, _, files in os.walk(root) for f in files}


@settings(max_examples=examples(60), deadline=None)
@given(codes=st.lists(HOSTILE, min_size=1, max_size=4, unique=True), by=st.sampled_from(["commune", "departement"]))
def test_split_writes_only_plain_code_names_inside_its_folder(tmp_path_factory, codes, by):
    root = tmp_path_factory.mktemp("split")
    folder = root / "out" / "inner"
    folder.parent.mkdir()
    try:
        write_split(_layer(codes), str(folder), by)
    except InputError as exc:
        assert "cannot name a file" in str(exc)
        assert not _files_under(root), "nothing is written when a code is refused"
        return
    written = _files_under(root)
    assert written and all(os.path.dirname(f) == str(folder) for f in written)  # never outside, never deeper
    assert "index.csv" in {os.path.basename(f) for f in written}


@pytest.mark.parametrize("code", ["../../X", "/abs/path", "..", "94028\n", "", "9402"])
def test_split_refuses_a_code_that_is_not_a_plain_insee_code(tmp_path, code):
    with pytest.raises(InputError, match="cannot name a file"):
        write_split(_layer([code, "94028"]), str(tmp_path / "out"), "commune")
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_split_by_departement_of_hostile_outline_codes_exits_2_and_writes_nothing(tmp_path):
    """A hostile outline file and a table naming its codes: the build runs, the split is refused."""
    import pandas as pd

    table = pd.read_csv(TOWN / "addresses.csv", dtype=str)
    outlines = gpd.read_file(TOWN / "communes.geojson")
    table["code_commune_ref"] = table["code_commune_ref"].replace({"99001": "../.."})
    table["id_brut_bv_reu"] = table["id_brut_bv_reu"].str.replace("99001_", "../.._", regex=False)
    outlines["code"] = outlines["code"].replace({"99001": "../.."})
    a, c = tmp_path / "a.csv", tmp_path / "c.geojson"
    table.to_csv(a, index=False)
    outlines.to_file(c)
    out = tmp_path / "split"
    res = CliRunner().invoke(main, ["build", str(a), "--communes", str(c), "-o", str(out), "--split", "commune", "-q"])
    assert res.exit_code == 2 and "--split commune" in res.output and "Traceback" not in res.output
    assert {p for p in tmp_path.rglob("*") if p.is_file()} == {a, c}  # the inputs, nothing else


def test_report_on_the_output_is_refused_before_the_build(tmp_path):
    out = tmp_path / "stations.geojson"
    res = CliRunner().invoke(main, ["build", str(TOWN / "addresses.csv"), "--communes", str(TOWN / "communes.geojson"),
                                    "-o", str(out), "--report", str(tmp_path / "." / "stations.geojson")])
    assert res.exit_code == 2 and "--report another file" in res.output
    assert not out.exists()
    from boundaries.result import OutputSpec

    with pytest.raises(InputError, match="give report another file"):
        OutputSpec(str(out), report=str(out))


def test_a_split_into_the_folder_of_an_input_is_refused(tmp_path):
    """A split names its files by code (29046.geojson, index.csv): into a folder holding an input, it could
    replace that input."""
    import shutil

    for name in ("addresses.csv", "communes.geojson"):
        shutil.copy(TOWN / name, tmp_path / name)
    before = {p: p.read_bytes() for p in tmp_path.iterdir()}
    res = CliRunner().invoke(main, ["build", str(tmp_path / "addresses.csv"), "--communes",
                                    str(tmp_path / "communes.geojson"), "-o", str(tmp_path), "--split", "commune"])
    assert res.exit_code == 2 and "a folder of its own" in res.output, res.output
    assert {p: p.read_bytes() for p in tmp_path.iterdir()} == before


@settings(max_examples=25, deadline=None)
@given(st.sampled_from(["addresses.csv", "communes.geojson"]), st.sampled_from(["", "./", "sub/../"]),
       st.booleans())
def test_no_output_or_report_path_may_name_an_input(tmp_path_factory, name, prefix, as_report):
    import shutil

    root = tmp_path_factory.mktemp("root")
    (root / "sub").mkdir()
    for n in ("addresses.csv", "communes.geojson"):
        shutil.copy(TOWN / n, root / n)
    before = {p: p.read_bytes() for p in root.iterdir() if p.is_file()}
    target = str(root / (prefix + name))
    args = ["-o", str(root / "out.geojson"), "--report", target] if as_report else ["-o", target]
    res = CliRunner().invoke(main, ["build", str(root / "addresses.csv"), "--communes", str(root / "communes.geojson"),
                                    *args, "-q"])
    assert res.exit_code == 2 and ("is also an input" in res.output or "unknown format" in res.output), res.output
    assert {p: p.read_bytes() for p in root.iterdir() if p.is_file()} == before


@settings(max_examples=examples(80), deadline=None)
@given(st.lists(st.one_of(HOSTILE, st.sampled_from(["=1+1", "+cmd", "-2+3", "@SUM(A1)", "\t=x", "=HYPERLINK(\"x\")"])),
                min_size=1, max_size=6))
def test_no_text_cell_of_our_csv_files_starts_like_a_formula(values):
    import pandas as pd

    from boundaries.write import FORMULA_STARTS, spreadsheet_safe

    df = pd.DataFrame({"id": values, "score": [-0.5] * len(values)})
    safe = spreadsheet_safe(df)
    assert not any(str(v).startswith(FORMULA_STARTS) for v in safe["id"])
    assert (safe["score"] == -0.5).all()  # numbers untouched
    # and nothing else changed: the escape is one leading quote
    assert all(s == v or s == "'" + v for s, v in zip(safe["id"], values))


def test_control_characters_of_input_codes_never_reach_the_terminal(tmp_path):
    """An ESC/OSC sequence in a commune code is echoed escaped in the one-line error."""
    import pandas as pd

    table = pd.read_csv(TOWN / "addresses.csv", dtype=str)
    table["code_commune_ref"] = "\x1b]0;owned\x07\x1b[31m"
    a = tmp_path / "a.csv"
    table.to_csv(a, index=False)
    res = CliRunner().invoke(main, ["build", str(a), "--communes", str(TOWN / "communes.geojson"),
                                    "-o", str(tmp_path / "o.geojson")])
    assert res.exit_code == 2, res.output
    assert "\x1b" not in res.output and "\x07" not in res.output and "\\x1b" in res.output


@settings(max_examples=6, deadline=None)
@given(st.sampled_from(["$\\frac{1}{", "$x$", "a$b", "$$", "\\$", "$^{$"]))
def test_dollars_in_ids_and_names_never_break_the_pictures(tmp_path_factory, text):
    """Matplotlib reads $…$ as mathtext (and raises on a broken one): ours are drawn as plain text."""
    from boundaries.preview import render_map

    folder = tmp_path_factory.mktemp("png")
    layer = _layer(["94028", "94028"])
    layer["id_bv"] = [f"94028_{text}", "94028_2"]
    layer["numero_bv"] = [text, "2"]
    layer["nom_commune"] = text
    render_map(layer, path_or_buffer=str(folder / "map.png"), highlight=f"94028_{text}")
    assert (folder / "map.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
