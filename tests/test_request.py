"""One request object: validated once, its messages naming keywords in Python and flags on the command line."""

import os

import pytest
from click.testing import CliRunner

import boundaries
from boundaries.cli import main
from boundaries.errors import InputError
from boundaries.request import BuildRequest
from conftest import TOWN

A, C = str(TOWN / "addresses.csv"), str(TOWN / "communes.geojson")


def test_create_resolves_keywords_into_one_request():
    r = BuildRequest.create(A, C, departement="99", jobs=0, simplify="web", x_column="lon", frontage_step_m=10)
    assert r.departement == ("99",) and r.jobs == (os.cpu_count() or 1) and r.simplify_m == 10.0
    assert r.columns.x == "lon" and r.params.frontage_step_m == 10 and not r.national
    assert BuildRequest.create(A, C, departement="01, 02").national
    assert BuildRequest.create(A, C, all_departements=True).national


@pytest.mark.parametrize("options, python, flag", [
    ({"departement": "9x"}, "departement '9x'", "--departement '9x'"),
    ({"commune": "123"}, "commune '123'", "--commune '123'"),
    ({"all_departements": True, "holdout": 0.1}, "all_departements and several departement", "--all and several "
                                                                                            "--departement"),
    ({"method": "delaunay"}, "(method)", "(--method)"),
])
def test_messages_name_keywords_in_python_and_flags_in_the_command(options, python, flag, tmp_path):
    with pytest.raises(InputError) as err:
        BuildRequest.create(A, C, **options)
    assert python in str(err.value) and "--" not in str(err.value)
    args = ["build", A, "--communes", C, "-o", str(tmp_path / "x.geojson")]
    for k, v in options.items():
        name = "--all" if k == "all_departements" else "--" + k.replace("_", "-")
        args += [name] if v is True else [name, str(v)]
    res = CliRunner().invoke(main, args)
    if res.exit_code == 2 and "Invalid value" in res.output:  # click's own check of a choice comes first
        return
    assert res.exit_code == 2 and flag in res.output, res.output
    assert not (tmp_path / "x.geojson").exists()


def test_unknown_keyword_is_refused_with_the_closest_one():
    with pytest.raises(InputError, match="did you mean frontage_step_m"):
        boundaries.build(A, C, frontage_stepm=3)


def test_a_missing_column_names_the_keyword_from_python_and_the_flag_from_the_command(tmp_path):
    with pytest.raises(InputError, match=r"name it with x_column\b") as err:
        boundaries.build(A, C, x_column="nope")
    assert "--x-column" not in str(err.value)
    res = CliRunner().invoke(main, ["build", A, "--communes", C, "-o", str(tmp_path / "x.geojson"),
                                    "--x-column", "nope"])
    assert res.exit_code == 2 and "name it with --x-column" in res.output
