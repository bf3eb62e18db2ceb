"""earlyphase.derive: analysis datasets (CDISC ADaM shape) and read models from the trial database.

Also: the study's forms as typed frames (``form_frame``), and the expected-forms ledger of the visit
schedule (``expected_forms``, ``ledger_from_database``).

ADSL (patients), ADAE (adverse events), ADRS (tumour response), ADTTE (PFS, OS) as pandas
DataFrames; every derivation is a function of the source tables as DataFrames, so it can be
tested on a few hand-made rows. Durations are derived here once: days, and months = days /
``analysis.days_per_month`` (30.4375).
"""

from earlyphase.derive.adae import derive_adae, is_related, term_labels
from earlyphase.derive.adrs import best_overall_response, derive_adrs, visit_response
from earlyphase.derive.response import BEST_RESPONSE_ORDER, DISEASE_CONTROL, OBJECTIVE_RESPONSES
from earlyphase.derive.adsl import derive_adsl
from earlyphase.derive.adtte import (
    OS_CENSORS,
    OS_EVENTS,
    PFS_CENSORS,
    PFS_EVENTS,
    PFS_RULES,
    PfsContext,
    TteSource,
    derive_adtte,
    derive_os,
    derive_param_tte,
    derive_pfs,
)
from earlyphase.derive.dates import impute_end, impute_start, parse_partial
from earlyphase.derive.datasets import AnalysisDatasets, derive_datasets, derive_from_source
from earlyphase.derive.forms import baseline_values, extension_frame, form_frame
from earlyphase.derive.graded import GradedForm, graded_episodes, graded_forms
from earlyphase.derive.ledger import Ledger, LedgerEntry, expected_forms, ledger_from_database
from earlyphase.derive.source import SourceData, data_cutoff, read_source, source_frame

__all__ = [
    "GradedForm", "Ledger", "LedgerEntry", "baseline_values", "graded_episodes", "graded_forms", "expected_forms", "extension_frame", "form_frame",
    "ledger_from_database",
    "AnalysisDatasets", "OS_CENSORS", "OS_EVENTS", "PFS_CENSORS", "PFS_EVENTS", "PFS_RULES", "PfsContext", "SourceData", "TteSource",
    "best_overall_response", "data_cutoff", "derive_adae", "derive_adrs", "derive_adsl", "derive_adtte",
    "derive_datasets", "derive_from_source", "derive_os", "derive_param_tte", "derive_pfs", "impute_end",
    "impute_start", "is_related", "parse_partial", "read_source", "source_frame", "term_labels", "visit_response",
    "BEST_RESPONSE_ORDER", "DISEASE_CONTROL", "OBJECTIVE_RESPONSES",
]
