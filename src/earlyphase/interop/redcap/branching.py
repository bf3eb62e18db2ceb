"""Branching logic: REDCap's "show the field only if" text and our show-if conditions, both ways.

REDCap writes ``[sex] = "0" and [given_birth] = "1"``, tests a checkbox code with ``[meds(2)] = '1'``, and
reaches other events with ``[event][field]``. Our conditions (:mod:`earlyphase.protocol.expressions`)
accept ``[field]`` and REDCap's quoting as they are; a checkbox test becomes ``meds contains '2'`` and a
yes/no test ``given_birth = true``. What has no equivalent (another event, REDCap's functions such as
``datediff``) is refused with the reason, never guessed.
"""

from __future__ import annotations

import re

from earlyphase.protocol.expressions import ExpressionError, parse_expression

_CHECKBOX_TEST = re.compile(r"\[([a-z][a-z0-9_]*)\(([^)\]]*)\)\]\s*(=|==|<>|!=)\s*(['\"]?)([01])\4")
_YESNO_TEST = re.compile(r"\[([a-z][a-z0-9_]*)\]\s*(=|==|<>|!=)\s*(['\"]?)([01])\3(?![0-9.])")
_EVENT_FIELD = re.compile(r"\[[a-z][a-z0-9_]*\]\s*\[[a-z][a-z0-9_]*")
_FUNCTION = re.compile(r"\b([a-z_]+)\s*\(")
_OPERATORS = {"&&": " and ", "||": " or "}


class BranchingError(ValueError):
    """Branching logic that cannot become a show-if condition (the message says why)."""


def from_redcap(logic: str, types: dict[str, str], rename: dict[str, str] | None = None) -> str:
    """Our show-if text for REDCap ``logic``; ``types`` maps each REDCap variable to its field type and
    ``rename`` REDCap variables to our field names (when they differ). ``BranchingError`` says why not."""
    rename = rename or {}
    text = " ".join(logic.split())
    if _EVENT_FIELD.search(text):
        raise BranchingError("it reads a field of another event ([event][field]); a show-if reads the form's "
                             "own fields")
    for symbol, word in _OPERATORS.items():
        text = text.replace(symbol, word)

    def checkbox(m: re.Match) -> str:
        name, code, op, _, bit = m.groups()
        if types.get(name) != "checkbox":
            raise BranchingError(f"[{name}({code})] tests a checkbox code but {name} is not a checkbox field")
        positive = (op in ("=", "==")) == (bit == "1")
        test = f"{rename.get(name, name)} contains '{code}'"
        return f"({test})" if positive else f"(not ({test}))"

    text = _CHECKBOX_TEST.sub(checkbox, text)

    def yesno(m: re.Match) -> str:
        name, op, _, bit = m.groups()
        if types.get(name) != "yesno":
            return m.group(0)
        return f"[{rename.get(name, name)}] {'=' if op in ('=', '==') else '!='} {'true' if bit == '1' else 'false'}"

    text = _YESNO_TEST.sub(yesno, text)
    for m in _FUNCTION.finditer(text):
        if m.group(1) not in ("and", "or", "not"):
            raise BranchingError(f"REDCap's function {m.group(1)}() has no show-if equivalent")
    for name in re.findall(r"\[([^\]]*)\]", text):
        if name not in types and name not in rename.values():
            raise BranchingError(f"it reads [{name}], which is not a field of the dictionary")
    text = re.sub(r"\[([a-z][a-z0-9_]*)\]", lambda m: f"[{rename.get(m.group(1), m.group(1))}]", text)
    try:
        parse_expression(text)
    except ExpressionError as exc:
        raise BranchingError(f"it does not parse: {exc}") from None
    return text


def to_redcap(show_if: str, variable_of: dict[str, str]) -> str:
    """REDCap branching logic of our ``show_if``; ``variable_of`` maps our field names to REDCap variables
    (``[event][variable]`` for a value held in another event). ValueError when there is no equivalent."""
    text = parse_expression(show_if).to_redcap()

    def name(m: re.Match) -> str:
        field, code = m.group(1), m.group(2)
        if field not in variable_of:
            raise ValueError(f"{field} has no REDCap variable")
        target = variable_of[field]
        if code is not None:
            return f"[{target}({code})]"
        return target if target.startswith("[") else f"[{target}]"

    return re.sub(r"\[([a-z][a-z0-9_]*)(?:\(([^)]*)\))?\]", name, text)
