"""Department routing: an ordered rule table applied to what linking found, with the reason in words.

Pure: rules and facts are plain values (workorders/linking.py loads them), so every rule and every
sentence of an explanation is tested without a database. The first active rule whose conditions all
hold decides; a condition left empty matches anything; no match keeps the service's department.
"""

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from gis.matching import AssetMatch, UtilityHit

NORMAL_PRIORITY, TOP_PRIORITY = 3, 1

_UTILITY_NAMES = {"water": "water", "sewer": "sewer", "storm": "storm", "gas": "gas", "electric": "electric",
                  "telecom": "telecom"}


@dataclass(frozen=True)
class Named:
    """A department or service as routing needs it: its id, code and name."""

    id: int
    code: str
    name: str


@dataclass(frozen=True)
class Rule:
    id: int
    name: str
    services: frozenset[str] = frozenset()  # service codes
    asset_types: frozenset[str] = frozenset()  # asset type codes
    utility_kinds: frozenset[str] = frozenset()
    utility_types: frozenset[str] = frozenset()
    utility_within_m: float | None = None
    utility_max_depth_m: float | None = None
    utility_min_age_years: int | None = None
    words: tuple[str, ...] = ()
    districts: frozenset[int] = frozenset()
    hour_from: int | None = None
    hour_to: int | None = None
    weekdays: frozenset[int] = frozenset()
    department: Named | None = None
    reclassify_to: Named | None = None
    priority_bump: int = 0
    _patterns: tuple = field(default=(), compare=False, repr=False)
    _any_word: re.Pattern | None = field(default=None, compare=False, repr=False)
    uses_utilities: bool = field(default=False, compare=False, repr=False)

    def __post_init__(self):
        # Whole words, any case: "sink" must not match "sinking" unless the rule says "sinking".
        patterns = tuple((w, re.compile(rf"(?<!\w){re.escape(w.strip().lower())}(?!\w)")) for w in self.words
                         if w.strip())
        object.__setattr__(self, "_patterns", patterns)
        # One search for "any of the words" first: most descriptions mention none of them.
        object.__setattr__(self, "_any_word", any_word_pattern(self.words))
        object.__setattr__(self, "uses_utilities", bool(self.utility_kinds or self.utility_types) or any(
            v is not None for v in (self.utility_within_m, self.utility_max_depth_m, self.utility_min_age_years)))


def any_word_pattern(words: Sequence[str]) -> re.Pattern | None:
    """Any of the words or phrases, whole, in lower-case text. Shaped for Python's engine: one boundary
    test and a first-letter class before the alternation (longest first), which is 10-20x faster than an
    alternation of separately bounded words on descriptions that mention none of them."""
    words = sorted({w.strip().lower() for w in words if w.strip()}, key=lambda w: (-len(w), w))
    if not words:
        return None
    first = "".join(re.escape(c) for c in sorted({w[0] for w in words}))
    return re.compile(rf"(?<!\w)(?=[{first}])(?:{'|'.join(re.escape(w) for w in words)})(?!\w)")


@dataclass(slots=True)  # not frozen: built per report, and frozen init costs 3x
class Facts:
    """What is known about one report when it is routed."""

    service: Named
    department: Named  # the service's own department
    asset: AssetMatch
    asset_type_names: dict[str, str]
    utilities: Sequence[UtilityHit]
    description: str
    district_id: int | None
    district_name: str | None
    at: dt.datetime  # local time of the report
    priority: int = NORMAL_PRIORITY


@dataclass(slots=True)  # not frozen: built per report, and frozen init costs 3x
class Decision:
    department: Named
    service: Named  # reclassified, or the reported one
    reclassified: bool
    priority: int
    rule_id: int | None
    explanation: str


def _utility_matches(rule: Rule, hit: UtilityHit, year: int) -> bool:
    if rule.utility_kinds and hit.kind not in rule.utility_kinds:
        return False
    if rule.utility_types and hit.type not in rule.utility_types:
        return False
    if rule.utility_within_m is not None and hit.distance_m > rule.utility_within_m:
        return False
    if rule.utility_max_depth_m is not None and (hit.depth_m is None or hit.depth_m > rule.utility_max_depth_m):
        return False
    if rule.utility_min_age_years is not None and (
            hit.install_year is None or year - hit.install_year < rule.utility_min_age_years):
        return False
    return True


def _matches(rule: Rule, facts: Facts, text: str) -> tuple[bool, list[str]]:
    """Whether every condition holds, and the reasons to give (one per condition that mattered)."""
    reasons: list[str] = []
    if rule.services and facts.service.code not in rule.services:
        return False, reasons
    asset = facts.asset.asset
    if rule.asset_types:
        if asset is None or asset.type_code not in rule.asset_types:
            return False, reasons
        reasons.append(f"it is about {_asset_phrase(asset, facts)}")
    if rule.uses_utilities:
        hit = next((h for h in facts.utilities if _utility_matches(rule, h, facts.at.year)), None)
        if hit is None:
            return False, reasons
        reasons.append(f"{utility_phrase(hit)} lies {hit.distance_m:.1f} m from the report")
    if rule._any_word is not None:
        if not rule._any_word.search(text):
            return False, reasons
        said = [word for word, pattern in rule._patterns if pattern.search(text)]
        if not said:
            return False, reasons
        reasons.append("the description mentions " + " and ".join(f"'{w}'" for w in said[:3]))
    if rule.districts:
        if facts.district_id not in rule.districts:
            return False, reasons
        reasons.append(f"it is in {facts.district_name}")
    if rule.hour_from is not None or rule.hour_to is not None:
        if not _in_hours(rule, facts.at):
            return False, reasons
        reasons.append(f"it came in between {rule.hour_from or 0:02d}:00 and {(rule.hour_to or 24) % 24:02d}:00")
    if rule.weekdays:
        if facts.at.isoweekday() not in rule.weekdays:
            return False, reasons
        reasons.append(f"it came in on a {facts.at.strftime('%A')}")
    return True, reasons


def _in_hours(rule: Rule, at: dt.datetime) -> bool:
    start, end = rule.hour_from or 0, rule.hour_to or 24
    return start <= at.hour < end if start < end else at.hour >= start or at.hour < end  # may wrap midnight


def utility_phrase(hit: UtilityHit) -> str:
    """'storm main SM-1043 (1912, brick, 300 mm, 0.8 m deep)': the known facts only."""
    details = [str(hit.install_year) if hit.install_year else "", hit.material.lower() if hit.material else "",
               f"{hit.diameter_mm} mm" if hit.diameter_mm else "",
               f"{hit.depth_m:.1f} m deep" if hit.depth_m is not None else ""]
    known = ", ".join(d for d in details if d)
    kind = _UTILITY_NAMES.get(hit.kind, hit.kind)
    type_name = hit.type.replace("_", " ")
    return f"{kind} {type_name} {hit.external_id}" + (f" ({known})" if known else "")


def _asset_phrase(asset, facts: Facts) -> str:
    name = facts.asset_type_names.get(asset.type_code, asset.type_code).lower()
    return f"{name} {asset.external_id}"


def _asset_sentence(facts: Facts) -> str:
    match = facts.asset
    if match.asset is not None:
        sentence = f"Linked to {_asset_phrase(match.asset, facts)}, {match.asset.distance_m:.1f} m from the report"
        if match.outcome == "named":
            sentence += " (the asset the reporter named)"
        if match.flagged:
            sentence += f"; flagged: {match.note}"
        return sentence + "."
    if match.outcome == "not_applicable":
        return ""
    if match.flagged:
        return f"No asset linked; flagged: {match.note}."
    return f"No asset within {match.radius_m:g} m of the report."


def default_sentence(department: Named, service: Named) -> str:
    return f"Routed to {department.name}, the department for {service.name} reports; no routing rule applied."


def rules_for(service_code: str, rules: Sequence[Rule]) -> list[Rule]:
    """The rules, in order, that can apply to reports of this service (the others are skipped unread)."""
    return [rule for rule in rules if not rule.services or service_code in rule.services]


@dataclass(frozen=True)
class Screen:
    """A cheap early answer for the common report that no rule of a list can route: each rule is refuted
    by one condition known to fail (nothing beneath, none of its words said, another asset type, another
    district, another hour or day). Never says "none" when route() would apply a rule; may say "maybe"
    when it would not (route() then decides)."""

    rules: tuple[Rule, ...]
    words: re.Pattern | None  # any word of any rule: one search rules them all out for most reports
    needs_time: bool

    @classmethod
    def of(cls, rules: Sequence[Rule]) -> "Screen":
        return cls(tuple(rules), any_word_pattern([w for rule in rules for w in rule.words]),
                   any(r.hour_from is not None or r.hour_to is not None or r.weekdays for r in rules))

    def none_apply(self, description: str, *, has_utilities: bool, asset_type: str | None,
                   district_id: int | None, at: dt.datetime | None) -> bool:
        """``asset_type``: of the asset that would be matched, if any; ``at``: local time (if needs_time)."""
        if not self.rules:
            return True
        text = description.lower() if self.words is not None else ""
        said = self.words is not None and self.words.search(text) is not None
        for rule in self.rules:
            if rule.uses_utilities and not has_utilities:
                continue
            if rule._any_word is not None and not (said and rule._any_word.search(text)):
                continue
            if rule.asset_types and asset_type not in rule.asset_types:
                continue
            if rule.districts and district_id not in rule.districts:
                continue
            if (rule.hour_from is not None or rule.hour_to is not None) and not _in_hours(rule, at):
                continue
            if rule.weekdays and at.isoweekday() not in rule.weekdays:
                continue
            return False  # nothing refutes this one: it may apply
        return True


def _listing(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}" if items else ""


def route(facts: Facts, rules: Sequence[Rule]) -> Decision:
    """The first rule (in the given order) whose conditions all hold decides; the explanation says which
    rule, and the facts that made it hold, in a sentence a dispatcher can check."""
    text = facts.description.lower()
    for rule in rules:
        ok, reasons = _matches(rule, facts, text)
        if not ok:
            continue
        department = rule.department or facts.department
        service = rule.reclassify_to or facts.service
        priority = max(TOP_PRIORITY, facts.priority - rule.priority_bump)
        because = _listing(reasons)
        if rule.department is not None:
            parts = [f"Routed to {department.name} by rule '{rule.name}'" + (f": {because}." if because else ".")]
        else:
            parts = [f"Routed to {department.name}, the department for {facts.service.name} reports; rule "
                     f"'{rule.name}' applies" + (f": {because}." if because else ".")]
        if service != facts.service:
            parts.append(f"Reclassified from {facts.service.name} to {service.name}.")
        if priority != facts.priority:
            parts.append(f"Priority raised from {facts.priority} to {priority}.")
        parts.append(_asset_sentence(facts))
        return Decision(department, service, service != facts.service, priority, rule.id,
                        " ".join(p for p in parts if p))
    parts = [default_sentence(facts.department, facts.service), _asset_sentence(facts)]
    if facts.utilities:
        parts.append(f"Beneath: {utility_phrase(facts.utilities[0])}, {facts.utilities[0].distance_m:.1f} m away"
                     + (f", and {len(facts.utilities) - 1} more." if len(facts.utilities) > 1 else "."))
    return Decision(facts.department, facts.service, False, facts.priority, None, " ".join(p for p in parts if p))
