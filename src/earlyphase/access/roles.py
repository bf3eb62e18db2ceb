"""Roles and what each may do: the one permission table every door asks.

A role is granted to a user at one site (or at every site, for roles whose work spans the study).
Anything not listed here is refused: access is denied by default.
"""

from __future__ import annotations

ROLES = (
    "investigator",     # signs casebooks and dose-escalation decisions
    "coordinator",      # enters data
    "data_manager",     # queries, locks
    "monitor",          # source-data verification, raises queries, reads
    "safety_reviewer",  # the dose-escalation committee
    "statistician",     # de-identified data and analyses
    "sponsor",          # aggregates only
    "admin",            # users and sites, never patient data
)

# Roles whose actions bind the trial (signatures): they must have a second factor to log in.
SIGNING_ROLES = frozenset({"investigator"})

# action -> the roles allowed to take it. Read as a table: one row per action.
PERMISSIONS: dict[str, frozenset[str]] = {
    "view_subjects":      frozenset({"investigator", "coordinator", "data_manager", "monitor", "safety_reviewer"}),
    "enter_data":         frozenset({"investigator", "coordinator"}),
    "correct_data":       frozenset({"investigator", "coordinator", "data_manager"}),
    "raise_query":        frozenset({"data_manager", "monitor"}),
    "answer_query":       frozenset({"investigator", "coordinator"}),
    "view_queries":       frozenset({"investigator", "coordinator", "data_manager", "monitor"}),
    "close_query":        frozenset({"data_manager", "monitor"}),
    "verify_source":      frozenset({"monitor"}),
    "sign":               frozenset({"investigator"}),
    "lock":               frozenset({"data_manager"}),
    "review_escalation":  frozenset({"investigator", "safety_reviewer", "statistician"}),
    "record_escalation":  frozenset({"safety_reviewer", "investigator"}),  # the committee records, freezes packs
    "decide_escalation":  frozenset({"investigator"}),
    "view_deidentified":  frozenset({"statistician", "data_manager"}),
    "view_aggregates":    frozenset({"sponsor", "statistician", "data_manager", "safety_reviewer", "investigator"}),
    "report_identified":  frozenset({"data_manager"}),  # a report with names and dates, asked for with a reason
    "manage_users":       frozenset({"admin"}),
}

ACTIONS = tuple(PERMISSIONS)


def role_may(role: str, action: str) -> bool:
    """Whether ``role`` may take ``action`` (False for an unknown role or action: denied by default)."""
    return role in PERMISSIONS.get(action, frozenset())
