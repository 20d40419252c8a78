"""The build report: what was read, what was dropped and why, what was built."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .clean import HELD_OUT, RARE_REASONS, REASONS
from .errors import InputError, option, plural


#: Levels of a JSON document :func:`json_text` spreads over lines; deeper values stay on one line.
JSON_LEVELS = 2


def json_text(data, levels: int = JSON_LEVELS, indent: int = 2) -> str:
    """JSON text with the first ``levels`` levels indented and each deeper value on one line.

    A report lists every commune (35,000 in a national run): one line per commune
    reads well, and Python's encoder is about 10× slower once asked to indent (its C
    accelerator writes compact text only), so only the few outer items are laid out
    here. The document is the one ``json.dumps`` writes, whitespace aside.
    """
    def dump(value, depth: int) -> str:
        if depth >= levels or not isinstance(value, (dict, list, tuple)) or not value:
            return json.dumps(value, ensure_ascii=False)
        pad = " " * (indent * (depth + 1))
        if isinstance(value, dict):
            # keys as json.dumps writes them: strings kept, 1 → "1", True → "true", None → "null"
            items = [f"{pad}{json.dumps(k if isinstance(k, str) else json.dumps(k), ensure_ascii=False)}: "
                     f"{dump(v, depth + 1)}" for k, v in value.items()]
            brackets = "{}"
        else:
            items = [pad + dump(v, depth + 1) for v in value]
            brackets = "[]"
        return brackets[0] + "\n" + ",\n".join(items) + "\n" + " " * (indent * depth) + brackets[1]

    return dump(data, 0)


@dataclass
class Report:
    """Counts of a build, per run and per commune.

    The invariant ``rows_read == rows_out_of_scope + rows_used + rows_held_out +
    sum(rows_dropped.values())`` always holds, and so does ``stations_in == stations_out + len(stations_without_polygon)``.

    Attributes
    ----------
    rows_read : int
        Rows of the address table.
    rows_out_of_scope : int
        Rows of communes not selected by ``departement``/``commune``.
    rows_used : int
        Rows that seed their station.
    rows_held_out : int
        Rows kept out of the build to measure it (``holdout``).
    rows_dropped : dict
        Rows dropped, by reason (see :data:`boundaries.clean.REASONS`).
    holdout : dict or None
        With a hold-out: ``fraction``, ``seed``, ``test_points``, ``own_station`` (share
        of held-out addresses inside their own station) and ``uncovered`` (in none).
    stations_in, stations_out : int
        Stations of the selected communes, and stations given a polygon.
    stations_without_polygon : list of dict
        ``id_bv``, ``code_commune``, ``reason`` and ``detail`` of each station left out.
    communes_without_outline : list of str
        Selected communes absent from the outline file.
    outlines_repaired : int
        Invalid outline geometries (self-intersections…) repaired with ``make_valid``.
    codes_repaired : dict
        ``rows``: address rows whose commune code (or station id) had lost its leading zero
        (``4112`` → ``04112``); ``outlines``: outline codes repaired the same way.
    duplicate_rows : int
        Rows in scope identical to an earlier one (same commune, station, coordinates, geocode
        and weight). They are kept: each counts as a row, and adds its weight to its coordinate.
    warnings : list of str
        One line per repair of the input (printed on stderr by the CLI unless ``--quiet``).
    communes : dict
        Per commune code: rows read/used/dropped, stations, the partition check, seconds.

    :meth:`to_dict` (the report file) starts with ``tool``: ``name``, ``version`` and
    ``schema`` (:data:`boundaries.schema.SCHEMA_VERSION`); the ``report`` definition of
    ``schema/stations.schema.json`` describes every field.
    """

    inputs: dict = field(default_factory=dict)
    parameters: dict = field(default_factory=dict)
    method: str = "hull"
    rows_read: int = 0
    rows_out_of_scope: int = 0
    rows_used: int = 0
    rows_held_out: int = 0
    rows_dropped: dict = field(default_factory=dict)
    holdout: dict | None = None
    stations_in: int = 0
    stations_out: int = 0
    stations_without_polygon: list = field(default_factory=list)
    communes_built: int = 0
    communes_without_outline: list = field(default_factory=list)
    outlines_repaired: int = 0
    codes_repaired: dict = field(default_factory=lambda: {"rows": 0, "outlines": 0})
    duplicate_rows: int = 0
    warnings: list = field(default_factory=list)
    communes: dict = field(default_factory=dict)
    seconds: float = 0.0
    simplify: dict | None = None
    results: dict | None = None
    departements: dict | None = None
    departements_without_outline: list = field(default_factory=list)

    def to_dict(self) -> dict:
        from . import __version__
        from .schema import SCHEMA_VERSION

        return {
            "tool": {"name": "boundaries", "version": __version__, "schema": SCHEMA_VERSION},
            "inputs": self.inputs,
            "parameters": self.parameters,
            "method": self.method,
            "rows_read": self.rows_read,
            "rows_out_of_scope": self.rows_out_of_scope,
            "rows_used": self.rows_used,
            "rows_held_out": self.rows_held_out,
            "rows_dropped": self.rows_dropped,
            "holdout": self.holdout,
            "stations_in": self.stations_in,
            "stations_out": self.stations_out,
            "stations_without_polygon": self.stations_without_polygon,
            "communes_built": self.communes_built,
            "communes_without_outline": self.communes_without_outline,
            "outlines_repaired": self.outlines_repaired,
            "codes_repaired": self.codes_repaired,
            "duplicate_rows": self.duplicate_rows,
            "warnings": self.warnings,
            "seconds": round(self.seconds, 3),
            "simplify": self.simplify,
            "results": self.results,
            "departements": self.departements,
            "departements_without_outline": self.departements_without_outline,
            "communes": self.communes,
        }

    @classmethod
    def merge(cls, reports: list, parameters: dict, method: str) -> Report:
        """One report from several builds' (national parts): counts added, lists and per-commune details joined.

        Each of ``reports`` is a :class:`Report` or its :meth:`to_dict`. The two
        invariants hold for the sum when they hold for each; warnings repeated by
        several parts are kept once.
        """
        out = cls(parameters=parameters, method=method)
        out.rows_dropped = {}
        for r in (r.to_dict() if isinstance(r, Report) else r for r in reports):
            for k in ("rows_read", "rows_out_of_scope", "rows_used", "rows_held_out", "stations_in", "stations_out",
                      "communes_built", "duplicate_rows"):
                setattr(out, k, getattr(out, k) + int(r.get(k) or 0))
            for k, v in (r.get("rows_dropped") or {}).items():
                out.rows_dropped[k] = out.rows_dropped.get(k, 0) + int(v)
            out.codes_repaired["rows"] += int((r.get("codes_repaired") or {}).get("rows") or 0)
            out.warnings += [w for w in r.get("warnings") or [] if w not in out.warnings]
            out.stations_without_polygon += r.get("stations_without_polygon") or []
            out.communes_without_outline += r.get("communes_without_outline") or []
            out.communes.update(r.get("communes") or {})
        return out

    def summary(self) -> dict:
        """The run-level counts, without the per-commune details."""
        d = self.to_dict()
        d.pop("communes")
        return d

    def to_json(self, indent: int | None = 2) -> str:
        """The report as JSON text: :func:`json_text` (``indent`` 2), or on one line (None)."""
        if indent is None:
            return json.dumps(self.to_dict(), ensure_ascii=False)
        return json_text(self.to_dict(), indent=indent)

    def text(self) -> str:
        """A short human summary."""
        dropped = sum(self.rows_dropped.values())
        lines = [
            f"{plural(self.rows_read, 'row')} read, {self.rows_used:,} used, {dropped:,} dropped"
            + (f", {self.rows_held_out:,} held out" if self.rows_held_out else "")
            + (f", {self.rows_out_of_scope:,} out of scope" if self.rows_out_of_scope else ""),
        ]
        if self.holdout and self.holdout["test_points"]:
            h = self.holdout
            lines.append(
                f"hold-out: {h['test_points']:,} addresses kept out ({h['fraction']:.0%} of coordinates, seed "
                f"{h['seed']}): {h['own_station']:.2%} inside their own station, {h['uncovered']:.2%} in none"
            )
        if dropped:
            lines.append(
                "  dropped: " + ", ".join(f"{k} {v:,}" for k, v in self.rows_dropped.items() if v)
            )
        lines.append(
            f"{plural(self.communes_built, 'commune')}, {self.stations_out:,} of "
            f"{plural(self.stations_in, 'station')} built"
            f" in {self.seconds:.1f} s"
        )
        lines += _listed("  without polygon: ", [s["id_bv"] for s in self.stations_without_polygon], 5,
                         " (see the report)")
        lines += _listed("  communes without outline: ", self.communes_without_outline, 8)
        if self.outlines_repaired:
            lines.append(f"  outlines repaired (invalid geometry, make_valid): {self.outlines_repaired:,}")
        if self.codes_repaired.get("rows") or self.codes_repaired.get("outlines"):
            lines.append(f"  codes repaired (lost leading zero, bare station id): {self.codes_repaired['rows']:,} "
                         f"rows, {self.codes_repaired['outlines']:,} outlines")
        if self.duplicate_rows:
            lines.append(f"  duplicate rows (kept, each counted): {self.duplicate_rows:,}")
        if self.departements:
            reused = sum(1 for d in self.departements.values() if d["cached"])
            n = len(self.departements)
            lines.append(f"{n} département{'s' if n != 1 else ''} built one by one, {reused} reused from the "
                         "work folder")
        if self.departements_without_outline:
            lines.append("  départements without outline: " + ", ".join(self.departements_without_outline))
        if self.simplify and self.simplify["vertices_before"]:
            s = self.simplify
            lines.append(f"simplified by {s['tolerance_m']:g} m: {s['vertices_before']:,} → {s['vertices_after']:,} "
                         f"vertices ({s['vertices_after'] / s['vertices_before'] - 1:+.0%}), partition checked")
        if self.results:
            lines.append(results_line(self.results))
        return "\n".join(lines)


def results_line(r: dict) -> str:
    """The text report's line on the results join: counts, and the first unmatched ids on each side."""
    def some(side: str) -> str:
        ids = r.get(f"{side}_ids") or []
        more = r[side] - len(ids[:5])
        return f" ({', '.join(ids[:5])}{f' and {more:,} more' if more > 0 else ''})" if ids else ""

    return (f"results: {plural(r['matched_stations'], 'station')} matched on {r['id_field']}, "
            f"{r['stations_without_result']:,} without a result{some('stations_without_result')}, "
            f"{plural(r['results_without_station'], 'results row')} without a station{some('results_without_station')}")


#: Why a station has no polygon, for the report's ``detail``.
NO_POLYGON_DETAILS = {
    "commune_without_outline": "its commune is not in the outline file",
    "all_rows_dropped": "every address row was dropped",
    "all_rows_held_out": "every address row was held out to measure the build",
    "no_land_inside_outline": "its addresses lie outside the outline and their cells miss it",
}


def _listed(head: str, names: list, shown: int, tail: str = "") -> list:
    """A summary line listing the first ``shown`` of ``names`` (empty ones left out), or none if there are none."""
    names = [n for n in names if n]
    if not names:
        return []
    more = len(names) - shown
    return [head + ", ".join(names[:shown]) + (f" and {more} more" if more > 0 else "") + tail]


def start_report(request, table, layer) -> Report:
    """The report of a build as reading leaves it: inputs, parameters, rows read, input repairs.

    ``table`` and ``layer`` are what :func:`boundaries.read.read_addresses` and
    :func:`boundaries.read.read_communes` returned for ``request``.
    """
    from .read import input_name

    report = Report(parameters=request.params.to_dict(), method=request.method,
                    rows_read=len(table.rows) + table.rows_skipped)
    report.inputs = {
        "addresses": input_name(request.addresses),
        "communes": input_name(request.communes),
        **({"communes_layer": layer.layer} if layer.layer is not None else {}),
        **({"addresses_layer": table.layer} if table.layer is not None else {}),
        **land_inputs(request),
        "crs": table.crs,
        "departement": list(request.departement) or None,
        "commune": list(request.commune) or None,
    }
    report.outlines_repaired = layer.repaired
    _report_repairs(report, table, layer)
    return report


def land_inputs(request) -> dict:
    """The land layers of ``request`` as the report's ``inputs`` name them (only those given)."""
    from .read import input_name

    out = {}
    for name in ("streets", "parcels", "buildings"):  # streets first: the report as it was before
        if getattr(request, name) is not None:
            out[name] = input_name(getattr(request, name))
        if getattr(request, f"{name}_layer") is not None:
            out[f"{name}_layer"] = getattr(request, f"{name}_layer")
    return out


def refuse_nothing_built(report: Report) -> None:
    """Refuse a build that gave no station a polygon although its selection had stations.

    Such a build would write an empty layer with exit 0: the outlines do not overlap
    the addresses (a CRS wrong or missing on one side), or every row was dropped.
    One line saying which, with the counts by reason, instead.

    Raises
    ------
    InputError
        When ``report`` has stations in and none out.
    """
    if report.stations_out or not report.stations_in:
        return
    dropped = {k: v for k, v in sorted(report.rows_dropped.items(), key=lambda kv: -kv[1]) if v}
    reasons = ", ".join(f"{k} {v:,}" for k, v in dropped.items()) or "none"
    where = report.inputs.get("communes", "the outlines")
    if dropped and next(iter(dropped)) == "outside_commune":
        raise InputError(
            f"no station could be built: the addresses and the outlines of {where} do not overlap (rows dropped: "
            f"{reasons}); check the outlines' CRS (a GeoJSON without a crs member is WGS84: reproject the file to "
            f"WGS84, or write its CRS into it) and the addresses' ({option('crs')})"
        )
    raise InputError(
        f"no station could be built out of the {report.stations_in:,} stations selected: no address row was "
        f"usable (rows used {report.rows_used:,}, dropped: {reasons}); check the table's coordinates and geocoding "
        f"columns ({option('x_column')}, {option('y_column')}) and the selection"
    )


def _report_repairs(report: Report, table, layer) -> None:
    """Record the input repairs in the report: counts, and one warning line for each."""
    n_rows = table.codes_repaired
    n_outlines = layer.codes_repaired
    report.codes_repaired = {"rows": table.rows_repaired, "outlines": n_outlines}
    if n_rows:
        report.warnings.append(
            f"{table.where}: {n_rows:,} rows had a commune code that lost its leading "
            f"zero, repaired to five characters (e.g. {table.codes_repaired_example}); "
            "keep the codes as text to silence this"
        )
    _report_station_ids(report, table)
    if n_outlines:
        report.warnings.append(
            f"{layer.where}: {n_outlines:,} commune codes had lost their leading zero, "
            "repaired to five characters; store the code field as text to silence this"
        )
    if layer.field_note:
        report.warnings.append(layer.field_note)
    if layer.repaired:
        report.warnings.append(
            f"{layer.where}: {layer.repaired:,} invalid outline geometries "
            "(self-intersections) repaired with make_valid"
        )


def _report_station_ids(report: Report, table) -> None:
    """One warning for the station ids qualified by their commune or merged (:func:`boundaries.codes.qualify_stations`)."""
    done = []
    if table.stations_qualified:
        done.append(f"{table.stations_qualified:,} rows had a bare station id, prefixed by their commune code so "
                    "that no two communes share a station id")
    if table.stations_merged:
        done.append(f"{table.stations_merged:,} rows wrote a station id of their commune another way "
                    "(29046_01 for 29046_1), merged into its first form")
    if done:
        report.warnings.append(f"{table.where}: {'; '.join(done)} (e.g. {table.stations_example}); write station ids "
                               "as {commune}_{number} to silence this")


def fill_report(report: Report, scope, seeding, assembly, unit_info: dict, holdout: float = 0.0,
                seed: int = 0) -> None:
    """Fill ``report`` from a build's stages: rows by reason, stations, per commune, the hold-out score."""
    report.rows_out_of_scope = scope.rows_out_of_scope
    report.duplicate_rows = scope.duplicate_rows
    _fill_counts(report, scope.rows, assembly.table, assembly.has_polygon, unit_info)
    report.communes = _per_commune(scope.rows, assembly.table, assembly.has_polygon, unit_info)
    if holdout:
        report.holdout = holdout_score(scope.rows.loc[seeding.held], assembly.geom_by_key, holdout, seed)


def holdout_score(test, geom_by_key: dict, fraction: float, seed: int) -> dict:
    """The report's ``holdout``: the share of held-out rows inside their own station's polygon."""
    from .scoring import holdout_accuracy

    acc = holdout_accuracy(geom_by_key, test["px"].to_numpy(), test["py"].to_numpy(), test["station_key"].to_numpy())
    return {
        "fraction": fraction,
        "seed": seed,
        "test_points": acc["test_points"],
        "own_station": None if acc["own_station"] is None else round(acc["own_station"], 6),
        "uncovered": None if acc["uncovered"] is None else round(acc["uncovered"], 6),
    }


def _fill_counts(report: Report, rows, stations, has_polygon, unit_info) -> None:
    """The run-level counts of rows and stations, and the stations left without a polygon."""
    reasons = rows["reason"]
    report.rows_used = int(reasons.isna().sum())
    counts = reasons.value_counts()
    report.rows_dropped = {r: int(counts.get(r, 0)) for r in REASONS if r not in RARE_REASONS or counts.get(r, 0)}
    report.rows_held_out = int(counts.get(HELD_OUT, 0))
    report.stations_in = len(stations)
    report.stations_out = int(has_polygon.sum())
    missing = stations.loc[~has_polygon]
    report.stations_without_polygon = [
        {
            "id_bv": r.id_bv,
            "code_bv": r.code_bv,
            "code_commune": r.code_commune,
            "reason": r.reason,
            "detail": NO_POLYGON_DETAILS[r.reason]
            + (" (" + ", ".join(f"{k} {v}" for k, v in r.drops.items()) + ")" if r.drops else ""),
        }
        for r in missing.itertuples()
    ]
    report.communes_without_outline = sorted(set(rows.loc[rows["unit"].isna(), "commune"]) - {""})
    report.communes_built = sum(1 for info in unit_info.values() if info.get("partition"))


def _per_commune(rows, stations, has_polygon, unit_info) -> dict:
    """Per commune: rows read, used, held out and dropped; stations; how its unit was built."""
    missing = stations.loc[~has_polygon]
    # Per commune, from group counts (one pass each), not one groupby slice per commune:
    # a national run has 35,000 communes.
    no_commune = (rows["commune"] == "").to_numpy(dtype=bool)
    if no_commune.any():  # rows without a commune code are of no commune
        rows = rows.loc[~no_commune]
    reason_of = rows["reason"].fillna("")  # "" = used
    counts = rows.groupby(["commune", reason_of], sort=True).size()
    by_reason: dict = {}
    for (code, why), n in zip(counts.index, counts.to_numpy()):
        by_reason.setdefault(code, {})[why] = int(n)
    unit_of = rows.groupby("commune", sort=True)["unit"].first()
    st_code = stations["code_commune"].to_numpy(dtype=object)
    st_in = pd.Series(1, index=st_code).groupby(level=0).sum()
    st_out = pd.Series(has_polygon.astype(np.int64), index=st_code).groupby(level=0).sum()
    built_by = stations.loc[has_polygon].groupby("code_commune", sort=True)["id_bv"].agg(sorted).to_dict()
    missing_by: dict = {}
    for r in missing.itertuples():
        missing_by.setdefault(r.code_commune, []).append({"id_bv": r.id_bv, "reason": r.reason})
    per_commune = {}
    for code, n_by in by_reason.items():
        unit = unit_of.get(code)
        unit = unit if isinstance(unit, str) else None
        info = unit_info.get(unit, {}) if unit is not None else {}
        per_commune[code] = {
            "outline": unit,
            "rows_read": sum(n_by.values()),
            "rows_used": n_by.get("", 0),
            "rows_held_out": n_by.get(HELD_OUT, 0),
            "rows_dropped": {r: n_by[r] for r in REASONS if r in n_by},
            "stations_in": int(st_in.get(code, 0)),
            "stations_out": int(st_out.get(code, 0)),
            "stations_built": built_by.get(code, []),
            "stations_without_polygon": missing_by.get(code, []),
            "method": info.get("method"),
            "method_reason": info.get("method_reason"),
            "seeds": info.get("seeds", 0),
            "frontage_seeds": info.get("frontage_seeds", 0),
            "fragments_moved": info.get("fragments_moved", 0),
            "fragment_rows_moved": info.get("fragment_rows_moved", 0),
            "fragment_area_moved_m2": info.get("fragment_area_moved_m2", 0.0),
            "enclaves_kept": info.get("enclaves_kept", 0),
            "enclave_rows_kept": info.get("enclave_rows_kept", 0),
            "empty_land_moved": info.get("empty_land_moved", 0),
            "partition": info.get("partition"),
            "seconds": info.get("seconds", 0.0),
        }
    return per_commune
