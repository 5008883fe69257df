"""Replay Boston's 311 history through Open311 while workers are SIGKILLed, Redis restarts and PostgreSQL cuts
connections; then check every accepted request is stored once, linked, routed and given its work order once,
and that no side effect (email, history event) happened twice.

Issue #9 (1). Everything the run starts is its own: a database copied from a template (fieldsvc_bench_faults),
a Redis on its own port that it kills without persistence (queued messages are lost, as with a dead broker
host), gunicorn, Celery workers and beat under a small supervisor that restarts what dies after a short delay.
pg_terminate_backend only touches this run's database. Exit status 1 on any violation.

    scripts/stack.sh up && .venv/bin/python bench/replay_faults.py [--seconds 300] [--rate 25] [--faults 3]
"""

import argparse
import csv
import email
import gzip
import http.client
import json
import os
import queue
import random
import statistics
import sys
import threading
import time
import urllib.parse
from collections import Counter
from pathlib import Path

import psycopg
from faults_stack import ROOT, Redis, Supervised, celery_queues, database_prepare, terminate_backends, venv
from stack_url import main_database_url, service_answers

DB = "fieldsvc_bench_faults"
TEMPLATE = "fieldsvc_bench_faults_template"
STATE = ROOT / ".stack" / "faults"
HTTP_PORT, REDIS_PORT = 18390, 56390
FAULT_KINDS = ("worker", "redis", "postgres")


# --- The cases: Boston's history as Open311 POSTs (and, for cases Boston closed, a closing update) -------------

def boston_cases(limit: int, seed: int) -> list[dict]:
    rows = []
    with gzip.open(ROOT / "fixtures" / "boston" / "311_cases.csv.gz", "rt", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["latitude"] and not row["latitude"].startswith("38.") and row["case_topic"]:
                rows.append(row)
    random.Random(seed).shuffle(rows)
    return rows[:limit]


def closing_status(row: dict) -> str | None:
    """The mySociety status a closed Boston case ended in (None: still open in the history)."""
    if row["case_status"].strip().lower() != "closed":
        return None
    reason = row["closure_reason"].lower()
    return "DUPLICATE" if "duplicate" in reason else "FIXED" if "resolved" in reason else "CLOSED"


class Client:
    """An Open311 client as a real one behaves: each call carries its Idempotency-Key (or update_id) and is
    sent again on a dropped connection, a timeout, a 5xx or a 429, with backoff, until answered."""

    def __init__(self, key: str, give_up_s: float):
        self.key, self.give_up_s = key, give_up_s
        self.lock = threading.Lock()
        self.retries = Counter()  # why calls were sent again
        self.latencies: list[float] = []  # seconds from a call's first send to its answer, retries included

    def post(self, path: str, form: dict, headers: dict | None = None) -> tuple[int, object]:
        body = urllib.parse.urlencode({"api_key": self.key, **form}, doseq=True)
        first_sent = time.monotonic()
        deadline, attempt = first_sent + self.give_up_s, 0
        while True:
            reason = None
            try:
                connection = http.client.HTTPConnection("127.0.0.1", HTTP_PORT, timeout=15)
                connection.request("POST", path, body=body, headers={
                    "Content-Type": "application/x-www-form-urlencoded", **(headers or {})})
                response = connection.getresponse()
                payload = response.read()
                connection.close()
                if response.status < 500 and response.status != 429:
                    with self.lock:
                        self.latencies.append(time.monotonic() - first_sent)
                    return response.status, json.loads(payload) if payload else None
                reason = str(response.status)
            except (OSError, http.client.HTTPException) as exc:
                reason = type(exc).__name__
            with self.lock:
                self.retries[reason] += 1
            if time.monotonic() > deadline:
                return 0, reason
            attempt += 1
            time.sleep(min(2.0, 0.05 * 2 ** attempt) * (0.5 + random.random()))


# --- What the run records -------------------------------------------------------------------------------------

class Record:
    def __init__(self):
        self.lock = threading.Lock()
        self.sent = 0
        self.accepted: dict[str, str] = {}  # idempotency key -> the id (or token) the server answered
        self.refused: Counter = Counter()  # 4xx answers by status
        self.gave_up: list[str] = []
        self.updates_sent = self.updates_accepted = 0
        self.update_ids: set[str] = set()


def stream(client: Client, cases: list[dict], topics: dict, answers: dict, rate: float, seconds: float, run: str,
           record: Record, threads: int) -> None:
    """POST cases at a steady ``rate`` for ``seconds``; closed cases get their closing update 5-20 s later."""
    work: queue.PriorityQueue = queue.PriorityQueue()  # (due, n, kind, args): the earliest first
    rng = random.Random(run)
    started = time.monotonic()
    order = iter(range(10**9))

    def intake(n: int, case: dict) -> None:
        code = topics.get(case["case_topic"], "other")
        key = f"{run}-{n}"
        form = {"service_code": code, "lat": case["latitude"], "long": case["longitude"],
                "address_string": case["full_address"], "account_id": key,
                "description": f"{case['case_topic']} (Boston case {case['case_id']})", **answers.get(code, {})}
        if n % 2 == 0:  # half the reporters leave an email: they hear of the closure
            form["email"] = f"resident-{n}@example.org"
        with record.lock:
            record.sent += 1
        status, payload = client.post("/open311/v2/requests.json", form, {"Idempotency-Key": key})
        with record.lock:
            if status in (200, 201):
                item = payload[0]
                record.accepted[key] = item.get("service_request_id") or item.get("token")
            elif status == 0:
                record.gave_up.append(key)
            else:
                record.refused[status] += 1
        closing = closing_status(case)
        if status in (200, 201) and closing and payload[0].get("service_request_id"):
            due = time.monotonic() + rng.uniform(5, 20)
            work.put((due, next(order), "update", (key, payload[0]["service_request_id"], closing, case)))

    def update(key: str, request_id: str, closing: str, case: dict) -> None:
        update_id = f"{key}-closed"
        with record.lock:
            record.updates_sent += 1
        words = (case["closure_reason"] or "Closed").strip()[:300]
        status, _ = client.post("/open311/v2/servicerequestupdates.json", {
            "service_request_id": request_id, "status": closing, "description": words, "update_id": update_id})
        with record.lock:
            if status in (200, 201):
                record.updates_accepted += 1
                record.update_ids.add(update_id)

    def runner() -> None:
        while True:
            item = work.get()
            due, _, kind, args = item
            if kind == "end":
                return
            wait = due - time.monotonic()
            if wait > 0:  # not due yet: back in the queue, so that work due sooner is not held up
                work.put(item)
                time.sleep(min(wait, 0.05))
                continue
            (intake if kind == "intake" else update)(*args)

    pool = [threading.Thread(target=runner, daemon=True) for _ in range(threads)]
    for thread in pool:
        thread.start()
    n = 0
    while time.monotonic() - started < seconds:
        due = started + n / rate
        wait = due - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        work.put((due, next(order), "intake", (n, cases[n % len(cases)])))
        n += 1
    time.sleep(21)  # the last closing updates fall due
    for _ in pool:
        work.put((float("inf"), next(order), "end", ()))
    for thread in pool:
        thread.join()


# --- Faults and catch-up --------------------------------------------------------------------------------------

def backlog_sql(run: str) -> str:
    """Requests of this run accepted before a moment that still wait for their link or their work order."""
    return f"""
        SELECT count(*) FROM workorders_servicerequest r
          JOIN workorders_requestlink l ON l.request_id = r.id
          JOIN workorders_service s ON s.id = r.service_id
         WHERE r.idempotency_key LIKE '{run}-%%' AND r.created_at < %s
           AND (l.state <> 'linked' OR (r.status = 'open' AND r.work_order_id IS NULL
                AND NOT s.informational AND s.work_order_mode <> 'none'))"""


class Faults:
    """Injects the faults at their (seeded) moments and measures each one's catch-up: from the fault until no
    request accepted before it still waits for its link or work order."""

    def __init__(self, admin_url: str, run: str, redis: Redis, workers: list[Supervised], redis_down_s: float,
                 record: Record):
        self.admin_url, self.run, self.redis, self.workers = admin_url, run, redis, workers
        self.redis_down_s, self.record = redis_down_s, record
        self.done: list[dict] = []
        self.lock = threading.Lock()

    def inject(self, kind: str, rng: random.Random) -> dict:
        at_wall = time.time()
        fault = {"kind": kind, "at_s": None, "at": at_wall, "detail": "", "catch_up_s": None}
        if kind == "worker":
            victim = rng.choice(self.workers)
            victim.kill()
            fault["detail"] = f"SIGKILL {victim.name} (process group)"
        elif kind == "redis":
            self.redis.kill()
            time.sleep(self.redis_down_s)
            self.redis.start()
            fault["detail"] = f"redis SIGKILLed, {self.redis_down_s:g} s down, restarted empty"
        else:
            with psycopg.connect(self.admin_url, autocommit=True) as admin:
                fault["detail"] = f"pg_terminate_backend on {terminate_backends(admin, DB)} backends"
        with self.lock:
            self.done.append(fault)
        return fault

    def watch(self, db_url: str, stop: threading.Event) -> None:
        """Poll the backlog behind each fault not caught up yet (reconnecting: this connection is cut too)."""
        conn = None
        sql = backlog_sql(self.run)
        while not stop.is_set():
            time.sleep(0.5)
            with self.lock:
                open_faults = [f for f in self.done if f["catch_up_s"] is None]
            if not open_faults:
                continue
            try:
                if conn is None or conn.closed:
                    conn = psycopg.connect(db_url, autocommit=True, connect_timeout=5)
                for fault in open_faults:
                    moment = time.time()
                    (waiting,) = conn.execute(sql, [_ts(fault["at"])]).fetchone()
                    if waiting == 0:
                        fault["catch_up_s"] = round(moment - fault["at"], 1)
            except psycopg.Error:
                conn = None


def _ts(epoch: float):
    import datetime as dt

    return dt.datetime.fromtimestamp(epoch, dt.UTC)


def schedule(seconds: float, per_kind: int, rng: random.Random) -> list[tuple[float, str]]:
    """Moments (seconds into the stream) for ``per_kind`` faults of each kind, in the middle 80% of the run
    and at least 4 s apart, shuffled by the seed."""
    kinds = [k for k in FAULT_KINDS for _ in range(per_kind)]
    rng.shuffle(kinds)
    slot = seconds * 0.8 / len(kinds)
    return [(seconds * 0.1 + i * slot + rng.uniform(0, max(0.0, slot - 4)), kind) for i, kind in enumerate(kinds)]


# --- Checks at the end ----------------------------------------------------------------------------------------

def quiescent(conn: psycopg.Connection, run: str, redis_port: int, queues: list[str]) -> dict:
    import redis as redis_lib

    (backlog,) = conn.execute(backlog_sql(run), [_ts(time.time() + 3600)]).fetchone()
    (pending_mail,) = conn.execute("SELECT count(*) FROM workorders_notification "
                                   "WHERE status IN ('pending', 'sending')").fetchone()
    (unsent_sla,) = conn.execute("SELECT count(*) FROM workorders_slaescalation WHERE notified_at IS NULL").fetchone()
    broker = redis_lib.Redis(port=redis_port, socket_timeout=2)
    queued = sum(broker.llen(q) for q in queues)
    return {"backlog": backlog, "pending_notifications": pending_mail, "unsent_sla": unsent_sla, "queued": queued}


def mail_counts(mail_dir: Path) -> Counter:
    """Messages the file email backend wrote, by Message-ID (one file per connection, messages separated by
    a line of 79 dashes)."""
    counts: Counter = Counter()
    for path in mail_dir.glob("*.log"):
        for chunk in path.read_text(encoding="utf-8", errors="replace").split("\n" + "-" * 79 + "\n"):
            if chunk.strip():
                message = email.message_from_string(chunk.strip())
                counts[message.get("Message-ID") or f"no-id:{message.get('Subject')}"] += 1
    return counts


def check(conn: psycopg.Connection, run: str, record: Record, mail_dir: Path) -> tuple[dict, list[str]]:
    q = lambda sql, *p: conn.execute(sql, p).fetchall()  # noqa: E731
    like = f"{run}-%"
    stored = dict(q("SELECT idempotency_key, count(*) FROM workorders_servicerequest WHERE idempotency_key LIKE %s "
                    "GROUP BY 1", like))
    ids = dict(q("SELECT idempotency_key, COALESCE(token::text, id::text) FROM workorders_servicerequest "
                 "WHERE idempotency_key LIKE %s", like))
    lost = [k for k in record.accepted if k not in stored]
    doubled = [k for k, n in stored.items() if n > 1]
    answered_other = [k for k, v in record.accepted.items() if k in ids and ids[k] != v]
    unacknowledged = [k for k in stored if k not in record.accepted]
    (linked, routed, pending) = q(
        "SELECT count(*) FILTER (WHERE l.state = 'linked'), count(*) FILTER (WHERE l.department_id IS NOT NULL "
        "AND l.explanation <> ''), count(*) FILTER (WHERE l.state <> 'linked') FROM workorders_servicerequest r "
        "JOIN workorders_requestlink l ON l.request_id = r.id WHERE r.idempotency_key LIKE %s", like)[0]
    (eligible, with_wo, without_wo, closed_before) = q(
        "SELECT count(*), count(r.work_order_id), "
        "count(*) FILTER (WHERE r.work_order_id IS NULL AND r.status = 'open'), "
        "count(*) FILTER (WHERE r.work_order_id IS NULL AND r.status <> 'open') FROM workorders_servicerequest r "
        "JOIN workorders_service s ON s.id = r.service_id WHERE r.idempotency_key LIKE %s AND NOT s.informational "
        "AND s.work_order_mode <> 'none' AND r.duplicate_of_id IS NULL", like)[0]
    (work_orders,) = q("SELECT count(DISTINCT work_order_id) FROM workorders_servicerequest WHERE idempotency_key "
                       "LIKE %s", like)[0]
    empty_wo = q("SELECT w.id FROM workorders_workorder w WHERE NOT EXISTS (SELECT 1 FROM workorders_servicerequest "
                 "r WHERE r.work_order_id = w.id)")
    created_twice = q("SELECT work_order_id FROM workorders_workorderevent WHERE note = 'created' GROUP BY 1 "
                      "HAVING count(*) > 1")
    wo_without_created = q("SELECT w.id FROM workorders_workorder w WHERE NOT EXISTS (SELECT 1 FROM "
                           "workorders_workorderevent e WHERE e.work_order_id = w.id AND e.note = 'created')")
    task_twice = q("SELECT work_order_id, asset_id FROM workorders_workordertask GROUP BY 1, 2 HAVING count(*) > 1")
    added_twice = q("SELECT r.reference FROM workorders_servicerequest r JOIN workorders_workorderevent e ON "
                    "e.work_order_id = r.work_order_id AND e.note LIKE 'added %%' AND "
                    "(', ' || substr(e.note, 7) || ',') LIKE ('%%, ' || r.reference || ',%%') "
                    "WHERE r.idempotency_key LIKE %s GROUP BY 1 HAVING count(*) > 1", like)
    received_twice = q("SELECT request_id FROM workorders_requestnote WHERE kind = 'submitted' AND request_id IN "
                       "(SELECT id FROM workorders_servicerequest WHERE idempotency_key LIKE %s) GROUP BY 1 "
                       "HAVING count(*) <> 1", like)
    routing_twice = q("SELECT request_id FROM workorders_requestnote WHERE author = 'routing' GROUP BY 1 "
                      "HAVING count(*) > 1")
    updates_stored = dict(q("SELECT external_update_id, count(*) FROM workorders_requestnote WHERE "
                            "external_update_id LIKE %s GROUP BY 1", like))
    updates_lost = [u for u in record.update_ids if u not in updates_stored]
    updates_twice = [u for u, n in updates_stored.items() if n > 1]
    notes = dict(q("SELECT status, count(*) FROM workorders_notification GROUP BY 1"))
    notification_twice = q("SELECT note_id, follower_id FROM workorders_notification GROUP BY 1, 2 HAVING count(*) > 1")
    mails = mail_counts(mail_dir)
    sent_ids = [f"<notification-{pk}@fieldsvc>" for (pk,) in q("SELECT id FROM workorders_notification WHERE "
                                                                 "status = 'sent' AND channel = 'email'")]
    mail_twice = {m: n for m, n in mails.items() if n > 1}
    mail_missing = [m for m in sent_ids if mails.get(m, 0) == 0]
    escalations = q("SELECT count(*), count(notified_at) FROM workorders_slaescalation")[0]
    sla_ids = [f"<sla-escalation-{pk}@fieldsvc>" for (pk,) in q(
        "SELECT e.id FROM workorders_slaescalation e JOIN workorders_workorder w ON w.id = e.work_order_id "
        "JOIN registry_department d ON d.id = w.department_id WHERE e.notified_at IS NOT NULL AND d.email <> ''")]
    mail_missing += [m for m in sla_ids if mails.get(m, 0) == 0]
    sla_emails = sum(mails.get(m, 0) for m in sla_ids)
    figures = {
        "sent": record.sent, "accepted": len(record.accepted), "refused_4xx": dict(record.refused),
        "gave_up": len(record.gave_up), "stored": sum(stored.values()), "duplicates": len(doubled),
        "lost": len(lost), "answered_with_another_id": len(answered_other),
        "stored_but_never_acknowledged": len(unacknowledged),
        "linked": linked, "routed": routed, "still_pending_link": pending,
        "work_order_eligible": eligible, "with_work_order": with_wo, "open_without_work_order": without_wo,
        "closed_before_work_order": closed_before, "work_orders": work_orders,
        "updates_sent": record.updates_sent, "updates_accepted": record.updates_accepted,
        "updates_stored_twice": len(updates_twice), "updates_lost": len(updates_lost),
        "notifications": notes, "emails_written": sum(mails.values()), "emails_twice": len(mail_twice),
        "emails_missing": len(mail_missing), "sla_escalations": escalations[0], "sla_notified": escalations[1],
        "sla_emails": sla_emails,
        "client_retries": dict(client_retries_of(record)),
        "answer_s": latency_figures(getattr(record, "latencies", [])),
    }
    violations = []
    for name, bad in (("accepted but not stored", lost), ("stored twice", doubled),
                      ("a retry answered with another id", answered_other), ("client gave up", record.gave_up),
                      ("not linked", [1] * pending), ("linked but not routed", [1] * (linked - routed)),
                      ("open without a work order", [1] * without_wo), ("work order with no request", empty_wo),
                      ("work order 'created' twice", created_twice), ("work order without its 'created' event",
                                                                      wo_without_created),
                      ("task twice for one asset", task_twice), ("request 'added' twice", added_twice),
                      ("'received' note not exactly once", received_twice), ("routing note twice", routing_twice),
                      ("update stored twice", updates_twice), ("accepted update not stored", updates_lost),
                      ("notification row twice", notification_twice), ("email written twice", list(mail_twice)),
                      ("sent notification or SLA notice without its email", mail_missing),
                      ("SLA notice still unsent", [1] * (escalations[0] - escalations[1])),
                      ("notification still pending", [1] * (notes.get("pending", 0) + notes.get("sending", 0)))):
        if bad:
            violations.append(f"{name}: {len(bad)} (e.g. {list(bad)[:3]})")
    return figures, violations


def latency_figures(latencies: list[float]) -> dict:
    ordered = sorted(latencies)
    if not ordered:
        return {}
    at = lambda q: round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3)  # noqa: E731
    return {"p50": at(0.5), "p95": at(0.95), "p99": at(0.99), "max": round(ordered[-1], 3)}


def client_retries_of(record: Record) -> Counter:
    return getattr(record, "retries", Counter())


# --- The run --------------------------------------------------------------------------------------------------

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=300, help="how long requests are streamed")
    parser.add_argument("--rate", type=float, default=20, help="POSTs per second")
    parser.add_argument("--faults", type=int, default=3, help="faults of each kind (worker, redis, postgres)")
    parser.add_argument("--seed", type=int, default=9)
    parser.add_argument("--workers", type=int, default=2, help="Celery worker processes (each its own pool)")
    parser.add_argument("--web-workers", type=int, default=3, help="gunicorn workers")
    parser.add_argument("--redis-down", type=float, default=3.0, help="seconds Redis stays down")
    parser.add_argument("--settle", type=float, default=240, help="most seconds to wait for quiescence")
    parser.add_argument("--sweep-every", type=float, default=5, help="beat sweepers' interval (s) for the run")
    parser.add_argument("--sla", dest="sla_s", type=float, default=90, help="every 4th service's SLA (s)")
    parser.add_argument("--json", help="write the figures to this file")
    args = parser.parse_args()

    os.environ.setdefault("FIELDSVC_PLAIN_HTTP", "1")  # settings for a loopback run (the harness's own setup)
    base = main_database_url()
    server = base.rsplit("/", 1)[0]
    db_url = f"{server}/{DB}"
    STATE.mkdir(parents=True, exist_ok=True)
    mail_dir, logs = STATE / "mail", STATE / "log"
    for folder in (mail_dir, logs):
        folder.mkdir(exist_ok=True)
    for old in mail_dir.glob("*.log"):
        old.unlink()
    broker = f"redis://127.0.0.1:{REDIS_PORT}/0"
    sweep = str(args.sweep_every)
    env = {**os.environ, "DATABASE_URL": db_url.replace("postgresql://", "postgis://", 1),
           "CELERY_BROKER_URL": broker, "CELERY_RESULT_BACKEND": broker, "CACHE_URL": f"redis://127.0.0.1:{REDIS_PORT}/1",
           "CELERY_TASK_DEFAULT_QUEUE": "celery", "DJANGO_EMAIL_FILE_PATH": str(mail_dir),
           "DJANGO_MEDIA_ROOT": str(STATE / "media"), "DJANGO_LOG_LEVEL": "WARNING",
           "FIELDSVC_OPEN311_RATE_PER_ADDRESS": "100000000", "FIELDSVC_OPEN311_RATE_PER_KEY": "100000000",
           # The sweepers' delays, shortened for a run of minutes (production: a minute, five minutes).
           "FIELDSVC_SWEEP_EVERY_S": sweep, "FIELDSVC_LINK_SWEEP_AFTER_S": str(max(5, int(args.sweep_every * 2))),
           "FIELDSVC_NOTIFY_RETRY_AFTER_S": str(max(60, int(args.sweep_every * 12)))}
    env.pop("FIELDSVC_TEST_DB_NAME", None)
    # Plain HTTP on loopback; no replica (the stack's standby follows the shared database, not this one).
    env.update(FIELDSVC_PLAIN_HTTP="1", DATABASE_REPLICA_URL="", FIELDSVC_REPLICA_READS="false")

    def env_for(name: str) -> dict:
        return {**env, "DATABASE_URL": f"{server}/{name}".replace("postgresql://", "postgis://", 1)}

    redis = Redis(REDIS_PORT, STATE / "redis")
    redis.start()
    processes: list[Supervised] = []
    stop_watch = threading.Event()
    try:
        print(f"preparing {DB} from {TEMPLATE}…", flush=True)
        database_prepare(base, db=DB, template=TEMPLATE, env_for=env_for)
        from faults_stack import manage

        out = manage(env, "open311_key", "create", "fault replay", "--rate-per-minute", "100000000")
        key = out.split(": ", 1)[1].split()[0]
        queues = celery_queues(env)
        with psycopg.connect(db_url) as conn:
            topics = {t: code for code, ts in conn.execute("SELECT code, source_topics FROM workorders_service")
                      for t in ts}
            answers = service_answers(conn)
            conn.execute("UPDATE registry_department SET email = 'dept-' || code || '@example.city' "
                         "WHERE email = ''")
            # SLAs of a minute or two for every fourth service: warnings and breaches (and the departments'
            # emails) happen during the run, under its faults.
            conn.execute("UPDATE workorders_slapolicy SET hours = %s, clock = 'calendar' WHERE service_id %% 4 = 0",
                         [args.sla_s / 3600])
            conn.execute("UPDATE workorders_service SET sla_hours = %s WHERE sla_hours IS NOT NULL AND id %% 4 = 0",
                         [args.sla_s / 3600])
            conn.commit()
        processes.append(Supervised("web", [venv("gunicorn"), "fieldsvc.wsgi:application", "--bind",
                                            f"127.0.0.1:{HTTP_PORT}", "--workers", str(args.web_workers),
                                            "--timeout", "30", "--log-level", "warning"], env, logs))
        workers = [Supervised(f"worker{i}", [venv("celery"), "-A", "fieldsvc", "worker", "-Q", ",".join(queues),
                                             "--concurrency", "2", "-n", f"faults{i}@%h", "--without-gossip",
                                             "--without-mingle", "--loglevel", "WARNING"], env, logs)
                   for i in range(args.workers)]
        processes += workers
        (STATE / "celerybeat-schedule").unlink(missing_ok=True)
        processes.append(Supervised("beat", [venv("celery"), "-A", "fieldsvc", "beat", "--loglevel", "WARNING",
                                             "--schedule", str(STATE / "celerybeat-schedule")], env, logs))
        for process in processes:
            process.start()
        wait_http()
        print(f"stack up: gunicorn :{HTTP_PORT}, {args.workers} workers on {queues}, beat, redis :{REDIS_PORT}",
              flush=True)

        run = f"faults{int(time.time())}"
        rng = random.Random(args.seed)
        cases = boston_cases(int(args.seconds * args.rate) + 10, args.seed)
        record = Record()
        client = Client(key, give_up_s=120)
        record.retries, record.latencies = client.retries, client.latencies
        faults = Faults(base, run, redis, workers, args.redis_down, record)
        watcher = threading.Thread(target=faults.watch, args=(db_url, stop_watch), daemon=True)
        watcher.start()
        plan = schedule(args.seconds, args.faults, rng)
        streamer = threading.Thread(target=stream, args=(client, cases, topics, answers, args.rate, args.seconds,
                                                         run, record, 24), daemon=True)
        started = time.monotonic()
        streamer.start()
        print(f"streaming {args.rate:g}/s for {args.seconds:g} s; faults at "
              + ", ".join(f"{at:.0f}s {kind}" for at, kind in plan), flush=True)
        for at, kind in plan:
            wait = started + at - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            fault = faults.inject(kind, rng)
            fault["at_s"] = round(time.monotonic() - started, 1)
            print(f"  {fault['at_s']:6.1f}s  {kind:8}  {fault['detail']}", flush=True)
        streamer.join()
        print(f"stream done after {time.monotonic() - started:.0f} s: {record.sent} sent, "
              f"{len(record.accepted)} accepted; waiting for quiescence…", flush=True)
        settle_started = time.monotonic()
        state = settle(db_url, run, queues, args.settle)
        # Then beat stops (no new SLA levels fall due while the books are checked) and what it sent last drains.
        next(p for p in processes if p.name == "beat").stop()
        state = settle(db_url, run, queues, 60)
        settle_s = time.monotonic() - settle_started
        time.sleep(2)  # the last catch-up poll
        stop_watch.set()
        with psycopg.connect(db_url, autocommit=True) as conn:
            figures, violations = check(conn, run, record, mail_dir)
        catch_up = [f["catch_up_s"] for f in faults.done if f["catch_up_s"] is not None]
        figures.update({
            "seconds": args.seconds, "rate": args.rate, "seed": args.seed, "settle_s": round(settle_s, 1),
            "quiescent": state, "restarts": {p.name: p.restarts for p in processes},
            "died_unasked": {p.name: p.restarts - p.kills for p in processes if p.restarts > p.kills},
            "faults": [{k: f[k] for k in ("kind", "at_s", "detail", "catch_up_s")} for f in faults.done],
            "catch_up_max_s": max(catch_up, default=None),
            "catch_up_median_s": statistics.median(catch_up) if catch_up else None,
        })
        not_caught = [f for f in faults.done if f["catch_up_s"] is None]
        if not_caught:
            violations.append(f"faults never caught up: {len(not_caught)}")
        report(figures, violations)
        if args.json:
            Path(args.json).write_text(json.dumps({**figures, "violations": violations}, indent=2))
        return 1 if violations else 0
    finally:
        stop_watch.set()
        for process in reversed(processes):
            process.stop()
        redis.kill()


def settle(db_url: str, run: str, queues: list[str], limit_s: float) -> dict:
    """Wait (at most ``limit_s``) until nothing waits: no backlog, no pending notice, empty queues."""
    started, state = time.monotonic(), {}
    while time.monotonic() - started < limit_s:
        try:
            with psycopg.connect(db_url, autocommit=True) as conn:
                state = quiescent(conn, run, REDIS_PORT, queues)
        except Exception as exc:  # noqa: BLE001 - keep waiting through the end of a fault
            state = {"error": str(exc)}
        if state.get("backlog") == 0 and state["pending_notifications"] == 0 and state["queued"] == 0 \
                and state["unsent_sla"] == 0:
            break
        time.sleep(1)
    return state


def wait_http() -> None:
    for _ in range(300):
        try:
            connection = http.client.HTTPConnection("127.0.0.1", HTTP_PORT, timeout=1)
            connection.request("GET", "/open311/v2/discovery.json")
            connection.getresponse().read()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("gunicorn did not start")


def report(figures: dict, violations: list[str]) -> None:
    print("\n== fault replay ==")
    for name in ("sent", "accepted", "refused_4xx", "gave_up", "stored", "duplicates", "lost",
                 "answered_with_another_id", "stored_but_never_acknowledged", "linked", "routed",
                 "still_pending_link", "work_order_eligible", "with_work_order", "open_without_work_order",
                 "closed_before_work_order", "work_orders", "updates_sent", "updates_accepted", "updates_lost",
                 "updates_stored_twice", "notifications", "emails_written", "emails_twice", "emails_missing",
                 "sla_escalations", "sla_notified", "sla_emails", "client_retries", "answer_s", "restarts",
                 "died_unasked", "settle_s"):
        print(f"  {name:32} {figures[name]}")
    print("  faults (catch-up: until nothing accepted before the fault waits for its link or work order):")
    for f in figures["faults"]:
        print(f"    {f['at_s']:7.1f}s  {f['kind']:8}  catch-up {f['catch_up_s']} s  ({f['detail']})")
    print(f"  catch-up max {figures['catch_up_max_s']} s, median {figures['catch_up_median_s']} s")
    print("  violations: " + ("none" if not violations else ""))
    for v in violations:
        print(f"    - {v}")
    print("PASS" if not violations else "FAIL")


if __name__ == "__main__":
    sys.exit(main())
