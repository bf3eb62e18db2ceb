"""The trial's dose-escalation decisions as a listing (one row per decision, in order), seals checked."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from earlyphase.derive.source import SourceData

LISTING_COLUMNS = ["DECNUM", "DECDT", "DECISION", "LEVEL", "GROUP", "CHANGE", "DECIDEDBY", "RATIONALE",
                   "RECOMMENDATION", "SEAL", "SIGNEDBY", "SIGNEDAT"]


def _plain(value: Any) -> Any:
    import pandas as pd

    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    if hasattr(value, "item"):  # numpy scalar
        return value.item()
    return value


def decision_listing(source: "SourceData") -> "pd.DataFrame":
    """DECNUM (the decision's number), DECDT, DECISION, LEVEL (1-based) and GROUP, CHANGE (what it opens or
    closes), DECIDEDBY, RATIONALE, RECOMMENDATION (the design's, beside which it was made), SEAL (sealed /
    unsealed / broken, checked against the content hash), SIGNEDBY, SIGNEDAT (UTC)."""
    import pandas as pd

    from earlyphase.records.seal import seal_status

    frame = source.table("dose_decisions")
    codes = source.study.group_codes
    rows = []
    for record in frame.sort_values(["decision_date", "id"]).to_dict("records"):
        values = {k: _plain(v) for k, v in record.items()}
        group = values.get("group_code")
        if values.get("level_opened"):
            change = f"opens {values['level_opened']}"
        elif values.get("level_closed"):
            change = f"closes {values['level_closed']} and above"
        else:
            change = ""
        rows.append({
            "DECNUM": int(values["id"]), "DECDT": values["decision_date"], "DECISION": values["decision"],
            "LEVEL": codes.index(group) + 1 if group in codes else None, "GROUP": group, "CHANGE": change,
            "DECIDEDBY": values["decided_by"], "RATIONALE": values["rationale"],
            "RECOMMENDATION": values.get("recommendation_text"), "SEAL": seal_status(values),
            "SIGNEDBY": values.get("signed_by"), "SIGNEDAT": values.get("signed_at"),
        })
    # object columns keep None for "not recorded" (pandas would turn it into NaN)
    return pd.DataFrame(rows, columns=LISTING_COLUMNS, dtype=object)
