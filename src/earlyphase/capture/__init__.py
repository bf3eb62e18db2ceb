"""earlyphase.capture: the only way data gets in.

One function per case-report-form action, each ``action(ctx, ...)`` with a ``CaptureContext``
(session + study + username + today). Every action runs all its edit checks and either raises
``CheckFailed`` listing every problem (and writes nothing) or writes and audits every row.
Study-defined forms go through one generic action, ``record_form``, driven by the study's data
dictionary; the fields a study adds to a core form come in each core action's ``extra``.

Convenient door: ``Trial.open(url, username)`` (or ``initialise(url, study, username)``) with one
method per action, each in its own transaction; ``with trial.batch() as b:`` for many actions in one.
"""

from earlyphase.capture.assessments import LesionInput
from earlyphase.capture.checks import CheckDuplicate, CheckNotFound, Checks, PartialDate
from earlyphase.capture.context import CaptureContext, ctcae_for_study
from earlyphase.capture.corrections import CORRECTABLE, correct_record, delete_record
from earlyphase.capture.decisions import (
    DECISIONS,
    DecisionView,
    OpenLevels,
    dose_decisions,
    fold_decisions,
    open_levels,
    record_dose_decision,
    sign_dose_decision,
)
from earlyphase.capture.extended import record_adverse_event, record_tumour_assessment
from earlyphase.capture.forms import record_form
from earlyphase.capture.meeting_packs import PackView, attach_meeting_pack, freeze_meeting_pack, list_meeting_packs, meeting_pack
from earlyphase.capture.outcomes import record_death, record_follow_up, record_other_therapy, record_protocol_deviation
from earlyphase.capture.patients import allocate_patient, enrol_patient, withdraw_patient
from earlyphase.capture.locks import lock_data, unlock_data
from earlyphase.capture.queries import answer_query, close_query, query_list, raise_query, reopen_query
from earlyphase.capture.signatures import MEANINGS, sign_records, signatures_of
from earlyphase.capture.verification import verifications_of, verify_source
from earlyphase.capture.setup import amend_protocol, initialise, mark_study_synthetic, stored_study
from earlyphase.capture.treatment import record_administration
from earlyphase.capture.trial import ACTIONS, Batch, Trial
from earlyphase.capture.visits import record_form_not_done

__all__ = [
    "ACTIONS", "Batch", "CORRECTABLE", "CaptureContext", "CheckDuplicate", "CheckNotFound", "Checks", "DECISIONS",
    "DecisionView", "LesionInput", "OpenLevels", "PackView", "PartialDate", "Trial", "allocate_patient", "amend_protocol",
    "attach_meeting_pack", "freeze_meeting_pack", "list_meeting_packs", "meeting_pack",
    "answer_query", "close_query", "correct_record", "ctcae_for_study", "delete_record", "dose_decisions",
    "fold_decisions", "enrol_patient", "initialise", "lock_data", "unlock_data", "MEANINGS", "sign_records",
    "signatures_of", "verify_source", "verifications_of", "query_list", "reopen_query", "mark_study_synthetic", "open_levels", "raise_query",
    "record_administration", "record_adverse_event", "record_death", "record_dose_decision", "record_follow_up",
    "record_form", "record_form_not_done", "record_other_therapy", "record_protocol_deviation",
    "record_tumour_assessment", "sign_dose_decision", "stored_study", "withdraw_patient",
]
