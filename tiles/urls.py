"""Vector tile routes."""

from django.urls import path, register_converter

from tiles import views


class SignedInt:
    """Digits with an optional minus sign, so an out-of-range -1 gets a 400 of ours, not a 404."""

    regex = r"-?\d{1,9}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


register_converter(SignedInt, "signed")
app_name = "tiles"
urlpatterns = [
    path("style.json", views.style, name="style"),
    path("<slug:layer>.json", views.tilejson, name="tilejson"),
    path("<slug:layer>/<signed:z>/<signed:x>/<signed:y>.mvt", views.tile, name="tile"),
]
