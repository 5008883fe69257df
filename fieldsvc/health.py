"""Health probe: database, PostGIS, broker and worker status, gathered without raising."""

from typing import Any

from django.conf import settings
from django.db import DatabaseError

from fieldsvc import replica
from fieldsvc.celery import app as celery_app
from gis.spatial import postgis_version


def database_status() -> dict[str, Any]:
    try:
        return {"ok": True, "postgis_version": postgis_version()}
    except DatabaseError as exc:
        return {"ok": False, "error": str(exc).strip().splitlines()[0][:200]}


def broker_status() -> dict[str, Any]:
    try:
        # The URL is read at call time so that a changed setting is what gets checked.
        with celery_app.connection_for_write(settings.CELERY_BROKER_URL) as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
            return {"ok": True, "transport": conn.transport_cls}
    except Exception as exc:  # kombu raises transport-specific errors; any of them means "down"
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:200]}


def worker_status() -> dict[str, Any]:
    timeout_s = settings.FIELDSVC_HEALTH_WORKER_TIMEOUT_S
    try:
        replies = celery_app.control.ping(timeout=timeout_s) or []
    except Exception as exc:  # broker down: the ping cannot even be sent
        return {"ok": False, "workers": [], "error": f"{type(exc).__name__}: {exc}"[:200]}
    workers = sorted(name for reply in replies for name in reply)
    return {"ok": bool(workers), "workers": workers}


def health_report() -> tuple[dict[str, Any], bool]:
    """The report and whether the service can take requests (database and broker up)."""
    database = database_status()
    broker = broker_status()
    worker = worker_status() if broker["ok"] else {"ok": False, "workers": [], "error": "broker down"}
    serving = database["ok"] and broker["ok"]
    status = "ok" if serving and worker["ok"] else ("degraded" if serving else "down")
    report = {"status": status, "database": database, "broker": broker, "worker": worker}
    if replica.configured():  # a replica down or behind is not an outage: the primary answers its reads
        state = replica.replica_state(fresh=True)
        report["replica"] = {"ok": state.usable, "lag_s": state.lag_s} | ({"error": state.error} if state.error else {})
    return report, serving
