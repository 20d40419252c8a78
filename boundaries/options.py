"""The command's options: shared decorators, and the build's options generated from the request.

Every option of ``boundaries build`` that is a keyword of :func:`boundaries.build`
is generated here from :data:`boundaries.request.KEYWORDS` and the fields of
:class:`boundaries.Parameters` — its flag from its keyword (``x_column`` is
``--x-column``), its help from the one numpydoc description, its default from the
code — so the command and the API cannot drift apart. Options several commands
share (``--communes``, ``-q``, ``--json``, the address columns) are declared once.
"""

from __future__ import annotations

import functools
import re

import click

#: Flags whose name is not the keyword's (``all_departements`` is ``--all``).
FLAGS = {"all_departements": "--all", "fmt": "--format", "addresses": "ADDRESSES"}


def flag(keyword: str, value: str | None = None) -> str:
    """The command-line spelling of an option named by its keyword in a library message."""
    name = FLAGS.get(keyword, "--" + keyword.replace("_", "-"))
    return name if value is None else f"{name} {value}"


@functools.cache
def _docs() -> dict:
    from .api import option_help

    return option_help()


def help_of(name: str) -> str:
    """An option's help: its one description in the API's numpydoc (:func:`boundaries.api.option_help`).

    The docstrings name keywords (``work_dir``); the command has flags (``--work-dir``).
    """
    docs = _docs()
    # "refresh.in_place" documents the keyword in_place: its flag is --in-place
    names = {k.rsplit(".", 1)[-1] for k in docs}
    keywords = {k: flag(k) for k in names if "_" in k}
    text = re.sub(r" \(boundaries\.[\w.]+\)", "", docs[name])  # "(boundaries.smooth)": for the API docs
    return re.sub(r"\b(" + "|".join(sorted(keywords, key=len, reverse=True)) + r")\b",
                  lambda m: keywords[m.group(1)], text)


def communes_option(help: str, required: bool = True):
    """``--communes``: the commune outlines.

    No explicit ``default`` when required: click 8.5 takes ``default=None`` as a
    value given, and a missing ``--communes`` then reached the readers as None (exit 3).
    """
    return click.option("--communes", "communes", required=required,
                        type=click.Path(path_type=str, **({} if required else {"dir_okay": False})),
                        help=help, **({} if required else {"default": None}))


#: The help of each layer option, by keyword: its description in the API's docstrings.
_LAYER_HELP = {"layer": "check.layer", "communes_layer": "communes_layer", "reference_layer": "evaluate.reference_layer",
               "addresses_layer": "addresses_layer"}


def layer_options(*keywords: str):
    """``--layer``, ``--communes-layer``, ``--addresses-layer``, ``--reference-layer``: which layer of a file of several to read.

    One declaration for every command (``build``'s ``--communes-layer`` is generated
    from the same keyword), so each flag is spelt and explained the same everywhere.
    """
    def decorate(command):
        for keyword in reversed(keywords):
            command = click.option(flag(keyword), keyword, default=None, metavar="NAME",
                                   help=help_of(_LAYER_HELP[keyword]))(command)
        return command

    return decorate


def quiet_option(help: str = "Print nothing."):
    return click.option("-q", "--quiet", is_flag=True, help=help)


def json_option(help: str):
    return click.option("--json", "as_json", is_flag=True, help=help)


def column_options(suffix: str = ""):
    """``--id-column``, ``--commune-column``, ``--x-column``, ``--y-column`` (:data:`boundaries.request.COLUMN_KEYWORDS`)."""
    from .request import COLUMN_KEYWORDS

    def decorate(command):
        for keyword in reversed(COLUMN_KEYWORDS):
            text = help_of(keyword)
            if suffix:  # "Station id column (default …)." for the test addresses: "… of the test addresses (…)."
                text = text.replace(" (default", f" {suffix} (default", 1) if " (default" in text else text + suffix
            command = click.option(flag(keyword), keyword, default=None, help=text)(command)
        return command

    return decorate


#: How the build's keywords become options, where their default alone does not say it.
_BUILD = {
    "method": lambda: dict(type=click.Choice(_methods()), show_default=True),
    "departement": lambda: dict(multiple=True, metavar="CODE", help=help_of("departement") + " Repeatable."),
    "all_departements": lambda: dict(is_flag=True),
    "work_dir": lambda: dict(type=click.Path(file_okay=False, path_type=str),
                             help=help_of("work_dir").replace("a temporary folder, removed afterwards",
                                                              "OUTPUT.parts with --all or several --departement, "
                                                              "else a temporary folder, removed afterwards")),
    "commune": lambda: dict(multiple=True, metavar="CODE", help=help_of("commune") + " Repeatable."),
    "simplify": lambda: dict(metavar="METRES|LEVEL"),
    "results": lambda: dict(type=click.Path(dir_okay=False, path_type=str)),
    "holdout": lambda: dict(type=float, metavar="FRACTION"),
    "seed": lambda: dict(type=int, show_default=True),
    "jobs": lambda: dict(flags=("-j", "--jobs"), type=int, show_default=True),
    "scheduler": lambda: dict(metavar="ADDRESS"),
    "communes_layer": lambda: dict(metavar="NAME"),
    "addresses_layer": lambda: dict(metavar="NAME"),
    "streets": lambda: dict(type=click.Path(dir_okay=False, path_type=str), metavar="FILE"),
    "streets_layer": lambda: dict(metavar="NAME"),
    "parcels": lambda: dict(type=click.Path(dir_okay=False, path_type=str), metavar="FILE"),
    "parcels_layer": lambda: dict(metavar="NAME"),
    "buildings": lambda: dict(type=click.Path(dir_okay=False, path_type=str), metavar="FILE"),
    "buildings_layer": lambda: dict(metavar="NAME"),
}
#: The order of the build's options in ``--help`` (the tolerances come after ``commune_field``).
_BUILD_ORDER = ("method", "departement", "all_departements", "work_dir", "commune", "simplify", "results",
                "results_id", "id_column", "commune_column", "x_column", "y_column", "crs", "commune_field",
                "communes_layer", "addresses_layer", "streets", "streets_layer",
                "parcels", "parcels_layer", "buildings", "buildings_layer", "parameters", "holdout", "seed", "jobs",
                "scheduler")
#: Keywords of :func:`boundaries.build` that are Python's only (no option).
PYTHON_ONLY = ("progress", "params", "columns")


def _methods():
    from .tessellate import METHODS

    return METHODS


def build_options(command):
    """Every keyword of :func:`boundaries.build` as an option of ``command`` (see the module docstring)."""
    from .request import KEYWORDS, PARAMETER_NAMES, BuildRequest

    defaults = {f: getattr(BuildRequest, f, None) for f in KEYWORDS}
    defaults["jobs"] = 0  # the keyword's: all cores
    wanted = [k for k in KEYWORDS if k not in PARAMETER_NAMES and k not in PYTHON_ONLY]
    assert set(wanted) <= set(_BUILD_ORDER), set(wanted) - set(_BUILD_ORDER)  # a new keyword needs its place
    for keyword in reversed(_BUILD_ORDER):
        if keyword == "parameters":
            command = parameter_options(command)
            continue
        spec = {"default": defaults.get(keyword), "help": None, **_BUILD.get(keyword, lambda: {})()}
        flags = spec.pop("flags", (flag(keyword),))
        spec["help"] = spec["help"] or help_of(keyword)
        if spec.get("is_flag") or spec.get("multiple"):
            spec.pop("default")
        command = click.option(*flags, keyword, **spec)(command)
    return command


def parameter_options(command):
    """One option per field of :class:`boundaries.Parameters`: flag, default and help (with the range) taken from it."""
    from dataclasses import fields

    from .params import Parameters

    for f in reversed(fields(Parameters)):
        meta = f.metadata
        names = [flag(f.name)] + ([meta["alias"]] if "alias" in meta else []) + [f.name]
        # the range is checked by Parameters (one line naming it), not by click (a usage block)
        kind = int if f.type == "int" else float
        command = click.option(*names, type=kind, default=f.default, show_default=True,
                               help=help_of(f.name))(command)
    return command


def write_options(command):
    """Where ``boundaries build`` writes: ``-o``, ``--format``, ``--split``, ``--report``, ``--dropped``,
    ``--fields`` (:class:`boundaries.result.OutputSpec`)."""
    from .fields import FIELD_SETS
    from .write import FORMATS, SPLITS

    for decorator in reversed((
        click.option("-o", "--output", required=True, type=str,
                     help="Output file, its format from the extension: .geojson (RFC 7946), .geojsonl/.geojsons "
                          "(one feature per line), .gpkg (stations + communes layers, QGIS style), .fgb, .parquet "
                          "(GeoParquet); - for standard output; a folder with --split."),
        click.option("--format", "fmt", type=click.Choice(list(FORMATS)), default=None,
                     help="Output format, when the extension does not say it (needed for -o - as geojsonseq)."),
        click.option("--split", type=click.Choice(SPLITS), default=None,
                     help="Write one file per commune or département into the folder OUTPUT, plus index.csv."),
        click.option("--report", "report_path", type=str, default=None,
                     help="Report file (JSON). Default: OUTPUT with .report.json (none with -o -)."),
        click.option("--dropped", "dropped", type=str, default=None, metavar="FILE",
                     help="Also write every address row not used for a polygon (row number, station, commune, "
                          "reason; a point in WGS84, none without coordinates) to FILE: .geojson, .gpkg or .csv. "
                          "A .gpkg OUTPUT holds them as its layer dropped too. Not with --all or several "
                          "--departement."),
        click.option("--fields", "fields", type=click.Choice(FIELD_SETS), default="ours", show_default=True,
                     help="Station property names: ours, or etalab to add data.gouv.fr's names beside ours "
                          "(codeBureauVote, codeCommune, nomCommune, numeroBureauVote, codeDepartement, "
                          "nomDepartement), copies of code_bv, code_commune… for pipelines written for its files."),
    )):
        command = decorator(command)
    return command
