"""earlyphase.protocol: the study as designed, loaded from YAML and validated."""

from earlyphase.protocol.loader import bundled_studies, load_study, parse_study, read_study_text, study_fingerprint
from earlyphase.protocol.model import (
    Analysis,
    DoseFinding,
    Endpoint,
    Group,
    ImagingSchedule,
    PfsRules,
    Regimen,
    Site,
    Study,
)

__all__ = [
    "Analysis", "DoseFinding", "Endpoint", "Group", "ImagingSchedule", "PfsRules", "Regimen", "Site", "Study",
    "bundled_studies", "load_study", "parse_study", "read_study_text", "study_fingerprint",
]
