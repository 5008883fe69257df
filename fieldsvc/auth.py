"""Sign-in by username and password that refuses names PostgreSQL cannot hold, instead of failing on them."""

from django.contrib.auth.backends import ModelBackend


class ModelBackendNulSafe(ModelBackend):
    """Django's ModelBackend, except a username with a NUL character is simply no user: PostgreSQL text cannot
    contain NUL, so the lookup would raise DataError (a 500 on every API taking HTTP Basic, found by fuzzing)."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if (isinstance(username, str) and "\x00" in username) or (isinstance(password, str) and "\x00" in password):
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)
