"""Points of the clustered layers counted per small Web Mercator cell, for low-zoom tiles (tiles/summary.py).

Cells are z18 tiles (153 m) and, for the lowest zooms, z16 tiles (611 m); a tile at z <= 12 takes its
64 x 64 grid of counts from these cells instead of from every point. Positions are kept as sums of
offsets within the cell (metres), so a count's mean position needs no point. Written by database
triggers only: ``ClusterChange`` rows are appended by every statement that changes a layer's rows (no
row is ever updated there, so writers never wait for each other), and folded into ``ClusterCell``
every minute.
"""

from django.db import models


class ClusterCell(models.Model):
    layer = models.CharField(max_length=40)
    zoom = models.SmallIntegerField(help_text="the cells are tiles of this zoom")
    cx = models.IntegerField(help_text="tile column")
    cy = models.IntegerField(help_text="tile row")
    n = models.IntegerField(help_text="points in the cell")
    sx = models.FloatField(help_text="sum of the points' eastward offsets from the cell's west edge, metres")
    sy = models.FloatField(help_text="sum of the points' southward offsets from the cell's north edge, metres")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["layer", "zoom", "cx", "cy"], name="tiles_cell_uniq")]

    def __str__(self) -> str:
        return f"{self.layer} z{self.zoom}/{self.cx}/{self.cy}: {self.n}"


class ClusterChange(models.Model):
    id = models.BigAutoField(primary_key=True)
    layer = models.CharField(max_length=40)
    zoom = models.SmallIntegerField()
    cx = models.IntegerField()
    cy = models.IntegerField()
    n = models.IntegerField()
    sx = models.FloatField()
    sy = models.FloatField()

    class Meta:
        indexes = [models.Index(fields=["layer", "zoom", "cx", "cy"], name="tiles_change_cell_idx")]

    def __str__(self) -> str:
        return f"{self.layer} z{self.zoom}/{self.cx}/{self.cy}: {self.n:+d}"
