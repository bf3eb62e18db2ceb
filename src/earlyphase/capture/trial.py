"""The convenient door to capture: ``Trial.open(url, username)``, one method per action.

Each method of ``Trial`` runs in its own transaction. ``with trial.batch() as b:`` runs many
actions in ONE transaction: all are written, or (on any error) none.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any, Callable

from sqlalchemy import Engine

from earlyphase.capture import (corrections, decisions, extended, forms, locks, meeting_packs, outcomes, patients, queries,
                                setup, signatures, treatment, verification, visits)
from earlyphase.capture.context import CaptureContext, ctcae_for_study
from earlyphase.errors import CheckFailed, InputError, Problem
from earlyphase.protocol import Study
from earlyphase.records import transaction
from earlyphase.vocab import CtcaeDictionary

# The case-report-form actions, each ``fn(ctx, ...)``; Batch and Trial expose them as methods.
ACTIONS: dict[str, Callable[..., Any]] = {
    "enrol_patient": patients.enrol_patient,
    "allocate_patient": patients.allocate_patient,
    "withdraw_patient": patients.withdraw_patient,
    "record_administration": treatment.record_administration,
    "record_adverse_event": extended.record_adverse_event,
    "record_tumour_assessment": extended.record_tumour_assessment,
    "record_form": forms.record_form,
    "record_form_not_done": visits.record_form_not_done,
    "record_other_therapy": outcomes.record_other_therapy,
    "record_follow_up": outcomes.record_follow_up,
    "record_death": outcomes.record_death,
    "record_protocol_deviation": outcomes.record_protocol_deviation,
    "correct_record": corrections.correct_record,
    "delete_record": corrections.delete_record,
    "record_dose_decision": decisions.record_dose_decision,
    "sign_dose_decision": decisions.sign_dose_decision,
    "freeze_meeting_pack": meeting_packs.freeze_meeting_pack,
    "attach_meeting_pack": meeting_packs.attach_meeting_pack,
    "raise_query": queries.raise_query,
    "answer_query": queries.answer_query,
    "close_query": queries.close_query,
    "reopen_query": queries.reopen_query,
    "lock_data": locks.lock_data,
    "unlock_data": locks.unlock_data,
    "verify_source": verification.verify_source,
    "sign_records": signatures.sign_records,
    "mark_study_synthetic": setup.mark_study_synthetic,
    "amend_protocol": setup.amend_protocol,
}


class Batch:
    """Actions sharing one context (one transaction). Obtained from ``Trial.batch()``."""

    def __init__(self, context: CaptureContext):
        self.context = context

    @property
    def session(self):
        return self.context.session


class Trial:
    """A trial database with its study: the facade over the capture actions."""

    def __init__(self, engine: Engine, study: Study, username: str, *, today: date | None = None,
                 base_dir: str | Path | None = None, protocol_version: int = 1):
        self.engine = engine
        self.study = study
        self.username = username
        self.protocol_version = protocol_version
        self._today = today
        self._base_dir = base_dir
        self.ctcae: CtcaeDictionary = ctcae_for_study(study, base_dir)

    @classmethod
    def open(cls, target: str | Path | Engine, username: str, *, today: date | None = None) -> "Trial":
        """Open an initialised database (URL, SQLite path or Engine) with the study stored in it."""
        from earlyphase.capture.setup import _engine, stored_study

        from earlyphase.capture.context import study_base_dir

        engine = _engine(target, must_exist=True)
        study, record = stored_study(engine)
        return cls(engine, study, username, today=today, base_dir=study_base_dir(record.source),
                   protocol_version=record.protocol_version)

    @property
    def today(self) -> date:
        """The date actions check against (fixed if given, else the calendar date of each call)."""
        return self._today or date.today()

    def context(self, session) -> CaptureContext:
        return CaptureContext(session=session, study=self.study, username=self.username, today=self.today,
                              ctcae=self.ctcae, protocol_version=self.protocol_version)

    def _follow(self, ctx: CaptureContext) -> None:
        """After an amendment: the new protocol version is the one in force for this Trial too."""
        if ctx.protocol_version != self.protocol_version or ctx.study is not self.study:
            self.study, self.protocol_version = ctx.study, ctx.protocol_version
            self.ctcae = ctcae_for_study(self.study, self._base_dir)

    @contextmanager
    def batch(self) -> Iterator[Batch]:
        """Run many actions in one transaction: committed together at the end, or none on error."""
        from sqlalchemy.exc import IntegrityError

        try:
            with transaction(self.engine) as session:
                batch = Batch(self.context(session))
                yield batch
            self._follow(batch.context)
        except IntegrityError as exc:
            # Checks passed but the database refused: someone else wrote the same record at the same time.
            raise CheckFailed([Problem(
                field="(record)", value=type(exc.orig).__name__ if exc.orig is not None else None,
                rule="database-constraint",
                message="the database refused the change (another user wrote the same record at the same "
                        f"time?); nothing was written. Detail: {str(exc.orig).splitlines()[0] if exc.orig else exc}",
            )]) from exc

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> "Trial":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _as_method(fn: Callable[..., Any], method: Callable[..., Any]) -> Callable[..., Any]:
    # help() and IDEs show the action's own signature, with ``self`` in place of the context.
    functools.update_wrapper(method, fn)
    signature = inspect.signature(fn)
    own = list(signature.parameters.values())[1:]
    method.__signature__ = signature.replace(
        parameters=[inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD), *own])
    del method.__wrapped__
    return method


@contextmanager
def _argument_door(name: str) -> Iterator[None]:
    """The last line behind each action's own checks, for callers of the Python API.

    Each action checks its fields and names the one at fault; an argument of a type no check expected (a
    list where a date belongs, an object, an integer too large for Python's date) can still make Python
    object first. That becomes an ``InputError`` naming the action, raised inside the transaction so nothing
    is written; the original stays chained (``__cause__``) for whoever debugs it.
    """
    try:
        yield
    except (TypeError, ValueError, OverflowError, AttributeError) as exc:
        raise InputError.single(
            "arguments", f"{type(exc).__name__}: {exc}"[:200], "argument-types",
            f"{name}: an argument has the wrong type or an impossible value ({str(exc)[:160]}); nothing was "
            f"written; see help(Trial.{name}) for what each takes.") from exc


def _batch_method(fn: Callable[..., Any]) -> Callable[..., Any]:
    def method(self: Batch, *args: Any, **kwargs: Any) -> Any:
        with _argument_door(fn.__name__):
            return fn(self.context, *args, **kwargs)

    return _as_method(fn, method)


def _trial_method(fn: Callable[..., Any]) -> Callable[..., Any]:
    def method(self: Trial, *args: Any, **kwargs: Any) -> Any:
        with self.batch() as b, _argument_door(fn.__name__):
            return fn(b.context, *args, **kwargs)

    return _as_method(fn, method)


for _name, _fn in ACTIONS.items():
    setattr(Batch, _name, _batch_method(_fn))
    setattr(Trial, _name, _trial_method(_fn))
