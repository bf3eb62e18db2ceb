"""The error hierarchy every layer raises and every door (CLI, web) turns into a message.

An input error speaks to the person who made it: which field, what value, which rule,
and a sentence a coordinator understands. A check that finds several problems reports
all of them at once, so nobody fixes one thing only to meet the next.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Problem:
    """One failed rule: where (field, and optionally file/row), what value, which rule, and why."""

    field: str
    value: Any
    rule: str
    message: str
    file: str | None = None
    row: int | None = None

    def __str__(self) -> str:
        where = []
        if self.file:
            where.append(str(self.file))
        if self.row is not None:
            where.append(f"row {self.row}")
        where.append(self.field)
        return f"{', '.join(where)} = {_plain(self.value)!r}: {self.message} [{self.rule}]"

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["value"] = _jsonable(self.value)
        return d


def _plain(value: Any) -> Any:
    """numpy scalars as Python values, so a message shows 95.0 and not np.float64(95.0)."""
    if type(value).__module__ == "numpy" and hasattr(value, "item"):
        try:
            return value.item()
        except (TypeError, ValueError):
            return value
    return value


def _jsonable(value: Any) -> Any:
    value = _plain(value)
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


class EarlyPhaseError(Exception):
    """Base of every error earlyphase raises on purpose."""


class InputError(EarlyPhaseError):
    """Bad input from a person or a file: carries one or more problems.

    ``InputError(problems=[...])`` or ``InputError.single(field, value, rule, message)``.
    """

    def __init__(self, problems: list[Problem] | Problem, summary: str | None = None):
        if isinstance(problems, Problem):
            problems = [problems]
        self.problems: list[Problem] = list(problems)
        self.summary = summary or (
            f"{len(self.problems)} problem(s) found" if len(self.problems) != 1 else "1 problem found"
        )
        super().__init__(self.__str__())

    @classmethod
    def single(cls, field: str, value: Any, rule: str, message: str, **where: Any) -> "InputError":
        return cls([Problem(field=field, value=value, rule=rule, message=message, **where)])

    def __str__(self) -> str:
        lines = [self.summary + ":"] + [f"  - {p}" for p in self.problems]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "error": type(self).__name__,
            "summary": self.summary,
            "problems": [p.to_dict() for p in self.problems],
        }


class CheckFailed(InputError):
    """A capture action's edit checks failed; nothing was written."""


class NotFound(InputError):
    """A referenced site, patient, group or record does not exist."""


class Duplicate(InputError):
    """The record already exists."""


class StudyFileError(InputError):
    """A study (protocol) file is invalid; every problem is listed with its path in the file."""


class AuditError(EarlyPhaseError):
    """The audit trail is broken or disagrees with the data tables."""

    def __init__(self, findings: list[str]):
        self.findings = list(findings)
        super().__init__("\n".join(self.findings) or "audit finding")


class ConfigurationError(EarlyPhaseError):
    """The system is set up wrongly (database URL, missing dependency, ...)."""
