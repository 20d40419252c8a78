"""Build the QGIS plugin zip: the commands' spec from the click objects, then a deterministic zip.

    .venv/bin/python qgis_plugin/make_plugin.py [--out dist]      # also: make qgis-plugin

The plugin (``qgis_plugin/boundaries_processing/``) holds no option of its own: this
script walks ``boundaries.cli.main`` and writes, for each command the plugin offers,
its help and every parameter (flag, kind, choices, bounds, default, help) to
``spec.json``, shipped in the zip, from which the plugin makes its Processing forms.
The zip's entries are sorted and dated 1980-01-01, so the same code gives the same bytes.
"""

from __future__ import annotations

import argparse
import json
import sys
import zipfile
from importlib.metadata import version
from pathlib import Path

import click

HERE = Path(__file__).resolve().parent
PLUGIN = "boundaries_processing"
#: The commands offered in QGIS, in the toolbox's order.
COMMANDS = ("build", "check", "refresh", "evaluate", "report", "profile", "crosswalk")
#: Parameters the form does not show: the plugin passes --json itself and needs the summary lines;
#: --split writes a folder, which no layer destination is; refresh --in-place would rewrite a file QGIS may
#: hold open (the form writes a new layer instead).
HIDDEN = {"quiet", "as_json", "split", "in_place"}
#: The options that name a file to write (click types them as text): a layer QGIS loads (with, from a
#: GeoPackage, its other ``layers``), or a file with its filter; ``create``: an optional output the form
#: still writes by default (a temporary layer). Every other text option is a value.
OUTPUTS = {
    ("build", "output"): {"output": "layer", "layers": ["communes", "dropped", "enclaves"]},  # in a .gpkg
    ("build", "report_path"): {"output": "file", "filter": "JSON (*.json)"},
    ("build", "dropped"): {"output": "layer"},
    ("check", "problems_path"): {"output": "layer", "layers": ["problem_areas"], "create": True},  # its result
    ("refresh", "output"): {"output": "layer", "layers": ["communes", "dropped", "enclaves"], "create": True},
    ("evaluate", "per_station"): {"output": "file", "filter": "CSV (*.csv)"},
    ("report", "output"): {"output": "file", "filter": "HTML (*.html)"},
    ("profile", "output"): {"output": "file",
                            "filter": "GeoPackage (*.gpkg);;CSV (*.csv);;GeoJSON (*.geojson);;FlatGeobuf (*.fgb)"},
    ("crosswalk", "output"): {"output": "file", "filter": "CSV (*.csv)"},
    ("crosswalk", "layer_path"): {"output": "layer"},
    ("crosswalk", "report_path"): {"output": "file", "filter": "JSON (*.json)"},
    ("crosswalk", "carried"): {"output": "file", "filter": "CSV (*.csv)"},
}
#: Exit codes that are a finished run: ``check`` and ``refresh`` exit 1 when the check found problems (their
#: layer is written).
DONE_CODES = {"check": [0, 1], "refresh": [0, 1]}


def _help(text: str | None) -> str:
    """Click's help text without its ``\\b`` markers."""
    return (text or "").replace("\b\n", "").replace("\b", "").strip()


def _value(value):
    """A default as JSON: click's unset sentinel and callables are no default."""
    if value is None or callable(value) or type(value).__name__ == "Sentinel" or isinstance(value, (tuple, list)):
        return None
    return value


def _kind(param: click.Parameter) -> dict:
    """The kind of value: flag, choice, integer, number (with bounds), file, folder or text."""
    kind = param.type
    if isinstance(param, click.Option) and param.is_flag:
        return {"type": "flag"}
    if isinstance(kind, click.Choice):
        return {"type": "choice", "choices": list(kind.choices)}
    if isinstance(kind, (click.IntRange, click.FloatRange)):
        bounds = {"min": kind.min, "max": kind.max, "min_open": kind.min_open, "max_open": kind.max_open}
        return {"type": "integer" if isinstance(kind, click.IntRange) else "number", **bounds}
    if isinstance(kind, click.Path):
        return {"type": "folder" if not kind.file_okay else "file"}
    return {"type": {"integer": "integer", "float": "number"}.get(kind.name, "text")}


def describe_param(command: str, param: click.Parameter) -> dict:
    """One parameter of the spec."""
    item = {"name": param.name, "required": bool(param.required), "multiple": bool(param.multiple),
            "help": _help(getattr(param, "help", None)), **_kind(param)}
    if isinstance(param, click.Argument):
        item.update(kind="argument", flag=None, id=param.name.upper(),
                    help=item["help"] or f"The {param.name.upper()} file.")
    else:
        longs = [o for o in param.opts if o.startswith("--")]
        if not longs:
            raise SystemExit(f"{command} {param.opts}: no long flag; the plugin passes --flag=value")
        item.update(kind="option", flag=longs[0], default=_value(param.default),
                    id=longs[0][2:].replace("-", "_").upper())  # the form's name is the flag's: --format is FORMAT
    item.update(OUTPUTS.get((command, param.name), {}))
    return item


def describe_command(name: str, command: click.Command) -> dict:
    """One command of the spec: its help and its parameters, in --help's order."""
    names = {p.name for p in command.params}
    params = [describe_param(name, p) for p in command.params if p.name not in HIDDEN]
    ids = [p["id"] for p in params]
    if len(ids) != len(set(ids)):
        raise SystemExit(f"make_plugin: {name}: two parameters would have the same name in the form: {ids}")
    return {"name": name, "short": command.get_short_help_str(200), "help": _help(command.help),
            "json": "as_json" in names, "done_codes": DONE_CODES.get(name, [0]),
            "params": params}


def make_spec() -> dict:
    """The spec of every command the plugin offers, from ``boundaries.cli.main``."""
    from boundaries.cli import main

    missing = [(c, p) for c, p in OUTPUTS if p not in {q.name for q in main.commands[c].params}]
    if missing:
        raise SystemExit(f"make_plugin: OUTPUTS names parameters the commands no longer have: {missing}")
    return {"boundaries": version("boundaries"),
            "commands": [describe_command(name, main.commands[name]) for name in COMMANDS]}


def _entries(spec: dict) -> dict[str, bytes]:
    """The files of the zip: the plugin's sources, its metadata with the version, and the spec."""
    source = HERE / PLUGIN
    files = {f"{PLUGIN}/{p.relative_to(source).as_posix()}": p.read_bytes() for p in sorted(source.rglob("*"))
             if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"}
    meta = f"{PLUGIN}/metadata.txt"
    files[meta] = files[meta].replace(b"@VERSION@", spec["boundaries"].encode())
    files[f"{PLUGIN}/spec.json"] = (json.dumps(spec, indent=1, ensure_ascii=False, sort_keys=True) + "\n").encode()
    return files


def write_zip(out: Path) -> Path:
    """Write ``out/boundaries_processing.zip`` (atomically: beside it, then renamed); return its path."""
    out.mkdir(parents=True, exist_ok=True)
    target = out / f"{PLUGIN}.zip"
    tmp = out / f".{PLUGIN}.zip.tmp"
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in sorted(_entries(make_spec()).items()):
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    tmp.replace(target)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE.parent / "dist", help="folder of the zip (default: dist)")
    args = parser.parse_args(argv)
    print(write_zip(args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
