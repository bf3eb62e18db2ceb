"""earlyphase.protocol: the study as designed, loaded from YAML and validated.

The models: ``Study`` (a whole study file) with its ``Product`` and dose levels (``Group`` with a
``Regimen`` and ``Schedule``), its data dictionary (``Form``, ``FormField``, ``CoreFormExtension``),
visit schedule (``Visit``), ``Eligibility`` and adverse events of special interest; the expression
language of show-if conditions and form checks (``parse_expression``); and ``compare_studies``, the
rules an amended study file must keep with the data already stored.
"""

from earlyphase.protocol.dosing import DoseLimits, Product, Regimen, Schedule
from earlyphase.protocol.expressions import Expression, ExpressionError, parse_expression
from earlyphase.protocol.forms import (
    CORE_FORMS,
    ENROLMENT_VALUES,
    EXTENSIBLE_CORE_FORMS,
    AdamVariable,
    CoreFormExtension,
    Form,
    FormCheck,
    FormField,
)
from earlyphase.protocol.loader import bundled_studies, load_study, parse_study, read_study_text, study_fingerprint
from earlyphase.protocol.model import (
    Analysis,
    DoseFinding,
    Endpoint,
    Group,
    ImagingSchedule,
    PfsRules,
    Site,
    Study,
)
from earlyphase.protocol.schedule import Criterion, Eligibility, SpecialInterest, Visit, Window

__all__ = [
    "AdamVariable", "Analysis", "CORE_FORMS", "CoreFormExtension", "Criterion", "DoseFinding", "DoseLimits",
    "ENROLMENT_VALUES", "EXTENSIBLE_CORE_FORMS", "Eligibility", "Endpoint", "Expression", "ExpressionError", "Form",
    "FormCheck", "FormField", "Group", "ImagingSchedule", "PfsRules", "Product", "Regimen", "Schedule", "Site",
    "SpecialInterest", "Study", "Visit", "Window", "bundled_studies", "load_study", "parse_expression", "parse_study",
    "read_study_text", "study_fingerprint",
]
