"""Stateless web processes: two gunicorn servers on two ports (as behind any load balancer) share sessions
(database), CSRF (the signing key) and rate-limit counters (Redis); neither keeps what the other needs."""

import os
import random
import re
import socket
import subprocess
import sys
import time
from urllib.parse import quote

import pytest
import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection

PASSWORD = "two-servers-one-session"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def two_servers(django_db_setup):
    db = connection.settings_dict
    env = {**os.environ, "DJANGO_LOG_LEVEL": "WARNING", "FIELDSVC_PLAIN_HTTP": "1",
           "DATABASE_URL": f"postgis://{quote(db['USER'])}:{quote(db['PASSWORD'] or '')}@{db['HOST']}:{db['PORT']}"
                           f"/{db['NAME']}",
           "CACHE_URL": settings.CACHES["default"]["LOCATION"], "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
           "CELERY_TASK_DEFAULT_QUEUE": settings.CELERY_TASK_DEFAULT_QUEUE,  # nothing for the stack's workers
           "FIELDSVC_OPEN311_RATE_PER_ADDRESS": "6", "FIELDSVC_TRUSTED_PROXIES": "1"}
    ports = [free_port(), free_port()]
    procs = [subprocess.Popen([sys.executable, "-m", "gunicorn", "fieldsvc.wsgi:application", "--bind",
                               f"127.0.0.1:{port}", "--workers", "1", "--log-level", "warning"],
                              cwd=settings.BASE_DIR, env=env) for port in ports]
    try:
        for port, proc in zip(ports, procs, strict=True):
            deadline = time.monotonic() + 60
            while True:
                try:
                    requests.get(f"http://127.0.0.1:{port}/admin/login/", timeout=30)  # the worker has booted
                    break
                except (requests.ConnectionError, requests.Timeout):
                    assert proc.poll() is None and time.monotonic() < deadline, "gunicorn did not start"
                    time.sleep(0.2)
        yield [f"http://127.0.0.1:{port}" for port in ports]
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=30)


def test_a_session_made_on_one_server_is_honoured_by_the_other(two_servers, transactional_db):
    a, b = two_servers
    get_user_model().objects.create_superuser("lb-admin", "lb@example.city", PASSWORD)
    browser = requests.Session()  # cookies are per host, not per port: both servers get them, as behind an LB
    form = browser.get(f"{b}/admin/login/", timeout=10)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text).group(1)
    signed_in = browser.post(f"{a}/admin/login/?next=/admin/", allow_redirects=False, timeout=10, data={
        "csrfmiddlewaretoken": token, "username": "lb-admin", "password": PASSWORD, "next": "/admin/"})
    assert signed_in.status_code == 302 and signed_in.headers["Location"] == "/admin/"  # B's form, A's login
    assert "sessionid" in browser.cookies
    assert browser.get(f"{b}/admin/", allow_redirects=False, timeout=10).status_code == 200  # B knows the session
    assert requests.get(f"{b}/admin/", allow_redirects=False, timeout=10).status_code == 302  # a stranger does not
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', browser.get(f"{a}/admin/", timeout=10).text)
    assert browser.post(f"{b}/admin/logout/", data={"csrfmiddlewaretoken": token.group(1)},
                        allow_redirects=False, timeout=10).status_code == 200
    assert browser.get(f"{a}/admin/", allow_redirects=False, timeout=10).status_code == 302  # out on both


def test_a_rate_limit_is_counted_across_both_servers(two_servers, transactional_db):
    a, b = two_servers
    if time.time() % 60 > 50:  # counters are per clock minute: start in a fresh one
        time.sleep(61 - time.time() % 60)
    client = {"X-Forwarded-For": f"203.0.113.{random.randrange(1, 255)}"}  # as one proxy would add it
    statuses = [requests.get(f"{server}/open311/v2/services.json", headers=client, timeout=10).status_code
                for server in (a, b, a, b, a, b, a, b)]
    assert statuses == [200] * 6 + [429, 429]  # 6 a minute per address, whichever server counted them
