"""Tables of the grades a study's forms derive from recorded signs (e.g. ASTCT CRS and ICANS).

One table per graded form: patients by their highest grade (any, then each grade), per level, and the
number of episodes. Every count links to the form records behind it. The words come from the study file
(the form's label, the grade field's label) and the grading the field names.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from earlyphase.report.tables import _header, group_columns
from earlyphase.report.trace import Cell, TraceTable, count_cell, text

if TYPE_CHECKING:  # pragma: no cover
    from earlyphase.derive import AnalysisDatasets


def graded_form_tables(ds: "AnalysisDatasets") -> list[TraceTable]:
    """One table per form with a derived grade (none when the study has no such form)."""
    from earlyphase.derive.graded import graded_episodes, graded_forms

    forms = graded_forms(ds.study)
    if not forms:
        return []
    episodes = graded_episodes(ds)
    usubjid = dict(zip(ds.adsl["SUBJID"], ds.adsl["USUBJID"]))
    cols = group_columns(ds)
    tables = []
    for g in forms:
        mine = episodes[episodes["FORM"] == g.form]

        def evidence(rows):
            return {usubjid[s]: tuple(f"form_records#{r}" for r in recs)
                    for s, recs in zip(rows["SUBJID"], rows["SRCSEQS"])}

        def line(label, pick):
            cells = []
            for _, adsl in cols:
                rows = mine[mine["SUBJID"].isin(adsl["SUBJID"]) & pick(mine)]
                cells.append(count_cell(evidence(rows), len(adsl)))
            return [text(label)] + cells

        rows = [line("Patients with any episode (grade ≥1)", lambda m: m["MAXGR"] >= 1)]
        top = int(mine["MAXGR"].max()) if len(mine) else 0
        for grade in range(1, max(top, 3) + 1):
            rows.append(line(f"   highest grade {grade}", lambda m, k=grade: m["MAXGR"] == k))
        rows.append(line("Patients with grade ≥3", lambda m: m["MAXGR"] >= 3))
        episode_cells = []
        for _, adsl in cols:
            rows_of = mine[mine["SUBJID"].isin(adsl["SUBJID"])]
            episode_cells.append(Cell(str(int(rows_of["EPISODES"].sum())), evidence(rows_of[rows_of["EPISODES"] > 0])))
        rows.append([text("Episodes recorded")] + episode_cells)
        tables.append(TraceTable(
            f"graded_{g.form}", f"{g.label}: patients by highest grade (safety population)",
            [g.field_label] + _header(cols), rows,
            notes=[f"{g.field_label} is derived by earlyphase from the signs recorded on form {g.form}, by the rules "
                   f"of the bundled form \"{_grading_name(g.grading)}\"; it is never typed in. Each patient counts "
                   "once, at the highest grade of any episode; denominator: safety population."]))
    return tables


def _grading_name(grading: str) -> str:
    from earlyphase.vocab import bundled_form

    return bundled_form(grading).label  # e.g. "... (ASTCT consensus grading)"; the full citation is in the form file
