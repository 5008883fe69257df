"""Roles tests sign many accounts in: passwords are hashed cheaply here (PBKDF2 costs ~0.5 s a time on this
machine, which the tests, not the code under test, can do without)."""

import pytest


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
