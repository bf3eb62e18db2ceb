"""A readable description of a study as designed: the product, the dose levels with their regimens,
forms, visits and eligibility criteria, assumed values flagged (what ``earlyphase study show`` prints)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from earlyphase.capture.treatment import dose_text
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
            "product": s.product.model_dump(),
            "levels": [
                {
                    "level": s.level_of(g.code),
                    "group": g.code,
                    "label": g.label,
                    "planned_n": g.planned_n,
                    "dose": g.regimen.dose,
                    "dose_unit": s.product.dose_unit,
                    "route": g.regimen.route or s.product.route,
                    "schedule": g.regimen.schedule.model_dump(exclude_none=True),
                    "schedule_text": g.regimen.schedule.describe(),
                    "administrations": g.regimen.administrations,
                    "step_up_doses": g.regimen.step_up_doses,
                    "doses": ([g.regimen.planned_dose(k) for k in range(1, g.regimen.administrations + 1)]
                              if g.regimen.administrations is not None else None),
                    "dose_reductions": g.regimen.dose_reductions,
                    "cumulative_dose": g.regimen.cumulative_dose,
                    "dose_tolerance_percent": g.regimen.dose_tolerance_percent,
                    "interval_window_days": g.regimen.interval_window_days,
                    "dose_source": g.regimen.dose_source,
                    "assumed": g.regimen.dose_source == "assumed",
                    "dose_note": g.regimen.dose_note,
                }
                for g in s.groups
            ],
            "forms": [{"name": f.name, "label": f.label, "repeating": f.repeating,
                       "fields": [x.name for x in f.fields]} for f in s.forms],
            "core_forms": {k: [x.name for x in v.fields] for k, v in s.core_forms.items()},
            "visits": [v.model_dump() for v in s.visits],
            "eligibility": s.eligibility.model_dump(),
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
        p = s.product
        lines.append(f"  product: {p.name}; dose in {p.dose_unit} per {p.noun}, route {p.route}")
        lines.append(f"  {'level':>5}  {'group':<5}  {'n':<3} {'schedule':<44} {'dose per ' + p.noun + ' (' + p.dose_unit + ')':<34} "
                     f"{'total':<10} source")
        for g in s.groups:
            r = g.regimen
            flag = "ASSUMED*" if r.dose_source == "assumed" else r.dose_source
            total = dose_text(r.cumulative_dose) if r.cumulative_dose is not None else "open"
            lines.append(f"  {s.level_of(g.code):>5}  {g.code:<5}  {g.planned_n if g.planned_n is not None else '-':<3} "
                         f"{r.schedule.describe():<44} {r.doses_text(dose_text):<34} {total:<10} {flag}")
            if r.dose_reductions:
                lines.append(f"{'':>18}planned reductions: {', '.join(dose_text(d) for d in r.dose_reductions)}")
        lines.append("  (dose on schedule within ± tolerance %, date within ± window days; levels in escalation order)")
        if s.eligibility.criteria:
            lines.append("")
            lines.append("  eligibility: " + "; ".join(f"{c.code} {c.text}" for _, c in s.eligibility.criteria))
        if s.forms or s.core_forms:
            lines.append("")
            for f in s.forms:
                lines.append(f"  form {f.name}{' (repeating)' if f.repeating else ''}: {', '.join(f.field_names)}")
            for core, ext in s.core_forms.items():
                lines.append(f"  added to core form {core}: {', '.join(ext.field_names)}")
        if s.visits:
            lines.append("")
            for v in s.visits:
                when = f"{v.anchor} {'+' if v.offset_days >= 0 else ''}{v.offset_days} d"
                again = f", every {v.repeat_every_days} d" if v.repeat_every_days else ""
                lines.append(f"  visit {v.code} ({v.label}): {when} (-{v.window.before}/+{v.window.after}){again}: "
                             f"{', '.join(v.forms)}")
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
