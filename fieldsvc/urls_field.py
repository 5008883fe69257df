"""The crews' tablet app (/field/): the page, its service worker, its web manifest and sign-in."""

urlpatterns = []
