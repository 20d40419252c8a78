"""Run real GIS clients on our files: GDAL's ``ogrinfo`` and headless QGIS.

The clients are Debian packages (``gdal-bin``; ``qgis qgis-providers python3-qgis``),
installed by ``.ci/run``. Each helper skips the calling test, with the reason,
when its client is absent, so ``make test`` still runs elsewhere — unless
``BOUNDARIES_REQUIRE_CLIENTS=1`` (set by ``.ci/run`` after a successful install),
which turns the skip into a failure so CI cannot silently stop running them.

Facts these helpers rely on (Debian 12: GDAL 3.6.2, QGIS 3.22.16):

* Debian's ``qgis_process`` wrapper adds ``--noversioncheck`` and then fails every
  command, so we call the binary it wraps, ``qgis_process.bin``.
* QGIS needs ``QT_QPA_PLATFORM=offscreen`` without a display, and an
  ``XDG_RUNTIME_DIR`` owned by us with mode 0700 (else Qt warns on every run).
* PyQGIS is Debian's, so ``tests/qgis_check.py`` runs under ``/usr/bin/python3``
  with a clean environment, never the project's venv.

The current QGIS LTR (3.44, Debian forky) lives in a debootstrap root made by
``.ci/qgis-ltr-root`` (``BOUNDARIES_QGIS_LTR_ROOT``, default ``.cache/qgis-ltr/root``):
:func:`qgis_ltr_argv` runs a command in it, :func:`qgis_installation` gives either
QGIS to a test.
"""

from __future__ import annotations

import atexit
import functools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
#: Debian's interpreter, the one PyQGIS is installed for.
SYSTEM_PYTHON = os.environ.get("BOUNDARIES_PYQGIS_PYTHON", "/usr/bin/python3")
#: Seconds before a client call is declared hung.
TIMEOUT = 120

INSTALL_HINT = "install with: apt-get install -y --no-install-recommends qgis qgis-providers python3-qgis gdal-bin"


#: Set to 1 (``.ci/run`` does, once the install succeeded) to fail instead of skip when a client is missing.
REQUIRE_ENV = "BOUNDARIES_REQUIRE_CLIENTS"


def _skip(what: str) -> None:
    reason = f"{what} not found; {INSTALL_HINT} (.ci/run does this in CI)"
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{REQUIRE_ENV}=1 but {reason}", pytrace=False)
    pytest.skip(reason)


@functools.cache
def _which(name: str) -> str | None:
    return shutil.which(name)


def ogrinfo() -> str:
    """Path of GDAL's ``ogrinfo``, or skip the test."""
    path = _which("ogrinfo")
    if path is None:
        _skip("GDAL's ogrinfo (Debian gdal-bin)")
    return path


def qgis_process() -> str:
    """Path of ``qgis_process.bin`` (the binary, not Debian's broken wrapper), or skip the test."""
    path = _which("qgis_process.bin")
    if path is None and _which("qgis_process"):
        beside = Path(_which("qgis_process")).with_name("qgis_process.bin")
        path = str(beside) if beside.exists() else None
    if path is None:
        _skip("qgis_process.bin (Debian qgis)")
    return path


@functools.cache
def _pyqgis_available() -> bool:
    if not Path(SYSTEM_PYTHON).exists():
        return False
    proc = subprocess.run([SYSTEM_PYTHON, "-c", "import qgis.core"], env=qgis_env(), capture_output=True,
                          timeout=TIMEOUT)
    return proc.returncode == 0


def pyqgis_python() -> str:
    """The system interpreter that can ``import qgis.core``, or skip the test."""
    if not _pyqgis_available():
        _skip(f"PyQGIS for {SYSTEM_PYTHON} (Debian python3-qgis)")
    return SYSTEM_PYTHON


@functools.cache
def _runtime_dir() -> str:
    folder = tempfile.mkdtemp(prefix="boundaries-xdg-")  # mode 0700, as Qt wants
    atexit.register(shutil.rmtree, folder, True)  # one per test process, removed when it ends
    return folder


def _scratch(workdir) -> tuple[Path, bool]:
    """``workdir`` as a Path, or a new private temporary folder the caller removes (``True``)."""
    return (Path(workdir), False) if workdir else (Path(tempfile.mkdtemp(prefix="boundaries-cv-")), True)


def qgis_env() -> dict[str, str]:
    """Environment for QGIS without a display: offscreen Qt, a private runtime dir, no venv leaking in."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if ".venv" not in p)
    env.update(QT_QPA_PLATFORM="offscreen", XDG_RUNTIME_DIR=_runtime_dir())
    return env


def _run(args: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=TIMEOUT, **kw)


# ---------------------------------------------------------------- GDAL


def ogrinfo_summary(path: str | os.PathLike) -> tuple[dict[str, dict], str]:
    """``ogrinfo -ro -al -so``: one summary per layer, and ogrinfo's stderr (warnings).

    Returns ``({layer: {"geometry": type, "count": n, "geometry_column": name}}, stderr)``;
    fails the test if ogrinfo cannot open the file.
    """
    proc = _run([ogrinfo(), "-ro", "-al", "-so", path])
    assert proc.returncode == 0, f"ogrinfo could not open {path}: {proc.stderr}"
    layers: dict[str, dict] = {}
    current = None
    for line in proc.stdout.splitlines():
        if m := re.match(r"Layer name: (.+)", line):
            current = layers.setdefault(m[1].strip(), {"geometry_column": "geometry"})
        elif current is not None and (m := re.match(r"Geometry: (.+)", line)):
            current["geometry"] = m[1].strip()
        elif current is not None and (m := re.match(r"Feature Count: (-?\d+)", line)):
            current["count"] = int(m[1])
        elif current is not None and (m := re.match(r"Geometry Column = (.+)", line)):
            current["geometry_column"] = m[1].strip()
    assert layers, f"ogrinfo found no layer in {path}:\n{proc.stdout}"
    return layers, proc.stderr


def ogrinfo_formats() -> str:
    """``ogrinfo --formats``: the vector drivers this GDAL was built with."""
    proc = _run([ogrinfo(), "--formats"])
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def ogr_invalid_count(path: str | os.PathLike, layer: str, geometry_column: str = "geometry") -> int:
    """Features of ``layer`` that GEOS finds invalid, through GDAL's SQLite dialect (independent of QGIS).

    ``geometry_column`` is the layer's column as ogrinfo reports it (``geom`` in
    GeoPackages written by GDAL; ``geometry`` for formats without a named column).
    """
    sql = f'SELECT count(*) AS n_invalid FROM "{layer}" WHERE NOT ST_IsValid("{geometry_column}")'
    proc = _run([ogrinfo(), "-ro", "-q", "-dialect", "sqlite", "-sql", sql, path])
    m = re.search(r"n_invalid \(Integer\) = (\d+)", proc.stdout)
    assert proc.returncode == 0 and m, f"ogrinfo validity query failed on {path}: {proc.stderr}{proc.stdout}"
    return int(m[1])


def ogr_geometry_types(path: str | os.PathLike, layer: str, geometry_column: str = "geometry") -> dict[str, int]:
    """Feature count per geometry type (``{"POLYGON": 9, "MULTIPOLYGON": 5}``), read through GDAL's SQLite dialect.

    ``ogrinfo -so`` reports a GeoJSON layer mixing polygons and multipolygons as
    ``Unknown (any)``, so the types are counted feature by feature.
    """
    sql = (f'SELECT ST_GeometryType("{geometry_column}") AS gtype, count(*) AS n FROM "{layer}" '
           f'GROUP BY gtype')
    proc = _run([ogrinfo(), "-ro", "-q", "-dialect", "sqlite", "-sql", sql, path])
    assert proc.returncode == 0, f"ogrinfo type query failed on {path}: {proc.stderr}"
    types = re.findall(r"gtype \(String\) = (\S+)", proc.stdout)
    counts = [int(n) for n in re.findall(r"  n \(Integer\) = (\d+)", proc.stdout)]
    assert len(types) == len(counts), proc.stdout
    return dict(zip(types, counts))


# ---------------------------------------------------------------- QGIS


def qgis_checkvalidity(path: str | os.PathLike, layer: str | None = None, workdir: str | os.PathLike | None = None,
                       method: int = 2) -> dict:
    """Run QGIS's ``qgis:checkvalidity`` on a file; return its result counts.

    ``method`` 2 is GEOS (1 is QGIS's own checker). Returns
    ``{"valid": n, "invalid": n, "errors": n, "seconds": t}`` where ``invalid`` is
    the number of invalid features. Outputs go to ``workdir`` (a temporary
    folder by default).
    """
    import time

    source = f"{path}|layername={layer}" if layer else str(path)
    out, scratch = _scratch(workdir)
    args = [qgis_process(), "--json", "run", "qgis:checkvalidity", "--", f"INPUT_LAYER={source}",
            f"METHOD={method}", f"VALID_OUTPUT={out / 'valid.gpkg'}", f"INVALID_OUTPUT={out / 'invalid.gpkg'}",
            f"ERROR_OUTPUT={out / 'errors.gpkg'}"]
    t0 = time.perf_counter()
    try:
        proc = _run(args, env=qgis_env())
    finally:
        if scratch:  # the counts are in the JSON printed; the layers written are not needed
            shutil.rmtree(out, ignore_errors=True)
    seconds = time.perf_counter() - t0
    assert proc.returncode == 0, f"qgis_process failed on {source}:\n{proc.stderr[-2000:]}"
    results = json.loads(proc.stdout)["results"]
    return {"valid": int(results["VALID_COUNT"]), "invalid": int(results["INVALID_COUNT"]),
            "errors": int(results["ERROR_COUNT"]), "seconds": seconds}


def qgis_invalid_count(path: str | os.PathLike, layer: str | None = None) -> int:
    """Number of features QGIS's ``qgis:checkvalidity`` (GEOS method) reports invalid."""
    return qgis_checkvalidity(path, layer)["invalid"]


#: ``qgis:checkvalidity`` methods: QGIS's own (1, also run while editing: it reports every repeated
#: consecutive vertex, which GEOS accepts) and GEOS (2).
QGIS_METHODS = {1: "QGIS", 2: "GEOS"}


def qgis_errors_by_method(path: str | os.PathLike, layer: str | None = None,
                          workdir: str | os.PathLike | None = None) -> dict[str, dict]:
    """``qgis:checkvalidity`` with both methods at once: ``{"QGIS": counts, "GEOS": counts}`` (counts as
    :func:`qgis_checkvalidity` returns them)."""
    from concurrent.futures import ThreadPoolExecutor

    out, scratch = _scratch(workdir)
    for name in QGIS_METHODS.values():
        (out / name).mkdir(parents=True, exist_ok=True)  # each run writes its own valid/invalid/errors files
    with ThreadPoolExecutor(len(QGIS_METHODS)) as pool:  # two processes: QGIS starts slowly, the check is quick
        runs = {name: pool.submit(qgis_checkvalidity, path, layer, out / name, method)
                for method, name in QGIS_METHODS.items()}
        try:
            return {name: run.result() for name, run in runs.items()}
        finally:
            if scratch:
                shutil.rmtree(out, ignore_errors=True)


def pyqgis_layer_info(path: str | os.PathLike, layer: str | None = None) -> dict:
    """Open a layer in PyQGIS as QGIS Desktop would (default style applied) and describe it.

    Returns the JSON printed by ``tests/qgis_check.py``: ``valid``, ``features``,
    ``renderer`` (e.g. ``categorizedSymbol``; ``singleSymbol`` when no stored style
    was applied), ``attribute``, ``categories``, ``labels_enabled``,
    ``label_field``, ``styles``, ``qgis``.
    """
    args = [pyqgis_python(), HERE / "qgis_check.py", path] + ([layer] if layer else [])
    proc = _run(args, env=qgis_env())
    assert proc.returncode == 0, f"PyQGIS check failed on {path}:\n{proc.stderr[-2000:]}"
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------- the QGIS LTR in a debootstrap root

#: The root ``.ci/qgis-ltr-root`` makes (QGIS 3.44 from Debian forky), unless this variable names another.
LTR_ROOT_ENV = "BOUNDARIES_QGIS_LTR_ROOT"
LTR_DEFAULT = HERE.parent / ".cache" / "qgis-ltr" / "root"
#: In a private mount namespace (nothing leaks onto the host, nothing to unmount on failure): the host's
#: /proc, /dev and each folder given at its own path, then the command chrooted. $1 is the root, then
#: the folders, then "--" and the command.
_CHROOT = r"""set -e
root=$1; shift
mount --rbind /proc "$root/proc"; mount --rbind /dev "$root/dev"
while [ "$1" != -- ]; do mkdir -p "$root$1"; mount --bind "$1" "$root$1"; shift; done
shift
exec chroot "$root" "$@"
"""


def qgis_ltr_root() -> Path:
    """The QGIS LTR root (``BOUNDARIES_QGIS_LTR_ROOT`` or ``.cache/qgis-ltr/root``), or skip the test."""
    root = Path(os.environ.get(LTR_ROOT_ENV) or LTR_DEFAULT)
    reason = None
    if not (root / "usr" / "bin" / "qgis_process.bin").exists():
        reason = f"the QGIS LTR root not found at {root}; make it with .ci/qgis-ltr-root (.ci/run does this in CI)"
    elif os.geteuid() != 0:
        reason = f"running the QGIS LTR root at {root} needs root (unshare --mount, chroot; .ci/run runs as root)"
    if reason:
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(f"{REQUIRE_ENV}=1 but {reason}", pytrace=False)
        pytest.skip(reason)
    return root


def _shared_folders() -> list[str]:
    """Host folders the root must see at the same paths: the checkout's parent (../shared in CI) and
    where ../shared really is (a link to elsewhere), the venv and the interpreter it points at, the
    temporary folder; none inside another."""
    wanted = {os.path.realpath(p) for p in (HERE.parent.parent, HERE.parent.parent / "shared", HERE.parent,
                                            sys.prefix, sys.base_prefix, tempfile.gettempdir(), "/tmp")} - {"/"}
    # ("/" would hide the root)
    return sorted(p for p in wanted if not any(p != q and p.startswith(q.rstrip("/") + "/") for q in wanted))


def qgis_ltr_argv(args: list) -> list[str]:
    """``args`` as a command that runs them in the QGIS LTR root, e.g. ``qgis_ltr_argv(["qgis_process.bin",
    "list"])``; the caller's environment passes through (give it :func:`qgis_env`)."""
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", _CHROOT, "sh", str(qgis_ltr_root()),
            *_shared_folders(), "--", *map(str, args)]


def qgis_ltr_process(args: list, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run ``args`` in the QGIS LTR root (text output captured), with ``env`` or :func:`qgis_env`."""
    return _run(qgis_ltr_argv(args), env=qgis_env() if env is None else env)


#: The QGIS installations the plugin is tested on: Debian 12's on the host, the LTR in its root.
INSTALLATIONS = ("3.22", "3.44")


def qgis_installation(name: str) -> dict:
    """One QGIS to run: ``{"name", "qgis": argv of qgis_process.bin, "python": argv of PyQGIS's python,
    "wrap": a function turning any argv into one run beside that QGIS}``; skips where it is absent."""
    if name == "3.22":
        return {"name": name, "qgis": [qgis_process()], "python": [pyqgis_python()], "wrap": list}
    qgis_ltr_root()
    return {"name": name, "qgis": qgis_ltr_argv(["qgis_process.bin"]), "python": qgis_ltr_argv(["/usr/bin/python3"]),
            "wrap": qgis_ltr_argv}
