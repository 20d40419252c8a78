"""The QGIS Processing provider (qgis_plugin/): its zip, its spec, its command lines, and QGIS running it.

Without QGIS: ``make_plugin.py`` writes a deterministic zip whose spec is the click
commands' options; the argument list the plugin builds reads back through click
as the form's values for any value (hypothesis: hostile text, floats at the
limits); a run cancelled at any moment leaves no partial file; any stderr gives a
one-line failure. With QGIS, on each installation of ``clients.INSTALLATIONS`` —
Debian 12's 3.22 on the host, the 3.44 LTR in the root ``.ci/qgis-ltr-root`` makes
(each skipped with the reason where absent, a failure under
BOUNDARIES_REQUIRE_CLIENTS=1): ``qgis_process.bin run boundaries:build`` gives the
command's bytes on the town and on Val-de-Marne, a bad input fails with our one
line; PyQGIS loads the provider, its seven forms, applies the stored styles, and a
cancel stops a build with nothing left.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import click
import pytest
from hypothesis import given, settings, strategies as st

from boundaries.cli import main as cli_main
from clients import INSTALLATIONS, qgis_env, qgis_installation
from conftest import ROOT, TOWN, shared_path

sys.path.insert(0, str(ROOT / "qgis_plugin"))
from boundaries_processing import command as cmd  # noqa: E402 (the plugin's QGIS-free half)

MAKE = ROOT / "qgis_plugin" / "make_plugin.py"
CHECK = Path(__file__).resolve().with_name("qgis_plugin_check.py")
COMMANDS = ["build", "check", "crosswalk", "evaluate", "profile", "refresh", "report"]
TIMEOUT = 300


def make_zip(out: Path) -> Path:
    """``make qgis-plugin`` into ``out``, with this checkout's code."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, MAKE, "--out", out], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    return out / "boundaries_processing.zip"


@pytest.fixture(scope="module")
def plugin_zip(tmp_path_factory):
    return make_zip(tmp_path_factory.mktemp("dist"))


@pytest.fixture(scope="module")
def spec(plugin_zip):
    with zipfile.ZipFile(plugin_zip) as zf:
        return json.loads(zf.read("boundaries_processing/spec.json"))


# ---------------------------------------------------------------- the zip and its spec


def test_the_zip_is_deterministic_and_installable(plugin_zip, tmp_path):
    again = make_zip(tmp_path)
    assert again.read_bytes() == plugin_zip.read_bytes()
    with zipfile.ZipFile(plugin_zip) as zf:
        names = zf.namelist()
        assert names == sorted(names) and all(i.date_time == (1980, 1, 1, 0, 0, 0) for i in zf.infolist())
        assert all(n.startswith("boundaries_processing/") and "__pycache__" not in n for n in names)
        meta = zf.read("boundaries_processing/metadata.txt").decode()
        assert "hasProcessingProvider=yes" in meta and "@VERSION@" not in meta
        assert "def classFactory" in zf.read("boundaries_processing/__init__.py").decode()


def test_the_spec_is_the_commands_options(spec):
    commands = {c["name"]: c for c in spec["commands"]}
    assert sorted(commands) == COMMANDS
    for name, described in commands.items():
        click_cmd = cli_main.commands[name]
        assert described["help"] == click_cmd.help.replace("\b\n", "").replace("\b", "").strip()
        params = {p.name: p for p in click_cmd.params}
        assert set(params) - {p["name"] for p in described["params"]} <= {"quiet", "as_json", "split", "in_place"}
        for item in described["params"]:
            param = params[item["name"]]
            assert item["required"] == param.required and item["multiple"] == param.multiple
            if isinstance(param.type, click.Choice):
                assert item["choices"] == list(param.type.choices)
            if isinstance(param, click.Option):
                assert item["flag"] in param.opts and item["help"] == (param.help or "").replace("\b", "").strip()
                assert param.is_flag or item["default"] in (None, param.default)


# ---------------------------------------------------------------- command lines, runs and failures

#: Text a form can hold: any character but NUL (no argument can carry it), hostile ones first.
HOSTILE = st.text(st.one_of(st.sampled_from("-=–—' \"\\$`;|&*?~\t\n\u202e\u00a0é漢"),
                            st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")),
                  min_size=1, max_size=20)


def _number(item: dict):
    low, high = item.get("min"), item.get("max")
    if item["type"] == "integer":
        return st.integers(None if low is None else low + item["min_open"],
                           None if high is None else high - item["max_open"])
    return st.floats(low, high, allow_nan=False, allow_infinity=False, exclude_min=bool(item.get("min_open")),
                     exclude_max=bool(item.get("max_open")), allow_subnormal=True)


def _value(item: dict):
    """A value of the kind the form gives for one parameter (None: left empty)."""
    kind = item["type"]
    if kind == "flag":
        return st.booleans()
    if kind == "choice":
        one = st.sampled_from(item["choices"])
    elif kind in ("integer", "number"):
        one = _number(item)
    else:  # a value like an option (-x, --json) must stay a value
        one = HOSTILE | HOSTILE.map(lambda text: "-" + text) | st.sampled_from(["-", "--", "--json", "-h"])
    if item["multiple"]:
        one = st.lists(one, min_size=1, max_size=3)
    return one if item["required"] else st.none() | one


def _click_value(item: dict, value):
    """What click must read back for a value the form gave (empty: click's own default)."""
    if value is None or value is False or value == "":
        return () if item["multiple"] else (False if item["type"] == "flag" else item.get("default"))
    return tuple(value) if item["multiple"] else value


@settings(deadline=None)
@given(data=st.data())
def test_the_command_line_reads_back_as_the_form_values(spec, data):
    command = data.draw(st.sampled_from(spec["commands"]))
    values = {item["name"]: data.draw(_value(item), label=item["name"]) for item in command["params"]}
    argv = cmd.command_line("boundaries", command, values)
    # under the group's own context, as the command runs (click caches the help option it makes first)
    parent = cli_main.make_context("boundaries", [command["name"]], resilient_parsing=True)
    ctx = cli_main.commands[command["name"]].make_context(command["name"], argv[2:], parent=parent)
    for item in command["params"]:
        got, want = ctx.params[item["name"]], _click_value(item, values[item["name"]])
        if item["type"] in ("number",) and want is not None:
            assert got == want and str(got) == str(float(want)), item["name"]  # not a digit lost
        else:
            assert got == want or (want is None and got in (None, ())), (item["name"], got, want)


WRITER = """
import sys, time
sys.path.insert(0, sys.argv[2])
from boundaries.outputs import atomic_path
with atomic_path(sys.argv[1]) as tmp:
    with open(tmp, "w") as f:
        for i in range(40):
            f.write("x" * 1000 + "\\n"); f.flush(); time.sleep(0.005)
print("done", file=sys.stderr)
"""


@settings(deadline=None)
@given(delay=st.floats(0, 0.6))
def test_a_run_cancelled_at_any_moment_leaves_no_partial_file(tmp_path_factory, delay):
    folder = tmp_path_factory.mktemp("cancel")
    target = folder / "out.txt"
    start = time.perf_counter()
    code, cancelled, _, _ = cmd.run([sys.executable, "-c", WRITER, str(target), str(ROOT)], lambda line: None,
                                    lambda: time.perf_counter() - start > delay)
    left = sorted(p.name for p in folder.iterdir())
    assert left in ([], ["out.txt"]), left  # never the staged temporary
    if left:  # whole or absent
        assert target.read_text() == ("x" * 1000 + "\n") * 40
    assert cancelled or code == 0


@settings(deadline=None)
@given(payload=st.binary(max_size=300), code=st.sampled_from([2, 3, 1, 7]),
       error=st.none() | HOSTILE.map(lambda t: t.replace("\n", " ").replace("\r", " ")))
def test_any_stderr_gives_a_one_line_failure(payload, code, error):
    script = ("import sys; sys.stderr.buffer.write(bytes.fromhex(sys.argv[1])); "
              "sys.stderr.buffer.write(sys.argv[2].encode('utf-8', 'surrogatepass')); sys.exit(int(sys.argv[3]))")
    line = f"\nboundaries: error: {error}\n" if error is not None else ""
    seen = []
    got, cancelled, _, lines = cmd.run([sys.executable, "-S", "-c", script, payload.hex(), line, str(code)],
                                       seen.append, lambda: False)
    assert (got, cancelled) == (code, False) and seen == lines
    message = cmd.error_line(lines, code)
    assert "\n" not in message and message
    if error is not None:
        assert message == f"boundaries: error: {error}"


def _unrunnable(folder: Path, kind: str) -> Path:
    """A ``boundaries`` setting that cannot run, of one kind."""
    path = folder / "boundaries"
    if kind == "folder":
        path.mkdir()
    elif kind in ("not executable", "not a program", "empty"):
        path.write_bytes({"not executable": b"#!/bin/sh\n", "not a program": b"\x00\x01garbage", "empty": b""}[kind])
        path.chmod(0o644 if kind == "not executable" else 0o755)
    elif kind == "dangling link":
        path.symlink_to(folder / "gone")
    return path  # "missing": nothing there


@settings(deadline=None)
@given(kind=st.sampled_from(["missing", "folder", "not executable", "not a program", "empty", "dangling link"]),
       name=HOSTILE.filter(lambda t: "/" not in t and t not in (".", "..")))
def test_a_setting_that_cannot_run_is_one_line_saying_where_to_set_it(tmp_path_factory, kind, name):
    folder = tmp_path_factory.mktemp("setting") / "x"
    folder.mkdir()
    path = _unrunnable(folder, kind).rename(folder / name) if kind != "missing" else folder / name
    with pytest.raises(cmd.NotRunnable) as caught:
        cmd.run([str(path), "build"], lambda line: None, lambda: False)
    message = str(caught.value)
    assert message.startswith("boundaries: error: cannot run ") and cmd.SETTING in message
    assert "\n" not in message  # the path shown by repr: a newline in its name stays \\n


# ---------------------------------------------------------------- QGIS: qgis_process.bin and PyQGIS


@pytest.fixture(scope="module", params=INSTALLATIONS)
def qgis_home(request, plugin_zip, tmp_path_factory):
    """On one QGIS installation, a private QGIS profile with the plugin unzipped, enabled, and its setting on
    this checkout's command (run beside that QGIS: in its root for the LTR)."""
    qgis = qgis_installation(request.param)
    home = tmp_path_factory.mktemp("qgis")
    with zipfile.ZipFile(plugin_zip) as zf:
        zf.extractall(home / "plugins")
    wrapper = home / "boundaries"  # the command as installed, running this checkout's code
    wrapper.write_text(f"#!/bin/sh\nPYTHONPATH={shlex.quote(str(ROOT))} exec {shlex.quote(sys.executable)} "
                       f"-m boundaries \"$@\"\n")
    wrapper.chmod(0o755)
    env = {**qgis_env(), "QGIS_PLUGINPATH": str(home / "plugins"), "QGIS_CUSTOM_CONFIG_PATH": str(home / "config"),
           "HOME": str(home)}  # a fresh home: nothing of the user's QGIS
    proc = subprocess.run([*qgis["qgis"], "plugins", "enable", "boundaries_processing"], env=env,
                          capture_output=True, text=True, timeout=TIMEOUT)
    assert proc.returncode == 0, proc.stderr
    ini = home / "config" / "profiles" / "default" / "QGIS" / "QGIS3.ini"
    with ini.open("a") as f:  # Processing ▸ Options ▸ Providers ▸ Boundaries, as QGIS stores it
        f.write(f"\n[Processing]\nConfiguration\\BOUNDARIES_EXECUTABLE={wrapper}\n")
    return {**qgis, "env": env, "plugins": home / "plugins", "executable": wrapper}


def qgis_run(home: dict, algorithm: str, **params) -> subprocess.CompletedProcess:
    args = [*home["qgis"], "--json", "run", algorithm, "--"] + [f"{k}={v}" for k, v in params.items()]
    return subprocess.run([str(a) for a in args], env=home["env"], capture_output=True, text=True, timeout=TIMEOUT)


def cli(*args, home: dict | None = None) -> subprocess.CompletedProcess:
    """This checkout's command; with ``home``, run beside its QGIS (in the LTR's root, whose libraries it uses)."""
    argv = [sys.executable, "-m", "boundaries", *map(str, args)]
    return subprocess.run(home["wrap"](argv) if home else argv, capture_output=True, text=True,
                          timeout=TIMEOUT, env={**os.environ, "PYTHONPATH": str(ROOT)})


def test_qgis_process_lists_the_seven_algorithms(qgis_home):
    proc = subprocess.run([*qgis_home["qgis"], "list"], env=qgis_home["env"], capture_output=True, text=True,
                          timeout=TIMEOUT)
    assert proc.returncode == 0, proc.stderr
    listed = sorted(line.split()[0] for line in proc.stdout.splitlines() if line.strip().startswith("boundaries:"))
    assert listed == [f"boundaries:{name}" for name in COMMANDS]


BUILDS = {  # QGIS form values, and the same options on the command line
    "gpkg": ({}, []),
    "geojson": ({"METHOD": "voronoi", "SIMPLIFY": "web", "OUTSIDE_TOLERANCE_M": 50.5, "COMMUNE": "99001,99002"},
                ["--method", "voronoi", "--simplify", "web", "--outside-tolerance-m", "50.5", "--commune", "99001",
                 "--commune", "99002"]),
}


def _build_both(home, tmp_path, addresses, communes, suffix, form, flags):
    # the form's output in a folder whose name a shell or an option parser would misread
    qgis_out, cli_out = tmp_path / "-q été 'x' $(y);" / f"stations.{suffix}", tmp_path / "cli" / f"stations.{suffix}"
    qgis_out.parent.mkdir()
    cli_out.parent.mkdir()
    proc = qgis_run(home, "boundaries:build", ADDRESSES=addresses, COMMUNES=communes, OUTPUT=qgis_out, **form)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads(proc.stdout)["results"]["OUTPUT"] == str(qgis_out)
    done = cli("build", addresses, "--communes", communes, "-o", cli_out, "-q", *flags, home=home)
    assert done.returncode == 0, done.stderr
    return qgis_out, cli_out


def _but_sqlite_version(data: bytes) -> bytes:
    """A file's bytes, without the SQLite version a GeoPackage's header records (offsets 92-99: the library
    that last wrote it, the root's in the LTR's root)."""
    return data[:92] + data[100:] if data.startswith(b"SQLite format 3\x00") else data


@pytest.mark.parametrize("suffix", list(BUILDS))
def test_qgis_process_build_on_the_town_gives_the_command_s_bytes(qgis_home, tmp_path, suffix):
    form, flags = BUILDS[suffix]
    qgis_out, cli_out = _build_both(qgis_home, tmp_path, TOWN / "addresses.csv", TOWN / "communes.geojson",
                                    suffix, form, flags)
    assert qgis_out.read_bytes() == cli_out.read_bytes()
    host_out = tmp_path / f"host.{suffix}"  # the same build as on the host, wherever QGIS runs it
    assert cli("build", TOWN / "addresses.csv", "--communes", TOWN / "communes.geojson", "-o", host_out, "-q",
               *flags).returncode == 0
    assert _but_sqlite_version(qgis_out.read_bytes()) == _but_sqlite_version(host_out.read_bytes())


def test_qgis_process_build_on_val_de_marne_gives_the_command_s_bytes(qgis_home, tmp_path):
    data = shared_path("val-de-marne-2016")
    qgis_out, cli_out = _build_both(qgis_home, tmp_path, data / "addresses.csv.gz", data / "communes.geojson",
                                    "gpkg", {}, [])
    assert qgis_out.read_bytes() == cli_out.read_bytes()


@pytest.fixture(scope="module")
def town_gpkg(tmp_path_factory):
    out = tmp_path_factory.mktemp("town") / "stations.gpkg"
    done = cli("build", TOWN / "addresses.csv", "--communes", TOWN / "communes.geojson", "-o", out, "-q")
    assert done.returncode == 0, done.stderr
    return out


#: The other commands: QGIS form values, the command's own arguments, the output file compared.
OTHERS = {
    "evaluate": (lambda s, o: ({"STATIONS": s, "REFERENCE": TOWN / "stations_truth.geojson", "PER_STATION": o},
                               [s, "--reference", TOWN / "stations_truth.geojson", "--per-station", o]), "csv"),
    "report": (lambda s, o: ({"STATIONS": s, "COMMUNES": TOWN / "communes.geojson", "OUTPUT": o},
                             [s, "--communes", TOWN / "communes.geojson", "-o", o]), "html"),
    "profile": (lambda s, o: ({"STATIONS": s, "SOURCE": TOWN / "stations_truth.geojson",
                               "ADDRESSES": TOWN / "addresses.csv", "OUTPUT": o},
                              [s, "--source", TOWN / "stations_truth.geojson", "--addresses", TOWN / "addresses.csv",
                               "-o", o]), "csv"),
    "refresh": (lambda s, o: ({"STATIONS": s, "OUTPUT": o}, [s, "-o", o]), "geojson"),
    "crosswalk": (lambda s, o: ({"OLD": TOWN / "stations_truth.geojson", "NEW": s, "ADDRESSES": TOWN / "addresses.csv",
                                 "OUTPUT": o},
                                [TOWN / "stations_truth.geojson", s, "--addresses", TOWN / "addresses.csv", "-o", o]),
                  "csv"),
}


@pytest.mark.parametrize("name", list(OTHERS))
def test_qgis_process_runs_the_other_commands_to_the_command_s_bytes(qgis_home, town_gpkg, tmp_path, name):
    make, suffix = OTHERS[name]
    form, _ = make(town_gpkg, tmp_path / f"qgis.{suffix}")
    _, args = make(town_gpkg, tmp_path / f"cli.{suffix}")
    proc = qgis_run(qgis_home, f"boundaries:{name}", **form)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert cli(name, *args, "-q", home=qgis_home).returncode == 0
    assert (tmp_path / f"qgis.{suffix}").read_bytes() == (tmp_path / f"cli.{suffix}").read_bytes()


def test_qgis_process_bad_input_fails_with_our_one_line(qgis_home, tmp_path):
    missing = tmp_path / "no such file.csv"
    proc = qgis_run(qgis_home, "boundaries:build", ADDRESSES=missing, COMMUNES=TOWN / "communes.geojson",
                    OUTPUT=tmp_path / "out.gpkg")
    ours = cli("build", missing, "--communes", TOWN / "communes.geojson", "-o", tmp_path / "cli.gpkg",
               home=qgis_home)
    assert ours.returncode == 2 and proc.returncode != 0
    line = ours.stderr.strip()
    assert line.count("\n") == 0 and {line, f"ERROR:\t{line}"} & set(proc.stderr.splitlines()), proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # nothing written (the missing file is not there)


def test_qgis_process_with_a_setting_that_cannot_run_fails_in_one_line(qgis_home, tmp_path):
    home = dict(qgis_home, env=dict(qgis_home["env"], QGIS_CUSTOM_CONFIG_PATH=str(tmp_path / "config")))
    ini = tmp_path / "config" / "profiles" / "default" / "QGIS" / "QGIS3.ini"
    ini.parent.mkdir(parents=True)
    ini.write_text(f"[PythonPlugins]\nboundaries_processing=true\n\n[Processing]\n"
                   f"Configuration\\BOUNDARIES_EXECUTABLE={tmp_path / 'nowhere' / 'boundaries'}\n")
    proc = qgis_run(home, "boundaries:build", ADDRESSES=TOWN / "addresses.csv", COMMUNES=TOWN / "communes.geojson",
                    OUTPUT=tmp_path / "out.gpkg")
    assert proc.returncode != 0 and not (tmp_path / "out.gpkg").exists()
    line = f"boundaries: error: cannot run '{tmp_path / 'nowhere' / 'boundaries'}': No such file or directory; "
    assert any(text.startswith(line) and text.endswith(cmd.SETTING) for text in proc.stderr.splitlines()), proc.stderr


def test_qgis_process_check_gives_its_problems_layer(qgis_home, tmp_path):
    stations = tmp_path / "stations.geojson"
    assert cli("build", TOWN / "addresses.csv", "--communes", TOWN / "communes.geojson", "-o", stations,
               "-q").returncode == 0
    proc = qgis_run(qgis_home, "boundaries:check", STATIONS=stations, COMMUNES=TOWN / "communes.geojson",
                    PROBLEMS=tmp_path / "problems.gpkg", STRICT="true")
    # --strict: its 3 warnings are problems, exit 1, which is check's result, not a failure
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout)
    assert out["results"]["PROBLEMS"] == str(tmp_path / "problems.gpkg") and (tmp_path / "problems.gpkg").exists()
    summary = json.loads(out["results"]["SUMMARY"])
    assert summary["ok"] is False and summary["totals"]["stations"] == 14


def pyqgis(home: dict, *args) -> dict:
    proc = subprocess.run([*home["python"], CHECK, home["plugins"], home["executable"], *map(str, args)],
                          env=home["env"], capture_output=True, text=True, timeout=TIMEOUT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_pyqgis_loads_the_provider_with_the_forms_of_the_commands(qgis_home, spec):
    seen = pyqgis(qgis_home, "list")
    assert seen["provider"] == "Boundaries" and sorted(seen["algorithms"]) == [f"boundaries:{c}" for c in COMMANDS]
    build = {p["name"]: p for p in seen["algorithms"]["boundaries:build"]["params"]}
    assert build["METHOD"]["type"] == "enum" and build["METHOD"]["options"] == ["voronoi", "hull", "auto"]
    assert build["METHOD"]["default"] == "hull" and build["ADDRESSES"]["type"] == "file"
    assert build["OUTPUT"]["type"] == "vectorDestination" and build["REPORT"]["type"] == "fileDestination"
    assert build["OUTSIDE_TOLERANCE_M"]["type"] == "number" and build["OUTSIDE_TOLERANCE_M"]["default"] == 100
    assert not build["OUTSIDE_TOLERANCE_M"]["integer"] and build["OUTPUT"]["any_geometry"]
    assert build["WORK_DIR"]["folder"] and not build["ADDRESSES"]["folder"]
    check = {p["name"]: p for p in seen["algorithms"]["boundaries:check"]["params"]}
    assert check["LIMIT"]["min"] == 0 and check["LIMIT"]["integer"] and check["STRICT"]["type"] == "boolean"
    assert check["PROBLEMS"]["create_by_default"] and not build["DROPPED"]["create_by_default"]  # check's result
    assert "Every commune is partitioned exactly" in seen["algorithms"]["boundaries:build"]["help"]


@pytest.mark.parametrize("when", ["1.0", "staged"])
def test_pyqgis_cancel_stops_the_build_with_nothing_left(qgis_home, tmp_path, when):
    out = tmp_path / "run" / "stations.gpkg"
    out.parent.mkdir()
    seen = pyqgis(qgis_home, "cancel", TOWN / "addresses.csv", TOWN / "communes.geojson", out, when)
    assert seen["cancelled"] and seen["error"] == "boundaries: cancelled; nothing was written", seen
    assert seen["left"] == [], seen


def test_pyqgis_build_reports_its_progress(qgis_home, tmp_path):
    out = tmp_path / "run" / "stations.gpkg"
    out.parent.mkdir()
    seen = pyqgis(qgis_home, "cancel", TOWN / "addresses.csv", TOWN / "communes.geojson", out, "never")
    assert seen["error"] is None and not seen["cancelled"], seen
    assert [p for p in seen["progress"] if p in (25, 50, 75)] == [25, 50, 75] and seen["progress"][-1] == 100
    assert seen["left"] == ["stations.gpkg", "stations.report.json"]


def test_pyqgis_build_loads_its_gpkg_layers_styled_into_the_project(qgis_home, tmp_path):
    """As the Processing dialog with "open output file": every layer of the GeoPackage, with its stored style."""
    out = tmp_path / "stations.gpkg"
    seen = pyqgis(qgis_home, "load", TOWN / "addresses.csv", TOWN / "communes.geojson", out)
    assert seen["ok"] and seen["results"]["OUTPUT"] == str(out)
    layers = {info["source"].partition("layername=")[2] or "stations": info for info in seen["layers"].values()}
    assert sorted(layers) == ["communes", "dropped", "enclaves", "stations"]
    assert layers["stations"]["renderer"] == "categorizedSymbol" and layers["stations"]["features"] == 14
    assert layers["communes"]["labels"] and layers["dropped"]["features"] == 66  # their stored styles: labels on


def test_pyqgis_loads_our_output_with_its_stored_style(qgis_home, tmp_path):
    gpkg = tmp_path / "stations.gpkg"
    assert cli("build", TOWN / "addresses.csv", "--communes", TOWN / "communes.geojson", "-o", gpkg,
               "-q").returncode == 0
    seen = pyqgis(qgis_home, "style", gpkg)
    assert seen["stations"] == {"as_processing_loads": "singleSymbol", "after_post_processor": "categorizedSymbol"}


def test_the_form_picture_script_draws_the_build_form(qgis_home, tmp_path):
    """docs/make_qgis_form.py (docs/img/qgis-form.png) under Xvfb when installed, else Qt's offscreen platform."""
    import shutil
    import struct

    out = tmp_path / "form.png"
    args = [*qgis_home["python"], ROOT / "docs" / "make_qgis_form.py", qgis_home["plugins"], out]
    env = dict(qgis_home["env"])
    if shutil.which("xvfb-run") and qgis_home["name"] == "3.22":  # the LTR in its root draws offscreen
        env.pop("QT_QPA_PLATFORM")
        args = ["xvfb-run", "-a", "-s", "-screen 0 1280x1024x24", *args]
    proc = subprocess.run([str(a) for a in args], env=env, capture_output=True, text=True, timeout=TIMEOUT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    head = out.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", head[16:24]) == (980, 760)


def test_progress_lines_for_the_plugin_leave_the_output_alone(tmp_path):
    """BOUNDARIES_PROGRESS=lines: progress on stderr without a terminal, read by the plugin; same bytes."""
    lines_out, plain_out = tmp_path / "lines.gpkg", tmp_path / "plain.gpkg"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "BOUNDARIES_PROGRESS": "lines"}
    proc = subprocess.run([sys.executable, "-m", "boundaries", "build", TOWN / "addresses.csv", "--communes",
                           TOWN / "communes.geojson", "-o", lines_out, "--json"], env=env, capture_output=True,
                          text=True, timeout=TIMEOUT)
    assert proc.returncode == 0, proc.stderr
    percents = [cmd.progress_of(line) for line in proc.stderr.splitlines()]
    assert percents == [0.0, 25.0, 50.0, 75.0, 100.0], proc.stderr
    assert cli("build", TOWN / "addresses.csv", "--communes", TOWN / "communes.geojson", "-o", plain_out,
               "-q").returncode == 0
    assert lines_out.read_bytes() == plain_out.read_bytes()


@settings(deadline=None)
@given(done=st.integers(0, 10**12), total=st.integers(0, 10**12), label=HOSTILE, junk=HOSTILE)
def test_progress_lines_read_as_a_percentage_and_nothing_else(done, total, label, junk):
    percent = cmd.progress_of(f"boundaries: progress: {done}/{total} {label}")
    assert percent is not None and 0 <= percent <= 100
    assert percent == (100.0 if total == 0 else min(100.0, 100.0 * done / total))
    assert cmd.progress_of(junk) is None or junk.startswith("boundaries: progress: ")


@pytest.mark.skipif(sys.platform == "win32", reason="process groups and SIGINT are POSIX")
def test_a_command_deaf_to_ctrl_c_is_killed_after_the_grace_time():
    script = ("import signal, time; signal.signal(signal.SIGINT, signal.SIG_IGN); print('ready', flush=True); "
              "time.sleep(60)")
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, start_new_session=True)
    assert proc.stdout.readline() == "ready\n"
    start = time.perf_counter()
    cmd.stop(proc, grace=0.3)
    proc.stdout.close()
    assert proc.returncode == -9 and time.perf_counter() - start < 10


def test_a_cancel_arriving_after_the_rename_names_the_whole_output(tmp_path):
    """The race the plugin reports: the output renamed into place, then the cancel (the file is whole, not absent)."""
    target, report = tmp_path / "out.gpkg", tmp_path / "out.report.json"
    target.write_text("the previous build")
    before = cmd.snapshot([str(target), str(report)])
    script = ("import os, sys, time; open(sys.argv[1] + '.tmp', 'w').write('new'); "
              "os.replace(sys.argv[1] + '.tmp', sys.argv[1]); time.sleep(60)")
    code, cancelled, _, _ = cmd.run([sys.executable, "-c", script, str(target)], lambda line: None,
                                    lambda: target.read_text() == "new")
    assert cancelled and code != 0
    assert cmd.written_since(before) == [str(target)] and target.read_text() == "new"
