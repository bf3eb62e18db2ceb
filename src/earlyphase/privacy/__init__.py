"""earlyphase.privacy: what makes an output de-identified (used by interop's export and by the report).

Pseudonymous ids (``pseudonym``), age bands (``ages``), the free-text scrubber (``scrub``), the
re-identification measure and the small-cell rule (``risk``), private files (``files``). Imports nothing of
ours but ``errors``, so every layer that writes an output may use it.
"""

from earlyphase.privacy.ages import age_band, age_from_birth_year
from earlyphase.privacy.pseudonym import Pseudonymiser, pseudonymiser_from
from earlyphase.privacy.risk import (
    DEFAULT_SMALL_CELL,
    Uniqueness,
    complementary_cells,
    is_small,
    small_cell_rule,
    uniqueness,
)
from earlyphase.privacy.scrub import SCRUBBER, SCRUBBER_LIMITS, KnownIdentifiers, ScrubResult, scrub_text

__all__ = ["DEFAULT_SMALL_CELL", "KnownIdentifiers", "Pseudonymiser", "SCRUBBER", "SCRUBBER_LIMITS", "ScrubResult",
           "Uniqueness", "age_band", "age_from_birth_year", "complementary_cells", "is_small", "pseudonymiser_from", "scrub_text",
           "small_cell_rule", "uniqueness"]
