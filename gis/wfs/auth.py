"""HTTP Basic authentication for WFS clients (QGIS, GDAL, OWSLib send it; browsers use the session).

A password hash costs ~0.2 s, and QGIS pages through a layer with many requests, so a header that
authenticated recently is remembered (by its SHA-256, never the password) for FIELDSVC_WFS_AUTH_CACHE_S,
together with a digest of the user's stored password hash: a changed password ends the remembered header at once.
"""

import base64
import binascii
import hashlib

from django.conf import settings
from django.contrib.auth import authenticate, get_user_model
from django.core.cache import cache
from django.http import HttpRequest


class BadCredentials(Exception):
    """An Authorization header that names no active user with that password."""


def _cache_key(header: str) -> str:
    return "wfs-basic:" + hashlib.sha256(header.encode()).hexdigest()


def _password_digest(user) -> str:
    """Changes whenever the user's password does (Django stores a new salted hash)."""
    return hashlib.sha256(user.password.encode()).hexdigest()


def basic_user(request: HttpRequest):
    """The user named by the request's Basic Authorization header; None without one."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "basic" or not token:
        return None
    remembered = cache.get(_cache_key(header))
    if isinstance(remembered, tuple):
        user_id, digest = remembered
        user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
        if user is not None and user.password and _password_digest(user) == digest:
            return user
    try:
        username, sep, password = base64.b64decode(token.strip(), validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise BadCredentials("the Authorization header is not valid Basic credentials") from exc
    user = authenticate(request, username=username, password=password) if sep else None
    if user is None or not user.is_active:
        raise BadCredentials("unknown user or wrong password")
    cache.set(_cache_key(header), (user.pk, _password_digest(user)), settings.FIELDSVC_WFS_AUTH_CACHE_S)
    return user
