"""Which asset a report is about, and which utilities lie beneath it: pure policy over spatial candidates.

The candidates come from gis/spatial/linking.py (PostGIS KNN for one report, set-based for a batch);
nothing here touches the database, so the rules are tested on their own.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

# Two assets whose distances differ by less than this are a tie: survey data is not more exact, and
# the database's floating-point distances must not decide which of two equal lamps wins.
NEAR_TIE_M = 0.05


class Outcome:
    MATCHED = "matched"
    NAMED = "named"
    NAMED_FAR = "named_far"
    NAMED_UNKNOWN = "named_unknown"
    NONE_WITHIN = "none_within"
    NOT_APPLICABLE = "not_applicable"


@dataclass(slots=True)  # not frozen: built per report, and frozen init costs 3x
class AssetCandidate:
    asset_id: int
    type_code: str
    external_id: str
    distance_m: float


@dataclass(slots=True)  # not frozen: built per report, and frozen init costs 3x
class AssetMatch:
    outcome: str
    asset: AssetCandidate | None
    radius_m: float | None
    note: str

    @property
    def flagged(self) -> bool:
        return self.outcome in (Outcome.NAMED_FAR, Outcome.NAMED_UNKNOWN)


def nearest_asset(candidates: Iterable[AssetCandidate], *, radius_m: float,
                  type_preference: Sequence[str] = ()) -> AssetCandidate | None:
    """The nearest candidate within ``radius_m``. Candidates less than NEAR_TIE_M farther than the
    nearest tie with it and go to the earlier type in ``type_preference``, then to the smaller external
    id, then the smaller id: the same answer on every run, whatever order the candidates came in."""
    within = [c for c in candidates if c.distance_m <= radius_m]
    if len(within) < 2:
        return within[0] if within else None
    type_rank = {code: rank for rank, code in enumerate(type_preference)}
    closest = min(c.distance_m for c in within)
    tied = [c for c in within if c.distance_m <= closest + NEAR_TIE_M]
    return min(tied, key=lambda c: (type_rank.get(c.type_code, len(type_rank)), c.external_id, c.asset_id))


def asset_choose(*, candidates: Iterable[AssetCandidate], radius_m: float, type_preference: Sequence[str] = (),
                 has_location: bool = True, claim: str = "", claimed: AssetCandidate | None = None,
                 claim_max_m: float = 50.0) -> AssetMatch:
    """The asset a report is about.

    A named asset (``claim``, found as ``claimed``) wins when it is at most ``claim_max_m`` away; a named
    asset that is unknown or too far is flagged and the nearest one is used instead, so a wrong id in an
    app never silently moves a report. Otherwise: the nearest compatible asset within ``radius_m``."""
    if not type_preference:
        note = "the service takes no assets" if not claim else f"asset {claim!r} named, but the service takes no assets"
        return AssetMatch(Outcome.NAMED_UNKNOWN if claim else Outcome.NOT_APPLICABLE, None, None, note)
    if claim and claimed is not None and has_location and claimed.distance_m <= claim_max_m:
        return AssetMatch(Outcome.NAMED, claimed, claim_max_m,
                          f"the reporter named {claim}, {claimed.distance_m:.1f} m from the report")
    if claim and claimed is not None and not has_location:
        return AssetMatch(Outcome.NAMED, claimed, None, f"the reporter named {claim} (the report has no location)")
    if not has_location:
        return AssetMatch(Outcome.NOT_APPLICABLE, None, None, "the report has no location")
    nearest = nearest_asset(candidates, radius_m=radius_m, type_preference=type_preference)
    if claim:
        why = ("is unknown" if claimed is None
               else f"lies {claimed.distance_m:.0f} m away, more than {claim_max_m:g} m")
        instead = f"; nearest {nearest.external_id} used instead" if nearest else ""
        return AssetMatch(Outcome.NAMED_FAR if claimed else Outcome.NAMED_UNKNOWN, nearest, radius_m,
                          f"the named asset {claim!r} {why}{instead}")
    if nearest is None:
        return AssetMatch(Outcome.NONE_WITHIN, None, radius_m, f"no asset within {radius_m:g} m")
    return AssetMatch(Outcome.MATCHED, nearest, radius_m, f"nearest within {radius_m:g} m")


@dataclass(slots=True)  # not frozen: built per report, and frozen init costs 3x
class UtilityHit:
    """A utility line or structure near a report, with what a crew needs to know before digging."""

    feature: str  # "line" or "structure"
    id: int
    kind: str  # water, sewer, storm, gas, electric, telecom
    type: str  # main, lateral… / manhole, valve…
    external_id: str
    distance_m: float
    depth_m: float | None = None
    material: str = ""
    diameter_mm: int | None = None
    install_year: int | None = None
    along_m: float | None = None  # lines: metres from the line's start to the point nearest the report
    fraction: float | None = None  # lines: ST_LineLocatePoint, 0 at the start, 1 at the end

    def as_dict(self) -> dict:
        return {name: getattr(self, name) for name in self.__slots__}


def utilities_beneath(hits: Iterable[UtilityHit], *, buffer_m: Mapping[str, float]) -> list[UtilityHit]:
    """Every hit within its kind's buffer (a kind without one is left out), nearest first, ties by id."""
    kept = [h for h in hits if h.distance_m <= buffer_m.get(h.kind, -1.0)]
    return sorted(kept, key=lambda h: (round(h.distance_m, 3), h.feature, h.external_id, h.id))
