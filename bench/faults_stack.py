"""The fault replay's own stack: a Redis it may restart, a database it may cut, supervised web/worker/beat processes."""

import hashlib
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"


class Redis:
    """A redis-server of the run's own, without persistence: a restart loses every queued message, as a
    broker that died with its disk would (the hardest case for the sweepers)."""

    def __init__(self, port: int, directory: Path):
        self.port, self.directory = port, directory
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.directory),
             "--save", "", "--appendonly", "no", "--loglevel", "warning"],
            stdout=open(self.directory / "redis.log", "ab"), stderr=subprocess.STDOUT)
        for _ in range(100):
            if subprocess.run(["redis-cli", "-p", str(self.port), "ping"], capture_output=True).returncode == 0:
                return
            time.sleep(0.05)
        raise SystemExit(f"redis-server on port {self.port} did not start")

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()


class Supervised:
    """A process restarted after ``delay_s`` whenever it ends unasked (as systemd or Kubernetes would). Started
    in a session of its own, so a kill takes the whole process group (a Celery worker and its pool)."""

    def __init__(self, name: str, argv: list[str], env: dict, log_dir: Path, delay_s: float = 2.0):
        self.name, self.argv, self.env, self.delay_s = name, argv, env, delay_s
        self.log = open(log_dir / f"{name}.log", "ab")
        self.process: subprocess.Popen | None = None
        self.restarts = 0
        self.kills = 0  # of the restarts, those after our own SIGKILL (the rest: it died by itself)
        self._stopping = False
        self._lock = threading.Lock()
        self._watcher = threading.Thread(target=self._watch, daemon=True)

    def start(self) -> None:
        with self._lock:
            self.process = subprocess.Popen(self.argv, cwd=ROOT, env=self.env, stdout=self.log,
                                            stderr=subprocess.STDOUT, start_new_session=True)
        if not self._watcher.is_alive():
            self._watcher.start()

    def kill(self) -> None:
        """SIGKILL the process group: no shutdown, no acknowledgements, whatever it held is gone."""
        with self._lock:
            if self.process and self.process.poll() is None:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.kills += 1

    def stop(self) -> None:
        self._stopping = True
        with self._lock:
            if self.process and self.process.poll() is None:
                os.killpg(self.process.pid, signal.SIGTERM)
                try:
                    self.process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(self.process.pid, signal.SIGKILL)
                    self.process.wait()

    def _watch(self) -> None:
        while not self._stopping:
            time.sleep(0.2)
            process = self.process
            if process is not None and process.poll() is not None and not self._stopping:
                try:  # children of a killed Celery main process may outlive it for a moment
                    os.killpg(process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                time.sleep(self.delay_s)
                if not self._stopping:
                    self.restarts += 1
                    self.start()


def _migrations_digest() -> str:
    digest = hashlib.sha256()
    for path in sorted(ROOT.glob("*/migrations/0*.py")):
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()[:16]


def manage(env: dict, *args: str) -> str:
    return subprocess.run([sys.executable, "manage.py", *args], check=True, cwd=ROOT, env=env,
                          capture_output=True, text=True).stdout


def database_prepare(base_url: str, *, db: str, template: str, env_for) -> None:
    """``db`` as a fresh copy of ``template`` (migrated, with the demo registry and catalogue); the template
    is built once (a few minutes) and again whenever the migrations change."""
    server = base_url.rsplit("/", 1)[0]
    digest = _migrations_digest()
    with psycopg.connect(base_url, autocommit=True) as admin:
        row = admin.execute("SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
                            [template]).fetchone()
        if row is None or row[0] is None:  # missing, or its build was interrupted
            print(f"building the template database {template} (migrate, load_demo, load_catalogue)…", flush=True)
            admin.execute(f"DROP DATABASE IF EXISTS {template}")
            admin.execute(f"CREATE DATABASE {template}")
            with psycopg.connect(f"{server}/{template}", autocommit=True) as conn:
                conn.execute("CREATE EXTENSION postgis")
            env = env_for(template)
            manage(env, "migrate", "-v0")
            manage(env, "load_demo")
            manage(env, "load_catalogue")
        elif row[0] != digest:  # new migrations since: applied to the template (the registry stays)
            manage(env_for(template), "migrate", "-v0")
        admin.execute(f"COMMENT ON DATABASE {template} IS '{digest}'")
        terminate_backends(admin, db)
        admin.execute(f"DROP DATABASE IF EXISTS {db}")
        admin.execute(f"CREATE DATABASE {db} TEMPLATE {template}")


def terminate_backends(admin: psycopg.Connection, db: str) -> int:
    """pg_terminate_backend for every connection to ``db`` (and to no other database)."""
    rows = admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                         "WHERE datname = %s AND pid <> pg_backend_pid()", [db]).fetchall()
    return len(rows)


def celery_queues(env: dict) -> list[str]:
    """Every queue the settings route tasks to, and the default one: the run's workers consume them all."""
    code = ("import django, json; django.setup(); from django.conf import settings as s; "
            "routes = getattr(s, 'CELERY_TASK_ROUTES', None) or {}; "
            "qs = {s.CELERY_TASK_DEFAULT_QUEUE}; "
            "qs.update(v['queue'] if isinstance(v, dict) else v for v in "
            "(routes.values() if isinstance(routes, dict) else []) if v); "
            "qs.update(getattr(s, 'FIELDSVC_CELERY_QUEUES', None) or []); "
            "print(json.dumps(sorted(q for q in qs if isinstance(q, str))))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True, capture_output=True,
                         text=True).stdout
    import json

    return json.loads(out.strip().splitlines()[-1])


def venv(tool: str) -> str:
    return str(VENV_BIN / tool)
