"""Travel time estimates between places: straight-line distance with a detour factor and a speed, behind
an interface a road-network router (OSRM, Valhalla matrices) can replace."""

from collections.abc import Sequence
from typing import Protocol

import numpy as np
from django.conf import settings


class TravelTimes(Protocol):
    def seconds(self, distance_m: float) -> float: ...

    def matrix(self, xy: Sequence[tuple[float, float]]) -> np.ndarray:
        """Seconds from each place to each other (storage-CRS metres in)."""
        ...


class StraightLine:
    """Distance × detour factor at a constant speed: the default, good enough to rank crews and order
    stops in a city grid (FIELDSVC_TRAVEL_DETOUR, FIELDSVC_TRAVEL_SPEED_KMH)."""

    def __init__(self, *, detour: float | None = None, speed_kmh: float | None = None):
        self.detour = detour if detour is not None else settings.FIELDSVC_TRAVEL_DETOUR
        self.speed_mps = (speed_kmh if speed_kmh is not None else settings.FIELDSVC_TRAVEL_SPEED_KMH) / 3.6

    def seconds(self, distance_m: float) -> float:
        return distance_m * self.detour / self.speed_mps

    def matrix(self, xy: Sequence[tuple[float, float]]) -> np.ndarray:
        points = np.asarray(xy, dtype=float).reshape(-1, 2)
        delta = points[:, None, :] - points[None, :, :]
        return np.sqrt((delta ** 2).sum(axis=2)) * self.detour / self.speed_mps


def travel_times() -> TravelTimes:
    """The configured estimator (a router would be chosen here)."""
    return StraightLine()
