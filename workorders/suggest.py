"""Free-text routing: from a resident's words ("street light out", "bache", "老鼠") to likely services.

A pure function over the catalogue's names, keywords and descriptions in every shipped language.
Words are matched after folding case and accents; Chinese and other unspaced scripts by character
pairs; a keyword phrase found whole in the text counts most.
"""

import re
import unicodedata
from dataclasses import dataclass

_WORD = re.compile(r"\w+", re.UNICODE)
_UNSPACED = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")
# Words that say nothing about the problem, in the languages residents write most.
_STOP = frozenset(
    "a an the of in on at to is it there my our near by for and or with from this that be are was "
    "el la los las de del en un una y o al es hay mi por con se que "
    "le les des du et une est sur dans pour pa nan ak yon li mwen "
    "o os as do da no na um uma e em para com ha the và là có của ở một những "
    "и в на не с по у это".split()
)
WEIGHTS = {"phrase": 6.0, "name": 3.0, "keyword": 2.5, "description": 1.0}


def fold(text: str) -> str:
    """Lower case without accents (é → e), so 'Árbol caído' meets 'arbol caido'."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _stem(word: str) -> str:
    """Plural to singular, roughly (both sides of a comparison are stemmed alike)."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us")):
        return word[:-1]
    return word


def terms(text: str) -> set[str]:
    """Comparable pieces of a text: stemmed words, plus character pairs of unspaced scripts."""
    folded = fold(text)
    found = {_stem(w) for w in _WORD.findall(folded) if w not in _STOP and (len(w) > 1 or _UNSPACED.match(w))}
    unspaced = "".join(_UNSPACED.findall(folded))
    found.update(unspaced[i:i + 2] for i in range(len(unspaced) - 1))
    found.update(unspaced)
    return found


@dataclass(frozen=True)
class Entry:
    """What a service is called and described as, in every language."""

    code: str
    names: tuple[str, ...]
    keywords: tuple[str, ...]
    descriptions: tuple[str, ...]


def entry_for(service) -> Entry:
    i18n = service.i18n or {}
    texts = [t for t in i18n.values() if isinstance(t, dict)]
    return Entry(
        code=service.code,
        names=(service.name, *(t.get("name", "") for t in texts)),
        keywords=(*service.keywords, *(k for t in texts for k in t.get("keywords", []))),
        descriptions=(service.description, *(t.get("description", "") for t in texts)),
    )


def score(entry: Entry, text: str) -> float:
    words = terms(text)
    if not words:
        return 0.0
    folded = fold(text)
    total = 0.0
    phrases = [fold(k) for k in (*entry.keywords, *entry.names) if len(k) > 2]
    total += WEIGHTS["phrase"] * sum(1 for p in phrases if p in folded)
    for field, texts in (("name", entry.names), ("keyword", entry.keywords), ("description", entry.descriptions)):
        vocabulary = set().union(*(terms(t) for t in texts)) if texts else set()
        total += WEIGHTS[field] * len(words & vocabulary)
    return total


def suggest(entries: list[Entry], text: str, *, limit: int = 5) -> list[tuple[str, float]]:
    """The best (service code, score) pairs for ``text``, best first; empty when nothing matches."""
    scored = [(e.code, score(e, text)) for e in entries]
    ranked = sorted((s for s in scored if s[1] > 0), key=lambda s: (-s[1], s[0]))
    return ranked[:limit]
