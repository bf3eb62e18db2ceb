"""A readable description of a study as designed: groups as dose levels with their regimens,
assumed values flagged (what ``earlyphase study show`` prints)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from earlyphase.capture.checks import cells_text
from earlyphase.protocol import Study


@dataclass(frozen=True)
class StudyDescription:
    study: Study
    source: str
    fingerprint: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        s = self.study
        return {
            "study_id": s.study_id,
            "title": s.title,
            "registry_id": s.registry_id,
            "sponsor": s.sponsor,
            "phase": s.phase,
            "synthetic": s.synthetic,
            "source": self.source,
            "protocol_sha256": self.fingerprint,
            "ctcae_version": s.ctcae_version,
            "ctcae_file": s.ctcae_file,
            "response_criteria": s.response_criteria,
            "dlt_window_days": s.dlt_window_days,
            "enrolment_period": [s.enrolment_start, s.enrolment_end],
            "sites": [site.model_dump() for site in s.sites],
            "levels": [
                {
                    "level": s.level_of(g.code),
                    "group": g.code,
                    "label": g.label,
                    "planned_n": g.planned_n,
                    "product": g.regimen.product,
                    "infusions": g.regimen.infusions,
                    "interval_days": g.regimen.interval_days,
                    "doses_cells": [g.regimen.planned_dose(k) for k in range(1, g.regimen.infusions + 1)],
                    "cumulative_dose_cells": g.regimen.cumulative_dose,
                    "dose_tolerance_percent": g.regimen.dose_tolerance_percent,
                    "interval_window_days": g.regimen.interval_window_days,
                    "dose_source": g.regimen.dose_source,
                    "assumed": g.regimen.dose_source == "assumed",
                    "dose_note": g.regimen.dose_note,
                }
                for g in s.groups
            ],
            "imaging": s.imaging.model_dump(),
            "dose_finding": s.dose_finding.model_dump(),
            "assumptions": list(s.assumptions),
            **self.extra,
        }

    def summary(self) -> str:
        s = self.study
        lines = [f"{s.study_id}: {' '.join(s.title.split())}"]
        if s.synthetic:
            lines.append("  SYNTHETIC DATA: this study's database holds synthetic (made-up) patients")
        lines.append(f"  registry {s.registry_id or '-'} | sponsor {s.sponsor} | phase {s.phase}")
        lines.append(f"  CTCAE v{s.ctcae_version}{' from ' + s.ctcae_file if s.ctcae_file else ' (bundled terms)'}"
                     f" | response {s.response_criteria} | DLT window {s.dlt_window_days} days"
                     f" | imaging every {s.imaging.interval_days} days ({', '.join(s.imaging.modalities)})")
        if s.enrolment_start or s.enrolment_end:
            lines.append(f"  enrolment {s.enrolment_start or '?'} to {s.enrolment_end or '?'}")
        lines.append(f"  sites: {', '.join(f'{x.code} ({x.name})' for x in s.sites)}")
        lines.append(f"  source: {self.source}" + (f"  sha256 {self.fingerprint[:16]}..." if self.fingerprint else ""))
        lines.append("")
        lines.append("  level  group  n   infusions  every  dose per infusion (cells)                        total      source")
        for g in s.groups:
            r = g.regimen
            if r.is_step_up:
                doses = ", ".join(cells_text(d) for d in r.step_doses_cells)
            else:
                doses = f"{cells_text(r.dose_cells)} x {r.infusions}"
            flag = "ASSUMED*" if r.dose_source == "assumed" else r.dose_source
            lines.append(f"  {s.level_of(g.code):>5}  {g.code:<5}  {g.planned_n if g.planned_n is not None else '-':<3} "
                         f"{r.infusions:>9}  {r.interval_days:>3} d  {doses:<48} {cells_text(r.cumulative_dose):<10} {flag}")
        lines.append("  (dose on schedule within ± tolerance %, date within ± window days; groups in order of intensity)")
        notes = [(g.code, g.regimen.dose_note) for g in s.groups if g.regimen.dose_source == "assumed" and g.regimen.dose_note]
        if notes or s.assumptions:
            lines.append("")
            lines.append("  * assumed values (not public; replace before a real analysis):")
            for code, note in notes:
                lines.append(f"    - group {code}: {note}")
            for text in s.assumptions:
                lines.append(f"    - {text}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def describe_study(study: Study, source: str = "", fingerprint: str | None = None) -> StudyDescription:
    return StudyDescription(study=study, source=source, fingerprint=fingerprint)
