"""workorders/routing.py without a database: each condition, rule order, outcomes and the explanation text."""

import datetime as dt
import re

import pytest

from gis.matching import AssetCandidate, AssetMatch, Outcome, UtilityHit
from workorders import routing
from workorders.routing import Facts, Named, Rule, Screen, route, utility_phrase

STREETS = Named(1, "public-works", "Public Works")
WATER = Named(2, "water-sewer", "Water & Sewer")
PARKS = Named(3, "parks", "Parks")
POTHOLE = Named(10, "pothole", "Pothole")
SINKHOLE = Named(11, "sinking-pavement", "Possible sinkhole")
STORM_MAIN = UtilityHit(feature="line", id=5, kind="storm", type="main", external_id="SM-1043", distance_m=1.4,
                        depth_m=0.8, material="Brick", diameter_mm=300, install_year=1912, along_m=16.7, fraction=0.3)
GAS_MAIN = UtilityHit(feature="line", id=6, kind="gas", type="main", external_id="G-7", distance_m=2.0)
MANHOLE = UtilityHit(feature="structure", id=7, kind="sewer", type="manhole", external_id="MH-1", distance_m=0.9)
ROAD = AssetCandidate(99, "road-segment", "R-12", 3.2)
TUESDAY_NOON = dt.datetime(2026, 11, 17, 12, 0)


def facts(description="", utilities=(), asset=ROAD, at=TUESDAY_NOON, district=(None, None), service=POTHOLE):
    match = (AssetMatch(Outcome.MATCHED, asset, 20.0, "nearest within 20 m") if asset
             else AssetMatch(Outcome.NONE_WITHIN, None, 20.0, "no asset within 20 m"))
    return Facts(service=service, department=STREETS, asset=match, asset_type_names={"road-segment": "Road segment"},
                 utilities=list(utilities), description=description, district_id=district[0],
                 district_name=district[1], at=at)


SINKING_OVER_MAIN = Rule(id=1, name="Sinking road over a main", services=frozenset({"pothole"}),
                         utility_kinds=frozenset({"storm", "sewer", "water"}), utility_within_m=3.0,
                         words=("sinking", "sinkhole"), department=WATER, reclassify_to=SINKHOLE, priority_bump=1)


def test_the_issue_example_routes_to_water_with_the_reason_in_words():
    decision = route(facts("The road is SINKING near the drain", [STORM_MAIN]), [SINKING_OVER_MAIN])
    assert (decision.department, decision.service, decision.reclassified, decision.priority, decision.rule_id) == (
        WATER, SINKHOLE, True, 2, 1)
    assert decision.explanation == (
        "Routed to Water & Sewer by rule 'Sinking road over a main': storm main SM-1043 (1912, brick, 300 mm, "
        "0.8 m deep) lies 1.4 m from the report and the description mentions 'sinking'. Reclassified from Pothole "
        "to Possible sinkhole. Priority raised from 3 to 2. Linked to road segment R-12, 3.2 m from the report.")


@pytest.mark.parametrize("case", [
    dict(description="a deep pothole", utilities=[STORM_MAIN]),  # no word
    dict(description="sinking", utilities=[]),  # no utility
    dict(description="sinking", utilities=[GAS_MAIN]),  # wrong kind
    dict(description="sinking", utilities=[UtilityHit(feature="line", id=5, kind="storm", type="main",
                                                      external_id="SM-1", distance_m=3.5)]),  # too far
    dict(description="sinking", utilities=[STORM_MAIN], service=SINKHOLE),  # other service
    dict(description="the sink is broken", utilities=[STORM_MAIN]),  # whole words only
])
def test_any_condition_failing_leaves_the_service_department(case):
    decision = route(facts(**case), [SINKING_OVER_MAIN])
    assert (decision.department, decision.rule_id, decision.priority) == (STREETS, None, 3)
    assert decision.explanation.startswith("Routed to Public Works, the department for")


def test_no_rule_explains_the_default_and_lists_what_lies_beneath():
    decision = route(facts("pothole", [STORM_MAIN, GAS_MAIN]), [])
    assert decision.explanation == (
        "Routed to Public Works, the department for Pothole reports; no routing rule applied. Linked to road "
        "segment R-12, 3.2 m from the report. Beneath: storm main SM-1043 (1912, brick, 300 mm, 0.8 m deep), "
        "1.4 m away, and 1 more.")
    assert route(facts("pothole", asset=None), []).explanation.endswith("No asset within 20 m of the report.")


def test_first_matching_rule_wins():
    broad = Rule(id=2, name="Any pothole to Parks", services=frozenset({"pothole"}), department=PARKS)
    assert route(facts("sinking", [STORM_MAIN]), [SINKING_OVER_MAIN, broad]).rule_id == 1
    assert route(facts("sinking", [STORM_MAIN]), [broad, SINKING_OVER_MAIN]).rule_id == 2


def test_asset_type_condition():
    rule = Rule(id=3, name="Road defects", asset_types=frozenset({"road-segment"}), priority_bump=1)
    decision = route(facts("x"), [rule])
    assert decision.priority == 2 and decision.department == STREETS
    assert decision.explanation.startswith("Routed to Public Works, the department for Pothole reports; rule "
                                           "'Road defects' applies: it is about road segment R-12.")
    assert route(facts("x", asset=None), [rule]).rule_id is None


def test_utility_type_depth_and_age_conditions():
    at_manhole = Rule(id=4, name="At a manhole", utility_types=frozenset({"manhole"}), utility_within_m=1.5,
                      department=WATER)
    assert route(facts("x", [STORM_MAIN, MANHOLE]), [at_manhole]).rule_id == 4
    assert route(facts("x", [STORM_MAIN]), [at_manhole]).rule_id is None  # a main is not a manhole
    shallow_old = Rule(id=5, name="Shallow old main", utility_max_depth_m=1.0, utility_min_age_years=100,
                       department=WATER)
    assert route(facts("x", [STORM_MAIN]), [shallow_old]).rule_id == 5  # 0.8 m deep, laid 1912 (114 years)
    assert route(facts("x", [MANHOLE]), [shallow_old]).rule_id is None  # depth and age unknown: no match
    young = UtilityHit(feature="line", id=8, kind="water", type="main", external_id="W-2", distance_m=1,
                       depth_m=0.5, install_year=1990)
    assert route(facts("x", [young]), [shallow_old]).rule_id is None


def test_district_condition_names_the_area():
    rule = Rule(id=6, name="Back Bay trees", districts=frozenset({42}), department=PARKS)
    decision = route(facts("x", district=(42, "Back Bay")), [rule])
    assert decision.department == PARKS and "it is in Back Bay" in decision.explanation
    assert route(facts("x", district=(7, "Roxbury")), [rule]).rule_id is None


@pytest.mark.parametrize(("hour", "matches"), [(21, False), (22, True), (23, True), (0, True), (5, True), (6, False)])
def test_hours_may_wrap_midnight(hour, matches):
    overnight = Rule(id=7, name="Overnight", hour_from=22, hour_to=6, priority_bump=1)
    at = TUESDAY_NOON.replace(hour=hour)
    assert (route(facts("x", at=at), [overnight]).rule_id == 7) is matches


def test_weekday_condition():
    weekend = Rule(id=8, name="Weekend", weekdays=frozenset({6, 7}), priority_bump=1)
    assert route(facts("x"), [weekend]).rule_id is None  # a Tuesday
    saturday = route(facts("x", at=dt.datetime(2026, 11, 21, 9)), [weekend])
    assert saturday.rule_id == 8 and "it came in on a Saturday" in saturday.explanation


def test_priority_never_goes_above_urgent():
    rule = Rule(id=9, name="Everything urgent", priority_bump=5)
    assert route(facts("x"), [rule]).priority == 1


def test_multi_word_phrases_and_case():
    rule = Rule(id=10, name="Bubbling", words=("water bubbling",), department=WATER)
    assert route(facts("Water  bubbling up"), [rule]).rule_id is None  # the phrase as written
    assert route(facts("I see WATER BUBBLING up"), [rule]).rule_id == 10


def test_utility_phrase_gives_only_known_facts():
    assert utility_phrase(MANHOLE) == "sewer manhole MH-1"
    assert utility_phrase(STORM_MAIN) == "storm main SM-1043 (1912, brick, 300 mm, 0.8 m deep)"


def test_screen_never_contradicts_route():
    """Screen.none_apply may only say True when route() applies no rule, over every combination of
    words, utilities, asset, district and time against rules of each kind, alone and together."""
    worded = Rule(id=1, name="words", words=("sinking", "water bubbling"), department=WATER)
    piped = Rule(id=2, name="pipes", utility_kinds=frozenset({"storm"}), department=WATER)
    typed = Rule(id=3, name="roads", asset_types=frozenset({"road-segment"}), priority_bump=1)
    placed = Rule(id=4, name="Back Bay", districts=frozenset({42}), department=PARKS)
    night = Rule(id=5, name="night", hour_from=22, hour_to=6, department=PARKS)
    weekend = Rule(id=6, name="weekend", weekdays=frozenset({6, 7}), priority_bump=1)
    mixed = Rule(id=7, name="sinking road in Back Bay", words=("sinking",), asset_types=frozenset({"road-segment"}),
                 districts=frozenset({42}), department=WATER)
    rule_sets = [[], [worded], [piped], [typed], [placed], [night], [weekend], [mixed], [worded, piped, typed],
                 [placed, night, weekend, mixed]]
    texts = ("deep hole", "The road is SINKING", "water  bubbling", "sinkingly", "water bubbling!")
    saturday_night = dt.datetime(2026, 11, 21, 23, 30)
    checked = said_none = 0
    for rules in rule_sets:
        screen = Screen.of(rules)
        for text in texts:
            for beneath in ([], [STORM_MAIN]):
                for asset in (ROAD, None):
                    for district in ((None, None), (42, "Back Bay"), (7, "Fenway")):
                        for at in (TUESDAY_NOON, saturday_night):
                            none = screen.none_apply(text, has_utilities=bool(beneath),
                                                     asset_type=asset.type_code if asset else None,
                                                     district_id=district[0], at=at)
                            decided = route(facts(text, beneath, asset, at, district), rules)
                            if none:
                                assert decided.rule_id is None, (rules, text, beneath, asset, district, at)
                            said_none += none
                            checked += 1
    assert 0 < said_none < checked
    assert Screen.of([worded]).none_apply("deep hole", has_utilities=False, asset_type=None, district_id=None,
                                          at=None)  # words alone rule it out: no time needed
    assert not Screen.of([typed]).none_apply("deep hole", has_utilities=False, asset_type="road-segment",
                                             district_id=None, at=None)


def test_any_word_pattern_agrees_with_each_word_bounded_on_its_own():
    words = ("sink", "sinking", "water", "water main", "water main break", "e-scooter", "caved in", "dip")
    texts = ("the sinks", "sink!", "sinking-ish", "watermain", "the water main broke", "water main-break",
             "an e-scooter", "ee-scooter", "it caved  in", "caved in.", "a dip", "dipped", "", "water", "sinkhole")
    pattern = routing.any_word_pattern(words)
    for text in texts:
        each = any(re.search(rf"(?<!\w){re.escape(w)}(?!\w)", text) for w in words)
        assert bool(pattern.search(text)) == each, text
    assert routing.any_word_pattern(["", "  "]) is None
