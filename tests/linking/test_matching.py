"""gis/matching.py without a database: nearest asset, ties, named assets, utilities per kind."""

import itertools

import pytest

from gis.matching import AssetCandidate, Outcome, UtilityHit, asset_choose, nearest_asset, utilities_beneath

LAMP_A = AssetCandidate(1, "streetlight", "L-100", 4.20)
LAMP_B = AssetCandidate(2, "streetlight", "L-099", 4.23)  # 3 cm farther: a near-tie with LAMP_A
POLE = AssetCandidate(3, "utility-pole", "P-001", 4.21)
FAR = AssetCandidate(4, "streetlight", "L-200", 31.0)


def test_nearest_within_the_radius_wins():
    assert nearest_asset([FAR, AssetCandidate(5, "streetlight", "L-5", 9.0)], radius_m=30).external_id == "L-5"


def test_nothing_within_the_radius():
    assert nearest_asset([FAR], radius_m=30) is None


def test_near_ties_are_broken_by_type_preference_then_external_id_in_any_input_order():
    for order in itertools.permutations([LAMP_A, LAMP_B, POLE]):
        # Within 5 cm of each other all three tie; the service lists poles first, so the pole wins.
        assert nearest_asset(order, radius_m=30, type_preference=["utility-pole", "streetlight"]) == POLE
        # Lamps preferred: of the two tied lamps the smaller external id wins, not the 3 cm nearer one.
        assert nearest_asset(order, radius_m=30, type_preference=["streetlight", "utility-pole"]) == LAMP_B


def test_a_clear_winner_is_not_a_tie():
    nearer = AssetCandidate(6, "streetlight", "Z-1", 4.0)  # 20 cm nearer than LAMP_A: no tie
    assert nearest_asset([LAMP_A, nearer, LAMP_B], radius_m=30, type_preference=["streetlight"]) == nearer


def test_matched_and_none_within():
    match = asset_choose(candidates=[LAMP_A, FAR], radius_m=30, type_preference=["streetlight"])
    assert (match.outcome, match.asset, match.radius_m, match.flagged) == (Outcome.MATCHED, LAMP_A, 30, False)
    none = asset_choose(candidates=[FAR], radius_m=30, type_preference=["streetlight"])
    assert (none.outcome, none.asset, none.note) == (Outcome.NONE_WITHIN, None, "no asset within 30 m")


def test_named_asset_close_enough_wins_over_a_nearer_one():
    named = AssetCandidate(7, "streetlight", "L-300", 12.0)
    match = asset_choose(candidates=[LAMP_A], radius_m=30, type_preference=["streetlight"], claim="L-300",
                         claimed=named, claim_max_m=50)
    assert (match.outcome, match.asset, match.flagged) == (Outcome.NAMED, named, False)


def test_named_asset_too_far_is_flagged_and_the_nearest_used():
    named = AssetCandidate(7, "streetlight", "L-300", 412.0)
    match = asset_choose(candidates=[LAMP_A], radius_m=30, type_preference=["streetlight"], claim="L-300",
                         claimed=named, claim_max_m=50)
    assert (match.outcome, match.asset, match.flagged) == (Outcome.NAMED_FAR, LAMP_A, True)
    assert match.note == "the named asset 'L-300' lies 412 m away, more than 50 m; nearest L-100 used instead"


def test_unknown_named_asset_is_flagged():
    match = asset_choose(candidates=[], radius_m=30, type_preference=["streetlight"], claim="nope", claimed=None)
    assert (match.outcome, match.asset, match.flagged) == (Outcome.NAMED_UNKNOWN, None, True)
    assert match.note == "the named asset 'nope' is unknown"


def test_no_location_or_no_asset_types():
    assert asset_choose(candidates=[], radius_m=0, type_preference=[]).outcome == Outcome.NOT_APPLICABLE
    assert asset_choose(candidates=[], radius_m=30, type_preference=["streetlight"],
                        has_location=False).outcome == Outcome.NOT_APPLICABLE
    named = AssetCandidate(7, "streetlight", "L-300", float("inf"))
    match = asset_choose(candidates=[], radius_m=30, type_preference=["streetlight"], has_location=False,
                         claim="L-300", claimed=named)
    assert (match.outcome, match.asset) == (Outcome.NAMED, named)  # no place to check it against


def _hit(kind, distance, external_id="x", feature="line"):
    return UtilityHit(feature=feature, id=hash(external_id) % 1000, kind=kind, type="main", external_id=external_id,
                      distance_m=distance)


def test_utilities_kept_within_their_kinds_buffer_nearest_first():
    hits = [_hit("gas", 4.0, "G1"), _hit("gas", 6.0, "G2"), _hit("water", 9.5, "W1"), _hit("telecom", 1.0, "T1"),
            _hit("storm", 2.0, "S1", "structure")]
    kept = utilities_beneath(hits, buffer_m={"gas": 5.0, "water": 10.0, "storm": 10.0})
    assert [h.external_id for h in kept] == ["S1", "G1", "W1"]  # G2 beyond 5 m; telecom not looked for


@pytest.mark.parametrize("distance", [0.0, 10.0])
def test_utility_buffer_is_inclusive(distance):
    assert utilities_beneath([_hit("water", distance)], buffer_m={"water": 10.0})
