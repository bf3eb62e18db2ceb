"""All analysis datasets at once, from a database or from source frames."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from earlyphase.derive.adae import derive_adae
from earlyphase.derive.adrs import derive_adrs
from earlyphase.derive.adsl import derive_adsl
from earlyphase.derive.adtte import derive_adtte
from earlyphase.derive.source import SourceData, data_cutoff, read_source

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from earlyphase.protocol import Study

DATASET_NAMES = ("adsl", "adae", "adrs", "adtte")


@dataclass(frozen=True)
class AnalysisDatasets:
    """ADSL, ADAE, ADRS and ADTTE of one study at one data cut-off."""

    study: "Study"
    adsl: "pd.DataFrame"
    adae: "pd.DataFrame"
    adrs: "pd.DataFrame"
    adtte: "pd.DataFrame"
    cutoff: date | None
    cutoff_source: str
    synthetic: bool
    source: SourceData

    def summary(self) -> str:
        lines = [f"Analysis datasets of {self.study.study_id} (data cut-off {self.cutoff}, {self.cutoff_source})"]
        for name in DATASET_NAMES:
            frame = getattr(self, name)
            lines.append(f"  {name.upper():6s} {len(frame):5d} rows  {frame['USUBJID'].nunique() if len(frame) else 0:3d} patients")
        if self.synthetic:
            lines.append("  SYNTHETIC DATA")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "study_id": self.study.study_id,
            "cutoff": self.cutoff.isoformat() if self.cutoff else None,
            "cutoff_source": self.cutoff_source,
            "synthetic": self.synthetic,
            "rows": {name: len(getattr(self, name)) for name in DATASET_NAMES},
        }

    def write_csv(self, directory: str | Path) -> dict[str, Path]:
        """Write adsl.csv, adae.csv, adrs.csv, adtte.csv (dates ISO 8601) into ``directory``."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        paths = {}
        for name in DATASET_NAMES:
            path = directory / f"{name}.csv"
            frame = getattr(self, name).copy()
            for c in frame.columns:
                if str(frame[c].dtype).startswith("datetime64"):
                    has_time = c.endswith("DTM")
                    frame[c] = frame[c].dt.strftime("%Y-%m-%dT%H:%M" if has_time else "%Y-%m-%d")
            frame.to_csv(path, index=False)
            paths[name] = path
        return paths


def derive_from_source(source: SourceData) -> AnalysisDatasets:
    """Derive every analysis dataset from source frames (see each derive_* for the rules)."""
    study, tables = source.study, source.tables
    cutoff, cutoff_source = data_cutoff(study, tables)
    adsl = derive_adsl(tables, study, cutoff)
    adae = derive_adae(tables, adsl, study, cutoff)
    adrs = derive_adrs(tables, adsl, study, cutoff)
    adtte = derive_adtte(adsl, adrs, tables, study, cutoff)
    return AnalysisDatasets(
        study=study, adsl=adsl, adae=adae, adrs=adrs, adtte=adtte, cutoff=cutoff, cutoff_source=cutoff_source,
        synthetic=source.synthetic, source=source,
    )


def derive_datasets(engine: Any) -> AnalysisDatasets:
    """Read a trial database (engine, URL or SQLite path) and derive every analysis dataset."""
    return derive_from_source(read_source(engine))
