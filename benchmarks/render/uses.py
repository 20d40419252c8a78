"""The profiles-and-crosswalks section of RESULTS.md (issue 20): census counts carried onto stations, two maps.

The section sits between ``USES_START`` and ``USES_END``, so ``--only uses`` replaces it alone.
"""

from __future__ import annotations

USES_START, USES_END = "<!-- uses:start -->", "<!-- uses:end -->"


def uses_lines(uses: dict, env: dict | None = None) -> list[str]:
    """The section; with ``env`` (``--only uses``) a line says when it was measured."""
    from ..experiments.crosswalk import table as crosswalk_table
    from ..experiments.profile import table as profile_table

    L = [USES_START, "## Profiles and crosswalks (issue 20)", ""]
    if env:
        L += [f"Measured alone (`python -m benchmarks.run --only uses`) on {env['date']}, commit {env['commit']}.", ""]
    if uses.get("profile"):
        L += ["### `boundaries profile`: a count known per IRIS carried back onto the Paris 2017 sectors", "",
              "`benchmarks/experiments/profile.py` (seeded): the sectors' true voter counts (`nbr_elect_f`) placed on "
              "points along the streets, summed per IRIS (2013), then profiled back onto the sectors with address "
              "weights and with area weights; *MAE*: mean absolute error per sector against `nbr_elect_f`. The "
              "weighted line is partly built in (the points' weights come from the counts measured): read it as the "
              "method carrying what the weights hold. Then Val-de-Marne's built stations with the Grand Paris IRIS "
              "and the 2016 base-ic (every count column): the time for a whole département.", ""]
        L += profile_table(uses["profile"]).split("\n")
    if uses.get("crosswalk"):
        L += ["", "### `boundaries crosswalk`: Paris 2012 → 2017", "",
              "`benchmarks/experiments/crosswalk.py` (seeded): the official sectors of both years; voters are points "
              "along the streets labelled by the sectors holding them, the truth of who moved where; *misplaced*: "
              "the share of those voters the crosswalk sends to another new sector than the one holding them. The "
              "address-weighted crosswalk uses another draw of street points as the addresses. The 2022 first-round "
              "results are carried back onto the 2012 map.", ""]
        L += crosswalk_table(uses["crosswalk"]).split("\n")
    return L + ["", USES_END]
