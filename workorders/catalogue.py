"""The catalogue as residents meet it: texts in their language, and checking answers to a service's questions."""

import datetime as dt
import math
import re
from collections.abc import Iterable
from typing import Any

# Boston's ten languages; catalogue texts fall back to English where a translation is missing.
LOCALES = ("en", "es", "zh-hans", "ht", "pt", "vi", "kea", "ru", "ar", "fr")
_ALIASES = {"zh": "zh-hans", "zh-cn": "zh-hans", "zh-sg": "zh-hans", "zh-hans-cn": "zh-hans", "cv": "kea"}

DESCRIPTION_MAX_CHARS = 4000  # Open311 GeoReport v2, POST description
ANSWER_MAX_CHARS = {"string": 300, "text": 4000}
EXTRA_ANSWER_MAX_CHARS = 300  # unknown attribute[...] keys a client sends along (PR-15)
_HTML = re.compile(r"<\s*/?\s*[a-zA-Z!?]|&(?:[a-zA-Z]+|#\d+);")


class AnswerInvalid(ValueError):
    """A submitted value the service definition does not accept; the message names the attribute."""


def locale_pick(requested: str | None) -> str:
    """The catalogue language for a tag like 'es', 'pt-BR', 'zh-CN' or 'zh-Hans'; 'en' when unknown."""
    if not requested:
        return "en"
    for tag in requested.replace("_", "-").lower().split(","):
        tag = tag.split(";")[0].strip()
        if tag in LOCALES:
            return tag
        if tag in _ALIASES:
            return _ALIASES[tag]
        base = tag.split("-")[0]
        if base in LOCALES:
            return base
        if base in _ALIASES:
            return _ALIASES[base]
    return "en"


def translated(i18n: dict, locale: str, field: str, default: Any) -> Any:
    """``field`` of the ``locale`` entry of an i18n dict, else the English ``default``."""
    if locale == "en":
        return default
    entry = i18n.get(locale) or {}
    value = (entry if field == "name" else None) if isinstance(entry, str) else entry.get(field)  # groups: name only
    return default if value in (None, "", []) else value


def contains_html(text: str) -> bool:
    return bool(_HTML.search(text))


def description_check(text: str) -> str:
    """The description as stored, or AnswerInvalid (Open311: at most 4000 characters, no HTML)."""
    text = text.replace("\r\n", "\n")
    if len(text) > DESCRIPTION_MAX_CHARS:
        raise AnswerInvalid(f"description is {len(text)} characters; the limit is {DESCRIPTION_MAX_CHARS}")
    if contains_html(text):
        raise AnswerInvalid("description must be plain text, not HTML")
    return text


def _number(code: str, raw: str) -> int | float:
    try:
        number = float(raw)
    except ValueError:
        raise AnswerInvalid(f"{code} must be a number, not {raw[:40]!r}") from None
    if not math.isfinite(number):
        raise AnswerInvalid(f"{code} must be a finite number")
    return int(number) if number.is_integer() and abs(number) < 2**53 else number


def _datetime(code: str, raw: str) -> str:
    try:
        moment = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise AnswerInvalid(f"{code} must be a date and time like 2026-05-01T14:30:00-04:00") from None
    return moment.isoformat()


def _text(code: str, raw: str, limit: int) -> str:
    if len(raw) > limit:
        raise AnswerInvalid(f"{code} is longer than {limit} characters")
    if contains_html(raw):
        raise AnswerInvalid(f"{code} must be plain text, not HTML")
    return raw


def _not_one_of(code: str, value: str, keys: set[str]) -> AnswerInvalid:
    return AnswerInvalid(f"{code}: {value[:40]!r} is not one of {', '.join(sorted(keys))}")


def answers_check(attributes: Iterable, submitted: dict[str, list[str]], *, require: bool = True) -> dict[str, Any]:
    """The answers to store, checked against the service's attribute definitions.

    ``submitted`` maps attribute codes to their values (one, or several for attribute[CODE][]).
    Unknown codes are kept as short text (clients add their own ids, PR-15); answers to
    information-only attributes are dropped. ``require=False`` (replayed history, which other
    forms collected) lets required questions go unanswered.
    """
    answers: dict[str, Any] = {}
    known = set()
    for attribute in sorted(attributes, key=lambda a: a.order):
        known.add(attribute.code)
        if not attribute.variable:
            continue
        values = [v.strip() for v in submitted.get(attribute.code, []) if v is not None and v.strip()]
        if not values:
            if attribute.required and require:
                raise AnswerInvalid(f"{attribute.code} required: {attribute.description}")
            continue
        keys = {str(v["key"]) for v in attribute.values or []}
        match attribute.datatype:
            case "multivaluelist":
                unknown = [v for v in values if v not in keys]
                if unknown:
                    raise _not_one_of(attribute.code, unknown[0], keys)
                answers[attribute.code] = list(dict.fromkeys(values))
                continue
            case _ if len(values) > 1:
                raise AnswerInvalid(f"{attribute.code} takes one value, not {len(values)}")
        value = values[0]
        match attribute.datatype:
            case "singlevaluelist":
                if value not in keys:
                    raise _not_one_of(attribute.code, value, keys)
                answers[attribute.code] = value
            case "number":
                answers[attribute.code] = _number(attribute.code, value)
            case "datetime":
                answers[attribute.code] = _datetime(attribute.code, value)
            case "string" | "text":
                answers[attribute.code] = _text(attribute.code, value, ANSWER_MAX_CHARS[attribute.datatype])
    for code, values in submitted.items():
        if code in known or not values:
            continue
        kept = [_text(code, v, EXTRA_ANSWER_MAX_CHARS) for v in values if v]
        if kept:
            answers[code] = kept[0] if len(kept) == 1 else kept
    return answers
