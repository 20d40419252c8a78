"""Which stations need a human look, worst first, and a self-contained HTML page of them.

:func:`review_stations` ranks the stations of a layer by a score, the sum of the
points of the flags it raises (so the order can be explained):

- ``no_polygon`` (200): the build report lists the station without polygon, or its
  geometry is null or empty;
- ``check`` (100 per kind of problem): :func:`boundaries.checks.check_stations` names
  the station (invalid geometry, duplicate id, overlap, commune without outline);
- ``commune_check`` (20): a gap or spill of its commune's check lies beside it (every
  station of the commune when the check names none), or the build report's partition
  check failed in its commune;
- ``low_confidence`` (10 + 100 × (min_confidence − confidence)): ``confidence`` below
  ``min_confidence``;
- ``dropped`` (10 + 100 × (share − max_dropped_share)): the share of its address rows
  dropped, ``n_dropped / (n_addresses + n_dropped)``, above ``max_dropped_share``;
- ``many_parts`` (2 per part beyond ``max_parts``, at most 10): its geometry has more
  than ``max_parts`` parts (counted on the geometry, not the ``n_parts`` field).

Ties are broken by lower confidence, then commune code and station number.
:func:`write_review_html` writes one HTML file, without any external resource or
script, whose pictures (PNG, from :mod:`boundaries.preview`) are embedded as
``data:`` URIs; the same input gives the same bytes.
"""

from __future__ import annotations

import base64
import html
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

#: Default thresholds of :func:`review_stations`.
MIN_CONFIDENCE = 0.8
MAX_PARTS = 1
MAX_DROPPED_SHARE = 0.05
#: Default number of flagged stations pictured in the HTML page (the worst ones).
MAX_PICTURES = 50

#: Points of each flag (see the module docstring).
POINTS_NO_POLYGON = 200.0
POINTS_CHECK = 100.0
POINTS_COMMUNE_CHECK = 20.0
POINTS_THRESHOLD = 10.0
POINTS_PER_PART = 2.0
POINTS_PARTS_MAX = 10.0

FLAGS = ("no_polygon", "check", "commune_check", "low_confidence", "dropped", "many_parts")
#: check_stations kinds that name specific stations (``spill`` names the whole commune).
#: (``null_geometry`` is left out: a null geometry is flagged ``no_polygon`` already.)
STATION_CHECK_KINDS = ("invalid_geometry", "duplicate_id", "commune_without_outline", "overlap")
COMMUNE_CHECK_KINDS = ("gap", "spill")

COLUMNS = ["rank", "id_bv", "code_commune", "nom_commune", "score", "flags", "reasons", "confidence",
           "n_parts", "n_addresses", "n_dropped", "dropped_share", "has_polygon"]


def _as_report(report) -> dict | None:
    if report is None:
        return None
    if isinstance(report, dict):
        return report
    if hasattr(report, "to_dict"):
        return report.to_dict()
    return read_build_report(report)


def read_build_report(path) -> dict:
    """A build report file (``*.report.json``) as a dict, its shape checked where the review reads it.

    Raises
    ------
    InputError
        An unreadable file, one that is not JSON (cut short, binary, empty), or JSON of
        another shape: one line naming the file and what is wrong, not a crash later.
    """
    from .errors import InputError

    where = f"build report {path}"
    fix = "give the .report.json that boundaries build wrote beside the stations, or none"
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except OSError as exc:
        raise InputError(f"cannot read {where}: {exc.strerror or exc}") from None
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        msg = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
        raise InputError(f"{where} is not JSON ({msg}): {fix}") from None
    problem = _report_shape_problem(doc)
    if problem:
        raise InputError(f"{where} is not a build report of boundaries ({problem}): {fix}")
    return doc


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _report_shape_problem(doc) -> str | None:
    """What makes ``doc`` unusable as a build report by the review (None: nothing)."""
    if not isinstance(doc, dict):
        return f"a JSON {type(doc).__name__}, not an object"
    for name in ("rows_read", "rows_used"):
        if name in doc and not _is_number(doc[name]):
            return f"{name} is not a number"
    dropped = doc.get("rows_dropped")
    if dropped is not None and not (isinstance(dropped, dict) and all(map(_is_number, dropped.values()))):
        return "rows_dropped is not an object of counts"
    stations = doc.get("stations_without_polygon", [])
    if not isinstance(stations, list) or not all(
            isinstance(s, dict) and isinstance(s.get("id_bv"), str) and s["id_bv"]
            and all(isinstance(s.get(k), (str, type(None))) for k in ("code_commune", "reason", "detail"))
            for s in stations):
        return "stations_without_polygon is not a list of stations with an id_bv"
    communes = doc.get("communes", {})
    if not isinstance(communes, dict) or not all(isinstance(c, dict) for c in communes.values()):
        return "communes is not an object of communes"
    for code, info in communes.items():
        part = info.get("partition")
        if part is not None and not (isinstance(part, dict) and all(
                _is_number(v) for k, v in part.items() if k.endswith("_m2") and v is not None)):
            return f"the partition of commune {code} is not an object of areas"
    return None


def _check_problems(check) -> list[dict]:
    if check is None:
        return []
    if hasattr(check, "to_dict"):
        check = check.to_dict()
    return list(check.get("problems", []))


def _partition_failure(p: dict) -> str:
    tol = p.get("area_tolerance_m2", 0.0)
    parts = []
    if p.get("invalid"):
        parts.append(f"{p['invalid']} invalid polygon(s)")
    for name in ("overlap", "gap", "spill"):
        v = p.get(f"{name}_m2", 0.0) or 0.0
        if v > tol:
            parts.append(f"{name} {v:,.1f} m²")
    return ", ".join(parts) or "not ok"


def review_stations(stations, report=None, check=None, *, min_confidence: float = MIN_CONFIDENCE,
                    max_parts: int = MAX_PARTS, max_dropped_share: float = MAX_DROPPED_SHARE,
                    layer: str | None = None) -> pd.DataFrame:
    """Rank the stations that need a human look, worst first.

    Parameters
    ----------
    stations : str, pathlib.Path or geopandas.GeoDataFrame
        The station layer (``boundaries build`` output, or any tool's: fields it
        lacks, such as ``confidence``, are simply not judged).
    report : dict, boundaries.Report or path, optional
        The build report (``*.report.json``): adds the stations without polygon and
        the communes whose partition check failed.
    check : boundaries.checks.LayerCheck or dict, optional
        A :func:`boundaries.checks.check_stations` result (or its ``to_dict()``, the
        ``boundaries check --json`` output).
    min_confidence : float
        A station whose ``confidence`` is below this is flagged ``low_confidence``.
    max_parts : int
        A station in more parts than this is flagged ``many_parts``.
    max_dropped_share : float
        A station that lost a larger share of its address rows is flagged ``dropped``.
    layer : str, optional
        The layer to read from a ``stations`` file of several.

    Returns
    -------
    pandas.DataFrame
        One row per flagged station, worst first, with columns ``rank`` (1 = worst),
        ``id_bv``, ``code_commune``, ``nom_commune``, ``score`` (see the module
        docstring), ``flags`` (the flag names, ``;``-separated), ``reasons`` (one
        sentence per flag, ``;``-separated), ``confidence``, ``n_parts``,
        ``n_addresses``, ``n_dropped``, ``dropped_share`` and ``has_polygon``.
    """
    from .preview import load_stations

    report = _as_report(report) or {}
    rows = _station_rows(load_stations(stations, layer), report)
    # flagged station keys → [(points, flag, reason)]
    found: dict[str, list] = {k: [] for k in rows["key"]}
    key_of_commune = rows.groupby("code_commune", sort=False)["key"].agg(list).to_dict()
    _flag_no_polygon(found, rows, report)
    _flag_report_communes(found, key_of_commune, report)
    _flag_check_problems(found, key_of_commune, check)
    _flag_thresholds(found, rows, min_confidence, max_parts, max_dropped_share)
    return _ranked(rows, found)


def _numeric_column(st, name: str) -> np.ndarray:
    """Field ``name`` as floats (NaN where not a number, or everywhere when the layer lacks it)."""
    if name in st.columns:
        return pd.to_numeric(st[name], errors="coerce").to_numpy(dtype=float)
    return np.full(len(st), np.nan, dtype=float)


def _station_rows(st, report: dict) -> pd.DataFrame:
    """One row per station key: the layer's stations, then the report's stations without polygon.

    Columns ``id_bv``, ``key``, ``code_commune``, ``nom_commune``, ``confidence``,
    ``n_parts``, ``n_addresses``, ``n_dropped``, ``dropped_share`` and ``has_polygon``.
    """
    import shapely

    from .codes import canonical_station

    n = len(st)
    geoms = st.geometry.values.to_numpy()
    used = _numeric_column(st, "n_addresses")
    dropped = _numeric_column(st, "n_dropped")
    total = used + dropped
    share = np.divide(dropped, total, out=np.full(n, np.nan), where=np.isfinite(total) & (total > 0))
    names = st["nom_commune"].astype(object).where(st["nom_commune"].notna(), None).to_numpy() \
        if "nom_commune" in st.columns else np.full(n, None, dtype=object)
    rows = pd.DataFrame({
        "id_bv": st["id_bv"].to_numpy(dtype=object),
        "key": st["key"].to_numpy(dtype=object),
        "code_commune": st["code_commune"].to_numpy(dtype=object),
        "nom_commune": names,
        "confidence": _numeric_column(st, "confidence"),
        # parts of the polygon as written (the n_parts field can predate the final rounding)
        "n_parts": shapely.get_num_geometries(geoms).astype(float),
        "n_addresses": used,
        "n_dropped": dropped,
        "dropped_share": share,
        "has_polygon": ~(shapely.is_missing(geoms) | shapely.is_empty(geoms)),
    })
    name_of = dict(zip(rows["code_commune"], rows["nom_commune"]))
    for s in report.get("stations_without_polygon", []):
        code = s.get("code_commune")
        extra = {"id_bv": s.get("id_bv"), "key": canonical_station([s.get("id_bv")])[0], "code_commune": code,
                 "nom_commune": name_of.get(code), "has_polygon": False, "n_parts": 0.0}
        rows = pd.concat([rows, pd.DataFrame([extra])], ignore_index=True)
    return rows.drop_duplicates("key", keep="first").reset_index(drop=True)


def _flag_no_polygon(found: dict, rows: pd.DataFrame, report: dict) -> None:
    """``no_polygon``: listed without polygon by the build report, else a null or empty geometry."""
    from .codes import canonical_station

    for s in report.get("stations_without_polygon", []):
        key = canonical_station([s.get("id_bv")])[0]
        why = s.get("reason", "unknown reason") + (f" ({s['detail']})" if s.get("detail") else "")
        found[key].append((POINTS_NO_POLYGON, "no_polygon", f"no polygon in the build: {why}"))
    for key, has in zip(rows["key"], rows["has_polygon"]):
        if not has and not any(f == "no_polygon" for _, f, _ in found[key]):
            found[key].append((POINTS_NO_POLYGON, "no_polygon", "no polygon (null or empty geometry)"))


def _flag_report_communes(found: dict, key_of_commune: dict, report: dict) -> None:
    """``commune_check``: every station of a commune whose partition check failed in the build."""
    for code, info in sorted(report.get("communes", {}).items()):
        part = info.get("partition") or {}
        if part and not part.get("ok", True):
            for key in key_of_commune.get(code, []):
                found[key].append((POINTS_COMMUNE_CHECK, "commune_check",
                                   f"commune {code} fails the build's partition check: {_partition_failure(part)}"))


def _flag_check_problems(found: dict, key_of_commune: dict, check) -> None:
    """``check`` for the stations a check problem names (points once per kind), ``commune_check`` for gaps/spills."""
    from .codes import canonical_station

    seen_kinds: dict[str, set] = {}
    for p in _check_problems(check):
        kind = p.get("kind")
        detail = p.get("detail", "")
        if kind in STATION_CHECK_KINDS:
            for sid in p.get("stations", ()):
                key = canonical_station([sid])[0]
                if key not in found:
                    continue
                # a second problem of the same kind is listed, but scores nothing more
                first = kind not in seen_kinds.setdefault(key, set())
                seen_kinds[key].add(kind)
                found[key].append((POINTS_CHECK if first else 0.0, "check",
                                   f"check: {kind.replace('_', ' ')} — {detail}"))
        elif kind in COMMUNE_CHECK_KINDS:
            code = p.get("commune")
            # the stations beside the gap or spill when the check names them, else the commune's
            named = [k for k in canonical_station(list(p.get("stations") or ())) if k in found]
            for key in named or key_of_commune.get(code, []):
                found[key].append((POINTS_COMMUNE_CHECK, "commune_check",
                                   f"commune {code} check: {kind} — {detail}"))


def _flag_thresholds(found: dict, rows: pd.DataFrame, min_confidence: float, max_parts: int,
                     max_dropped_share: float) -> None:
    """``low_confidence``, ``dropped`` and ``many_parts``: the flags scored by how far past the threshold."""
    for key, c, k, d, sh, has in zip(rows["key"], rows["confidence"], rows["n_parts"], rows["n_dropped"],
                                     rows["dropped_share"], rows["has_polygon"]):
        if has and np.isfinite(c) and c < min_confidence:
            found[key].append((POINTS_THRESHOLD + 100.0 * (min_confidence - c), "low_confidence",
                               f"confidence {c:.3f} below {min_confidence:g}"))
        if np.isfinite(sh) and sh > max_dropped_share:
            found[key].append((POINTS_THRESHOLD + 100.0 * (sh - max_dropped_share), "dropped",
                               f"{int(d):,} address row(s) dropped, {sh:.1%} of its rows (above "
                               f"{max_dropped_share:.1%})"))
        if has and k > max_parts:
            found[key].append((min(POINTS_PER_PART * (k - max_parts), POINTS_PARTS_MAX), "many_parts",
                               f"in {int(k)} parts (more than {max_parts})"))


def _ranked(rows: pd.DataFrame, found: dict) -> pd.DataFrame:
    """The flagged stations with score, flags and reasons, worst first (see the module docstring)."""
    from .codes import number_sort_key, station_number

    rows["score"] = [round(sum(p for p, _, _ in found[k]), 3) for k in rows["key"]]
    rows["flags"] = [";".join(dict.fromkeys(f for _, f, _ in found[k])) for k in rows["key"]]
    rows["reasons"] = ["; ".join(r for _, _, r in found[k]) for k in rows["key"]]
    out = rows[rows["flags"] != ""].copy()
    out["_conf"] = out["confidence"].fillna(np.inf)
    out["_num"] = number_sort_key(station_number(out["id_bv"].to_numpy(dtype=object)))
    out["_code"] = out["code_commune"].fillna("")
    out["_id"] = out["id_bv"].astype(str)
    out = out.sort_values(["score", "_conf", "_code", "_num", "_id"], ascending=[False, True, True, True, True],
                          kind="stable")
    out["rank"] = np.arange(1, len(out) + 1)
    return out[COLUMNS].reset_index(drop=True)


# --------------------------------------------------------------------------------------
# The HTML page

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:1.5em auto;max-width:1100px;
padding:0 1em;color:#222;line-height:1.4}
h1{margin-bottom:.2em}h2{margin-top:1.6em;border-bottom:1px solid #ccc}
.muted{color:#666;font-size:.9em}
table{border-collapse:collapse;width:100%;font-size:.9em}
th,td{border:1px solid #ddd;padding:.25em .5em;text-align:left;vertical-align:top}
th{background:#f3f3f3}td.num{text-align:right;white-space:nowrap}
.summary td:first-child{width:40%}
.card{border:1px solid #ccc;border-radius:6px;padding:.6em 1em;margin:1em 0;overflow:hidden}
.card img{float:right;margin-left:1em;max-width:55%;height:auto;border:1px solid #eee}
.card h3{margin:.2em 0}.card ul{padding-left:1.2em}
.flag{display:inline-block;border-radius:3px;padding:0 .35em;margin:0 .2em .1em 0;font-size:.8em;
background:#eee;border:1px solid #ccc}
""".strip()


def _esc(value) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return ""
    return html.escape(str(value), quote=True)


def _anchor(station_id) -> str:
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in str(station_id))
    return f"st-{safe}"


def _fmt(value, spec: str) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "–"
    return format(value, spec)


def write_review_html(stations, path_or_buffer=None, *, report=None, check=None, outline=None, addresses=None,
                      review: pd.DataFrame | None = None, max_pictures: int = MAX_PICTURES,
                      min_confidence: float = MIN_CONFIDENCE, max_parts: int = MAX_PARTS,
                      max_dropped_share: float = MAX_DROPPED_SHARE, title: str = "Stations to review",
                      picture_size_in: float = 5.5, picture_dpi: int = 90, layer: str | None = None,
                      communes_layer: str | None = None, addresses_layer: str | None = None) -> str:
    """Write one self-contained HTML page of the stations that need a look.

    A summary (counts by flag, the report's dropped rows), the ranking table of
    every flagged station, and for the ``max_pictures`` worst a picture of their
    commune zoomed on them, the station outlined. Images are PNG ``data:`` URIs;
    there is no script, no external stylesheet, font or image. All text is escaped.

    Parameters
    ----------
    stations : str, pathlib.Path or geopandas.GeoDataFrame
        The station layer.
    path_or_buffer : str, os.PathLike, text file object or None
        Where to write (a path is written atomically); None only returns the text.
    report, check
        As for :func:`review_stations`.
    outline : str, pathlib.Path or geopandas.GeoDataFrame, optional
        Commune outlines for the pictures (``communes_layer``: which layer of a file of several).
    addresses : optional
        Address points for the pictures (a path is read once, ``addresses_layer``: which
        layer of a vector file of several), see :func:`boundaries.preview.prepare_map`.
    review : pandas.DataFrame, optional
        A :func:`review_stations` result to use instead of computing it (then the
        thresholds below are not used).
    max_pictures : int, default :data:`MAX_PICTURES`
        How many flagged stations get a picture (the worst first); 0 for none.
    min_confidence, max_parts, max_dropped_share
        Thresholds, as for :func:`review_stations`.
    title : str
        Page heading.
    picture_size_in, picture_dpi, layer
        Size (inches) and resolution of each picture; which layer of a ``stations`` file of several.

    Returns
    -------
    str
        The HTML text.
    """
    from .preview import load_stations

    source = None if hasattr(stations, "geometry") else str(stations)
    st, report = load_stations(stations, layer), _as_report(report)
    if review is None:
        review = review_stations(st, report, check, min_confidence=min_confidence, max_parts=max_parts,
                                 max_dropped_share=max_dropped_share)
    outline, addresses = _picture_inputs(outline, addresses, communes_layer, addresses_layer)
    pictured = review.head(max(max_pictures, 0))
    text = "".join([
        _html_head(title, source),
        _summary_html(st, review, len(pictured), report, max_pictures, min_confidence, max_parts,
                      max_dropped_share),
        _ranking_html(review, set(pictured["id_bv"])),
        _pictures_html(st, pictured, outline, addresses, picture_size_in, picture_dpi),
        _left_out_html(len(review), len(pictured), max_pictures),
        "</body>\n</html>\n",
    ])
    _write_text(text, path_or_buffer)
    return text


def _picture_inputs(outline, addresses, communes_layer: str | None = None, addresses_layer: str | None = None):
    """Outlines and addresses for the pictures, each file read once (frames are used as they are)."""
    if outline is not None and not hasattr(outline, "geometry"):
        from .read import read_communes

        outline = read_communes(outline, communes_layer=communes_layer).outlines
    if addresses is not None and isinstance(addresses, (str, os.PathLike)):
        from .read import read_addresses

        addresses = read_addresses(addresses, addresses_layer=addresses_layer)
    return outline, addresses


def _html_head(title: str, source: str | None) -> str:
    """The document's head, the page heading and the tool's version (and the layer's path)."""
    from . import __version__

    e = _esc
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        f"<title>{e(title)}</title>\n<style>\n{_CSS}\n</style>\n</head>\n<body>\n"
        f"<h1>{e(title)}</h1>\n"
        f"<p class=\"muted\">boundaries {e(__version__)}" + (f" · layer {e(source)}" if source else "") + "</p>\n"
    )


def _summary_html(st, review: pd.DataFrame, n_pictured: int, report: dict | None, max_pictures: int,
                  min_confidence: float, max_parts: int, max_dropped_share: float) -> str:
    """The summary table (counts by flag, the report's rows) and how the score is made."""
    e = _esc
    out: list[str] = []

    def srow(label, value):
        out.append(f"<tr><td>{e(label)}</td><td class=\"num\">{e(value)}</td></tr>\n")

    flagged = len(review)
    out.append("<h2>Summary</h2>\n<table class=\"summary\">\n")
    srow("stations in the layer", f"{len(st):,}")
    srow("communes", f"{st['code_commune'].dropna().nunique():,}")
    srow("stations to review", f"{flagged:,}")
    counts = {f: int(review["flags"].str.split(";").apply(lambda fl, f=f: f in fl).sum()) for f in FLAGS}
    labels = {
        "no_polygon": "without polygon",
        "check": "named by a check problem",
        "commune_check": "beside a gap or spill, or in a commune failing a check",
        "low_confidence": f"confidence below {min_confidence:g}",
        "dropped": f"more than {max_dropped_share:.1%} of rows dropped",
        "many_parts": f"in more than {max_parts} part(s)",
    }
    for f in FLAGS:
        srow(f"· {labels[f]} ({f})", f"{counts[f]:,}")
    srow("pictured below", f"{n_pictured:,}" + (f" ({flagged - n_pictured:,} left out, limit {max_pictures})"
                                               if flagged > n_pictured else ""))
    if report:
        srow("address rows read", f"{report.get('rows_read', 0):,}")
        srow("address rows used", f"{report.get('rows_used', 0):,}")
        for reason, k in (report.get("rows_dropped") or {}).items():
            if k:
                srow(f"· rows dropped: {reason.replace('_', ' ')}", f"{k:,}")
    out.append("</table>\n")
    out.append(
        f"<p class=\"muted\">Score: no polygon {POINTS_NO_POLYGON:g}; each kind of check problem naming the station "
        f"{POINTS_CHECK:g}; its commune failing a check {POINTS_COMMUNE_CHECK:g}; confidence below "
        f"{min_confidence:g}: {POINTS_THRESHOLD:g} + 100 × the shortfall; dropped share above "
        f"{max_dropped_share:.1%}: {POINTS_THRESHOLD:g} + 100 × the excess; more than {max_parts} part(s): "
        f"{POINTS_PER_PART:g} per extra part (at most {POINTS_PARTS_MAX:g}). Worst first.</p>\n")
    return "".join(out)


def _ranking_html(review: pd.DataFrame, in_pictures: set) -> str:
    """The ranking table of every flagged station (ids of the pictured ones link to their card)."""
    e = _esc
    if len(review) == 0:
        return "<h2>Ranking</h2>\n<p>No station needs a look.</p>\n"
    out = ["<h2>Ranking</h2>\n<table>\n<tr><th>#</th><th>station</th><th>commune</th><th>score</th>"
           "<th>confidence</th><th>parts</th><th>dropped</th><th>reasons</th></tr>\n"]
    for r in review.itertuples(index=False):
        sid = e(r.id_bv)
        cell = f"<a href=\"#{e(_anchor(r.id_bv))}\">{sid}</a>" if r.id_bv in in_pictures else sid
        commune = e(r.code_commune) + (f" {e(r.nom_commune)}" if r.nom_commune else "")
        dropped = "–" if not np.isfinite(r.dropped_share) else f"{int(r.n_dropped):,} ({r.dropped_share:.1%})"
        out.append(f"<tr><td class=\"num\">{r.rank}</td><td>{cell}</td><td>{commune}</td>"
                   f"<td class=\"num\">{r.score:.1f}</td><td class=\"num\">{_fmt(r.confidence, '.3f')}</td>"
                   f"<td class=\"num\">{_fmt(r.n_parts, '.0f')}</td><td class=\"num\">{e(dropped)}</td>"
                   f"<td>{e(r.reasons)}</td></tr>\n")
    out.append("</table>\n")
    return "".join(out)


def _pictures_html(st, pictured: pd.DataFrame, outline, addresses, size_in: float, dpi: int) -> str:
    """A card per pictured station, its commune's map prepared once for all its stations."""
    from .errors import InputError
    from .preview import prepare_map

    out = ["<h2>Pictures</h2>\n"] if len(pictured) else []
    prepared: dict = {}
    for r in pictured.itertuples(index=False):
        code = r.code_commune
        if code not in prepared:
            try:
                prepared[code] = prepare_map(st, code, addresses=addresses, outline=outline)
            except InputError:
                prepared[code] = None
        out.append(_card_html(r, prepared[code], size_in, dpi))
    return "".join(out)


def _card_html(r, data, size_in: float, dpi: int) -> str:
    """One station's card: its picture (``data`` is its commune's map, or None), figures, flags and reasons."""
    from .preview import draw_map

    e = _esc
    out = [f"<section class=\"card\" id=\"{e(_anchor(r.id_bv))}\">\n"]
    if data is not None:
        png = draw_map(data, highlight=r.id_bv if r.has_polygon else None, zoom=True,
                       size_in=(size_in, size_in), dpi=dpi)
        uri = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
        px = int(round(size_in * dpi))
        alt = f"map of commune {r.code_commune}" + (f", station {r.id_bv} outlined" if r.has_polygon else "")
        out.append(f"<img src=\"{uri}\" width=\"{px}\" height=\"{px}\" alt=\"{e(alt)}\">\n")
    out.append(f"<h3>#{r.rank} {e(r.id_bv)}</h3>\n")
    name = f" {e(r.nom_commune)}" if r.nom_commune else ""
    out.append(f"<p>commune {e(r.code_commune)}{name} · score {r.score:.1f} · confidence {_fmt(r.confidence, '.3f')}"
               f" · parts {_fmt(r.n_parts, '.0f')}</p>\n<p>")
    out.extend(f"<span class=\"flag\">{e(f)}</span>" for f in r.flags.split(";"))
    out.append("</p>\n<ul>\n")
    out.extend(f"<li>{e(reason)}</li>\n" for reason in r.reasons.split("; "))
    out.append("</ul>\n")
    if data is None:
        out.append("<p class=\"muted\">No picture: the layer has no station of this commune.</p>\n")
    elif not r.has_polygon:
        out.append("<p class=\"muted\">The station has no polygon: its whole commune is shown.</p>\n")
    out.append("</section>\n")
    return "".join(out)


def _left_out_html(flagged: int, pictured: int, max_pictures: int) -> str:
    """A note on the flagged stations beyond the picture limit (empty when none)."""
    if flagged <= pictured:
        return ""
    return (f"<p class=\"muted\">{flagged - pictured:,} more flagged station(s) have no picture here "
            f"(limit {max_pictures}); they are in the ranking above.</p>\n")


def _write_text(text: str, path_or_buffer) -> None:
    """Write the page to a path (atomically, UTF-8, ``\\n`` line ends) or a text file; nothing for None."""
    if path_or_buffer is None:
        return
    if isinstance(path_or_buffer, (str, os.PathLike)):
        from .write import atomic_path

        with atomic_path(Path(path_or_buffer), suffix=".html") as tmp:
            with open(tmp, "w", encoding="utf-8", newline="\n") as f:
                f.write(text)
    else:
        path_or_buffer.write(text)
