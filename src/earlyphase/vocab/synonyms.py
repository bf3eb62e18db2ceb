"""Suggest CTCAE terms for what someone typed: synonyms and abbreviations first, then spelling.

The synonyms and the British -> American spellings are data (``ctcae_synonyms.yaml``). For a typed
text the suggestions come in this order, without repeats:

1. the term the text names once British spellings are made American (``Diarrhoea`` -> Diarrhea);
2. a synonym equal to the text, ignoring case, hyphens and word order (``Pyrexia`` -> Fever,
   ``low platelets`` -> Platelet count decreased);
3. synonyms and term names all of whose words appear in the text, longest first (``raised ALT`` and
   ``ALT elevated`` -> Alanine aminotransferase increased);
4. the closest spellings among term names and synonyms (``Fevre`` -> Fever); only very close ones
   once an earlier step has found a term.

Suggestions only help a person choose; capture records CTCAE's own term and never a synonym.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from earlyphase.vocab.ctcae import CtcaeDictionary

SPELLING_CUTOFF = 0.6  # difflib ratio below which a spelling is too far to suggest
# Once a synonym or the words of a term have matched, only near-identical spellings are added: a
# far one ("Pyrexia" -> Anorexia) would only distract from the right answer.
SPELLING_CUTOFF_AFTER_MATCH = 0.8


@dataclass(frozen=True)
class SynonymTable:
    """Synonyms (normalised text -> CTCAE v5.0 term names) and spelling fragments (British -> American)."""

    synonyms: dict[str, tuple[str, ...]]
    spellings: tuple[tuple[str, str], ...]

    def americanise(self, text: str) -> str:
        """``text`` (normalised) with British spelling fragments replaced, word by word."""
        words = []
        for word in text.split(" "):
            for british, american in self.spellings:
                word = word.replace(british, american)
            words.append(word)
        return " ".join(words)


@lru_cache(maxsize=1)
def synonym_table() -> SynonymTable:
    """The bundled synonyms and spellings (``ctcae_synonyms.yaml``)."""
    import yaml

    data = yaml.safe_load((resources.files("earlyphase.vocab") / "ctcae_synonyms.yaml").read_text(encoding="utf-8"))
    synonyms: dict[str, list[str]] = {}
    for term, words in (data.get("synonyms") or {}).items():
        for word in words or ():
            synonyms.setdefault(normalise(str(word)), []).append(str(term))
    spellings = sorted(((str(b).casefold(), str(a).casefold()) for b, a in (data.get("spellings") or {}).items()),
                       key=lambda pair: -len(pair[0]))
    table = SynonymTable({k: tuple(dict.fromkeys(v)) for k, v in synonyms.items()}, tuple(spellings))
    # synonyms are matched after spelling is made American, so store them that way as well
    return SynonymTable({table.americanise(k): v for k, v in table.synonyms.items()}, table.spellings)


def normalise(text: str) -> str:
    """Lower case; hyphens, slashes and punctuation as spaces; single spaces."""
    text = text.replace("\xa0", " ").casefold()
    text = re.sub(r"[\-\u2010-\u2015/,;:()\[\]'\"._]+", " ", text)
    return re.sub(r"\s+", " ", text).strip()


def _words(text: str) -> frozenset[str]:
    return frozenset(w for w in text.split(" ") if w)


def suggest_terms(dictionary: "CtcaeDictionary", typed: str, n: int = 3) -> list[str]:
    """Up to ``n`` term names of ``dictionary`` for ``typed`` (module docstring for the order)."""
    if n <= 0 or not isinstance(typed, str):
        return []
    table = synonym_table()
    text = table.americanise(normalise(typed))
    if not text:
        return []
    names = {table.americanise(normalise(t.term)): t.term for t in dictionary}
    out: list[str] = []

    def add(*terms: str) -> None:
        for term in terms:
            if term in dictionary and dictionary.lookup(term).term not in out:
                out.append(dictionary.lookup(term).term)

    words = _words(text)
    # 1. the text itself, once American (and in any word order)
    add(*(name for key, name in names.items() if key == text or _words(key) == words))
    # 2. a synonym equal to the text (any word order)
    for key, terms in table.synonyms.items():
        if key == text or _words(key) == words:
            add(*terms)
    # 3. synonyms and term names whose words all appear in the text, the longest (most specific) first
    contained = [(len(_words(key)), terms) for key, terms in table.synonyms.items() if _words(key) <= words]
    contained += [(len(_words(key)), (name,)) for key, name in names.items() if _words(key) <= words]
    for _, terms in sorted(contained, key=lambda c: -c[0]):
        add(*terms)
    # 4. spelling: the closest term names and synonyms
    candidates = {**{k: (v,) for k, v in names.items()}, **table.synonyms}
    cutoff = SPELLING_CUTOFF_AFTER_MATCH if out else SPELLING_CUTOFF
    for key in difflib.get_close_matches(text, list(candidates), n=max(n, 5), cutoff=cutoff):
        add(*candidates[key])
    return out[:n]
