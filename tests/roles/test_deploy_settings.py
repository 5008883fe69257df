"""Production settings are HTTPS-only and pass `manage.py check --deploy` with no issue; plain HTTP is an explicit,
local opt-out (FIELDSVC_PLAIN_HTTP) that the deploy check still flags; production refuses to start without a
strong secret key and its host names."""

import os
import secrets
import subprocess
import sys

from django.conf import settings

MANAGE = [sys.executable, str(settings.BASE_DIR / "manage.py")]


def production_env(**more: str) -> dict[str, str]:
    """What an operator sets: a strong key, the site's host, DEBUG off, and not the plain-HTTP opt-out (the
    environment wins over .stack/env, so FIELDSVC_PLAIN_HTTP=0 overrides the local stack's 1)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "FIELDSVC_"))}
    return env | {"DJANGO_SECRET_KEY": secrets.token_urlsafe(50), "DJANGO_ALLOWED_HOSTS": "311.example.city",
                  "DJANGO_DEBUG": "false", "FIELDSVC_PLAIN_HTTP": "0"} | more


def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([*MANAGE, *args], env=env, capture_output=True, text=True, timeout=120,
                          cwd=settings.BASE_DIR)


def settings_of(env: dict[str, str], *names: str) -> list[str]:
    code = "from django.conf import settings as s; " + "; ".join(f"print('=', repr(s.{n}))" for n in names)
    done = run("shell", "--no-imports", "-c", code, env=env)
    assert done.returncode == 0, done.stderr
    return [line[2:] for line in done.stdout.splitlines() if line.startswith("= ")]


def test_check_deploy_reports_no_issues_for_a_production_configuration():
    done = run("check", "--deploy", "--fail-level", "WARNING", env=production_env())
    assert done.returncode == 0, done.stdout + done.stderr
    # The one silenced check is gis.W001, on purpose (settings explain why); nothing else is hidden.
    assert "System check identified no issues (1 silenced)." in done.stdout, done.stdout + done.stderr
    assert settings_of(production_env(), "SILENCED_SYSTEM_CHECKS") == ["['gis.W001']"]


def test_production_settings_are_https_only():
    values = settings_of(production_env(), "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SECURE_SSL_REDIRECT",
                         "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_HSTS_PRELOAD",
                         "X_FRAME_OPTIONS", "SECURE_CONTENT_TYPE_NOSNIFF", "SECURE_REFERRER_POLICY", "ALLOWED_HOSTS")
    assert values == ["True", "True", "True", "31536000", "True", "True", "'DENY'", "True", "'same-origin'",
                      "['311.example.city']"]


def test_the_proxy_header_is_trusted_only_when_asked_for():
    assert settings_of(production_env(), "SECURE_PROXY_SSL_HEADER") == ["None"]
    assert settings_of(production_env(DJANGO_SECURE_PROXY_SSL_HEADER="true"), "SECURE_PROXY_SSL_HEADER") == [
        "('HTTP_X_FORWARDED_PROTO', 'https')"]


def test_production_refuses_to_start_without_a_strong_secret_key_or_host_names():
    for missing in ({"DJANGO_SECRET_KEY": "short"}, {"DJANGO_SECRET_KEY": "django-insecure-" + "x1y2z3" * 10}):
        done = run("check", env=production_env(**missing))
        assert done.returncode != 0 and "DJANGO_SECRET_KEY must be a random value" in done.stderr
    env = production_env()
    del env["DJANGO_SECRET_KEY"]
    assert "Set the DJANGO_SECRET_KEY environment variable" in run("check", env=env).stderr
    env = production_env()
    del env["DJANGO_ALLOWED_HOSTS"]
    assert "Set the DJANGO_ALLOWED_HOSTS environment variable" in run("check", env=env).stderr


def test_the_plain_http_opt_out_is_explicit_and_the_deploy_check_still_flags_it():
    env = production_env(FIELDSVC_PLAIN_HTTP="1")
    del env["DJANGO_SECRET_KEY"], env["DJANGO_ALLOWED_HOSTS"]
    done = run("check", "--deploy", env=env)
    for warning in ("security.W004", "security.W008", "security.W012", "security.W016"):  # on stderr
        assert warning in done.stdout + done.stderr, done.stdout + done.stderr
    assert settings_of(env, "SESSION_COOKIE_SECURE", "SECURE_SSL_REDIRECT") == ["False", "False"]


def test_this_test_run_is_plain_http_so_live_servers_and_the_test_client_work():
    assert settings.PLAIN_HTTP and not settings.SESSION_COOKIE_SECURE and not settings.SECURE_SSL_REDIRECT
