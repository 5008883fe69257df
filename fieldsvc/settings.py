"""Settings for fieldsvc: environment-driven, with safe defaults for the embedded local stack."""

import glob
import os
import sys
from pathlib import Path

import environ
from celery.schedules import crontab

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# scripts/stack.sh writes the local stack's DATABASE_URL / CELERY_BROKER_URL here; the real
# environment always wins (read_env never overrides a variable that is already set).
if (BASE_DIR / ".stack" / "env").exists():
    environ.Env.read_env(BASE_DIR / ".stack" / "env")

# --- Core -------------------------------------------------------------------------------------
DEBUG = env.bool("DJANGO_DEBUG", default=False)
# Production is the default: HTTPS only, a real secret key and host names required (docs/security.md).
# FIELDSVC_PLAIN_HTTP=1 is the explicit opt-out for runs on loopback over plain HTTP: the local stack writes it
# to .stack/env when it serves on 127.0.0.1 (scripts/stack.sh), and the test suite (live_server, the test
# client) runs with it. It never switches on by itself elsewhere.
PLAIN_HTTP = DEBUG or env.bool("FIELDSVC_PLAIN_HTTP", default="pytest" in sys.modules)
if PLAIN_HTTP:
    SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="fieldsvc-insecure-local-only-key-change-me")
    ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
else:
    SECRET_KEY = env.str("DJANGO_SECRET_KEY")  # required: ImproperlyConfigured without it
    # As Django's deploy check judges a key: 50+ characters, 5+ different ones, not a generated placeholder.
    if len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5 or SECRET_KEY.startswith(("django-insecure", "fieldsvc-")):
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be a random value of 50+ characters in production: "
                                   "python -c 'import secrets; print(secrets.token_urlsafe(50))'")
    ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS")  # required: the site's host names
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
# Cookies only over HTTPS; HSTS (a year, subdomains and preload unless turned off: preload is a promise to
# browsers, see hstspreload.org); plain-HTTP requests redirected (except /health, for load balancers' probes).
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = not PLAIN_HTTP
SECURE_SSL_REDIRECT = not PLAIN_HTTP and env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SECURE_REDIRECT_EXEMPT = [r"^health$"]
SECURE_HSTS_SECONDS = 0 if PLAIN_HTTP else env.int("DJANGO_HSTS_SECONDS", default=31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not PLAIN_HTTP and env.bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = not PLAIN_HTTP and env.bool("DJANGO_HSTS_PRELOAD", default=True)
# Behind a proxy that ends TLS and sets X-Forwarded-Proto (opt-in: trusting the header without such a proxy
# would let any client claim HTTPS).
if env.bool("DJANGO_SECURE_PROXY_SSL_HEADER", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"  # no page of fieldsvc is meant to be framed
SESSION_COOKIE_HTTPONLY = True

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.gis",
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework.authtoken",
    "rest_framework_gis",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "gisserver",
    "gis",
    "workorders",
    "tiles",
    "gis.audit",
    "fieldsvc",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "fieldsvc.outage.DatabaseUnavailableMiddleware",  # the database lost mid-request: 503 + Retry-After, not 500
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "fieldsvc.replica.ReplicaReadsMiddleware",  # read-heavy paths on the replica; read-your-writes after a write
    "gis.audit.context.AuditOriginMiddleware",  # where staff actions come from, for the audit log
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "fieldsvc.urls"
WSGI_APPLICATION = "fieldsvc.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database: PostGIS, always ----------------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL", default="postgis://fieldsvc@127.0.0.1:55432/fieldsvc")}
DATABASES["default"]["ENGINE"] = "django.contrib.gis.db.backends.postgis"
# Persistent connections: the first PostGIS call on a new backend costs ~20 ms (reference §6.2).
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Parameters bound by the server, and a statement run 5 times on a connection is prepared there: the
# intake and nearby-cases paths then skip parsing and planning (PostgreSQL CPU per intake -35%).
# Behind PgBouncer in transaction mode (< 1.21) set DATABASE_PREPARE_THRESHOLD=0 to turn preparing off.
DATABASES["default"].setdefault("OPTIONS", {}).update(
    server_side_binding=True, prepare_threshold=env.int("DATABASE_PREPARE_THRESHOLD", default=5) or None,
    # A server that does not answer fails the connect after this many seconds instead of hanging a worker (or
    # a forked linking child) forever; the caller's retry or sweeper takes over.
    connect_timeout=env.int("DATABASE_CONNECT_TIMEOUT_S", default=10),
)
# Test runs may name their own database (several checkouts or agents sharing one cluster).
if env.str("FIELDSVC_TEST_DB_NAME", default=""):
    DATABASES["default"]["TEST"] = {"NAME": env.str("FIELDSVC_TEST_DB_NAME")}
# A streaming replica (scripts/stack.sh makes one; DATABASE_REPLICA_URL names any other) takes the read-heavy
# paths: WFS, tiles, nearby cases, statistics (fieldsvc/replica.py, docs/scaling.md). Without one, all reads are
# on the primary. Tests see it as a mirror of the test database (no database is created on a read-only standby);
# tests/test_replica.py points it at the real standby.
if env.str("DATABASE_REPLICA_URL", default=""):
    DATABASES["replica"] = {
        **env.db("DATABASE_REPLICA_URL"), "ENGINE": "django.contrib.gis.db.backends.postgis",
        "CONN_MAX_AGE": DATABASES["default"]["CONN_MAX_AGE"], "CONN_HEALTH_CHECKS": True,
        "OPTIONS": {**DATABASES["default"]["OPTIONS"], "connect_timeout": 2}, "TEST": {"MIRROR": "default"},
    }
DATABASE_ROUTERS = ["fieldsvc.replica.ReplicaRouter"]
# Off under pytest (a test's uncommitted rows are not on any replica) unless a test turns it on.
FIELDSVC_REPLICA_READS = env.bool("FIELDSVC_REPLICA_READS", default="pytest" not in sys.modules)
# A replica further behind than this (seconds) is skipped: the primary answers until it catches up.
FIELDSVC_REPLICA_MAX_LAG_S = env.float("FIELDSVC_REPLICA_MAX_LAG_S", default=5.0)
# Seconds a web process trusts its last look at the replica's lag (a replica found down: 5x as long).
FIELDSVC_REPLICA_CHECK_S = env.float("FIELDSVC_REPLICA_CHECK_S", default=1.0)
# GETs under these paths read from the replica (tiles choose per tile they build: tiles/views.py).
FIELDSVC_REPLICA_PATHS = env.list("FIELDSVC_REPLICA_PATHS", default=[
    "/wfs/", "/report/nearby.json", "/open311/v2/requests.json", "/api/stats/", "/stats/"])
# After a write, the same client (browser, user, or address) reads from the primary this many seconds.
FIELDSVC_READ_YOUR_WRITES_S = env.float("FIELDSVC_READ_YOUR_WRITES_S", default=10.0)
# Sessions in the database, caches and counters in Redis: any web process answers any request (no sticky
# sessions behind a load balancer); uploads go to MEDIA_ROOT, a shared path or object storage (docs/scaling.md).
SESSION_ENGINE = "django.contrib.sessions.backends.db"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# GeoDjango finds GDAL/GEOS by name; without the -dev packages only the versioned .so exists.
GDAL_LIBRARY_PATH = env.str("GDAL_LIBRARY_PATH", default="") or next(
    iter(sorted(glob.glob("/usr/lib/*-linux-gnu/libgdal.so*"))), None
)
GEOS_LIBRARY_PATH = env.str("GEOS_LIBRARY_PATH", default="") or next(
    iter(sorted(glob.glob("/usr/lib/*-linux-gnu/libgeos_c.so*"))), None
)

# GDAL < 3.9 cannot block file/network access from spatial references (gis.W001). Debian 12 ships
# 3.6; fieldsvc reads uploaded files with pyogrio's own GDAL (3.12) and gives GeoDjango's GDAL only
# geometries it built itself, so the check is silenced here on purpose.
SILENCED_SYSTEM_CHECKS = ["gis.W001"]

# --- fieldsvc ---------------------------------------------------------------------------------
# Storage CRS: one projected CRS in metres per deployment. EPSG:26986 = NAD83 / Massachusetts
# Mainland (metres), right for the Boston-area demo. Read by the models and migrations at import
# time: change it only before the first migrate (see docs/storage-crs.md).
FIELDSVC_STORAGE_SRID = env.int("FIELDSVC_STORAGE_SRID", default=26986)
# Rows per batch read, checked and COPYed to the stage during file import (memory stays ~batch-sized).
FIELDSVC_IMPORT_BATCH_ROWS = env.int("FIELDSVC_IMPORT_BATCH_ROWS", default=50_000)
# An import adding at least this many rows, and at least half as many as the table already has,
# rebuilds the table's indexes after loading instead of growing them (gis/spatial/bulkload.py):
# ~3x faster, but readers of that table wait until the import commits.
FIELDSVC_IMPORT_BULK_MIN_ROWS = env.int("FIELDSVC_IMPORT_BULK_MIN_ROWS", default=100_000)
# Rejected rows kept on an import run's record (all are printed by the command).
FIELDSVC_IMPORT_MAX_STORED_REJECTS = env.int("FIELDSVC_IMPORT_MAX_STORED_REJECTS", default=1000)
# An import run still 'queued' after this many seconds is re-enqueued by the beat sweeper.
FIELDSVC_IMPORT_REQUEUE_AFTER_S = env.int("FIELDSVC_IMPORT_REQUEUE_AFTER_S", default=300)
# Seconds /health waits for a Celery worker to answer a ping.
FIELDSVC_HEALTH_WORKER_TIMEOUT_S = env.float("FIELDSVC_HEALTH_WORKER_TIMEOUT_S", default=1.0)
# Seconds a process trusts its copy of the catalogue, departments and API keys (workorders/cached.py).
FIELDSVC_CATALOGUE_RECHECK_S = env.float("FIELDSVC_CATALOGUE_RECHECK_S", default=10.0)
# Seconds an in-process district lookup index is trusted before checking the table for changes.
FIELDSVC_AREAS_RECHECK_S = env.float("FIELDSVC_AREAS_RECHECK_S", default=30.0)
# Where uploaded import files are kept until their run has finished.
FIELDSVC_IMPORT_DIR = Path(env.str("FIELDSVC_IMPORT_DIR", default=str(BASE_DIR / ".stack" / "imports")))

# --- Open311 GeoReport v2 (workorders/open311) -------------------------------------------------
# The one jurisdiction this server answers for; clients may send it or leave it out.
FIELDSVC_OPEN311_JURISDICTION = env.str("FIELDSVC_OPEN311_JURISDICTION", default="boston.gov")
FIELDSVC_OPEN311_CONTACT = env.str("FIELDSVC_OPEN311_CONTACT", default="311 Constituent Services, 311@example.city")
FIELDSVC_OPEN311_KEY_SERVICE = env.str(
    "FIELDSVC_OPEN311_KEY_SERVICE", default="API keys are issued by the city's 311 team: 311@example.city"
)
# Public base URL of the server (discovery and media links); empty: taken from each request.
FIELDSVC_PUBLIC_URL = env.str("FIELDSVC_PUBLIC_URL", default="")
# GET /requests: the spec's default window (days) and most items per page.
FIELDSVC_OPEN311_WINDOW_DAYS = env.int("FIELDSVC_OPEN311_WINDOW_DAYS", default=90)
FIELDSVC_OPEN311_MAX_PAGE_SIZE = env.int("FIELDSVC_OPEN311_MAX_PAGE_SIZE", default=1000)
# Without an Idempotency-Key, the same report from the same device_id within this many seconds is a
# client's retry and gets the first request back.
FIELDSVC_OPEN311_RETRY_WINDOW_S = env.int("FIELDSVC_OPEN311_RETRY_WINDOW_S", default=86_400)
# Photos uploaded with a request: at most this many, each at most this many bytes, images only.
FIELDSVC_MEDIA_MAX_FILES = env.int("FIELDSVC_MEDIA_MAX_FILES", default=5)
FIELDSVC_MEDIA_MAX_BYTES = env.int("FIELDSVC_MEDIA_MAX_BYTES", default=10 * 1024 * 1024)

# --- Crews' tablets (workorders/field_*.py, docs/field-api.md) ---------------------------------
# Finished work stays on the crew's tablets this many hours (then a tombstone takes it off).
FIELDSVC_FIELD_KEEP_DONE_H = env.float("FIELDSVC_FIELD_KEEP_DONE_H", default=24.0)
# The change feed keeps this many days; a tablet with an older cursor downloads its work again.
FIELDSVC_FIELD_FEED_KEEP_DAYS = env.int("FIELDSVC_FIELD_FEED_KEEP_DAYS", default=14)
# Idempotency keys (and queued edits' ids) are remembered this many hours.
FIELDSVC_IDEMPOTENCY_KEEP_H = env.float("FIELDSVC_IDEMPOTENCY_KEEP_H", default=72.0)
# An unfinished resumable upload is kept this many hours after its last byte (tus Upload-Expires).
FIELDSVC_UPLOAD_KEEP_H = env.float("FIELDSVC_UPLOAD_KEEP_H", default=72.0)
# Most queued edits in one POST /api/field/sync.
FIELDSVC_FIELD_BATCH_MAX = env.int("FIELDSVC_FIELD_BATCH_MAX", default=200)

# A new report of the same or a related service this close to an open one, within this many hours
# of it, is filed as its duplicate (the reporter then follows the first report).
FIELDSVC_DUPLICATE_RADIUS_M = env.float("FIELDSVC_DUPLICATE_RADIUS_M", default=40.0)
FIELDSVC_DUPLICATE_WINDOW_H = env.float("FIELDSVC_DUPLICATE_WINDOW_H", default=168.0)

# --- Linking and routing (workorders/linking.py) -----------------------------------------------
# Utilities "beneath" a report: lines and structures of each kind within this many metres of it
# (a kind left out is never looked for). JSON in the environment: {"water": 10, "gas": 5}.
FIELDSVC_UTILITY_BUFFER_M = env.json("FIELDSVC_UTILITY_BUFFER_M", default={
    "water": 10.0, "sewer": 10.0, "storm": 10.0, "gas": 5.0, "electric": 3.0, "telecom": 3.0,
})
# An asset the reporter names (attribute[asset_id], service_object_id) is taken when at most this many
# metres from the report; farther, it is flagged and the nearest asset used instead.
FIELDSVC_LINK_NAMED_ASSET_MAX_M = env.float("FIELDSVC_LINK_NAMED_ASSET_MAX_M", default=50.0)
# Requests still unlinked this many seconds after intake (their task was lost) are linked by the sweeper.
FIELDSVC_LINK_SWEEP_AFTER_S = env.int("FIELDSVC_LINK_SWEEP_AFTER_S", default=60)
# A web process sends the ids of the requests it took within this many seconds as one linking task
# (publishing one message per request cost a quarter of intake throughput).
FIELDSVC_LINK_SEND_WINDOW_S = env.float("FIELDSVC_LINK_SEND_WINDOW_S", default=0.1)
# Batches at least this large are linked against in-memory STRtrees of the registry; smaller ones
# ask PostGIS per report (loading the registry costs more than a few hundred KNN queries).
FIELDSVC_LINK_MEMORY_MIN_BATCH = env.int("FIELDSVC_LINK_MEMORY_MIN_BATCH", default=2000)
# A routed report joins an open, not yet started work order of its service within this many metres
# (a row of dark streetlights is one job); 0 gives every report its own.
FIELDSVC_WORK_ORDER_GROUP_M = env.float("FIELDSVC_WORK_ORDER_GROUP_M", default=60.0)
# Travel estimates for dispatch and day plans (workorders/travel.py): straight-line metres times this
# detour factor, at this speed.
FIELDSVC_TRAVEL_DETOUR = env.float("FIELDSVC_TRAVEL_DETOUR", default=1.4)
FIELDSVC_TRAVEL_SPEED_KMH = env.float("FIELDSVC_TRAVEL_SPEED_KMH", default=25.0)
# A day plan offers each crew at most this many of the most urgent open work orders (the rest wait).
FIELDSVC_PLAN_STOPS_PER_CREW = env.int("FIELDSVC_PLAN_STOPS_PER_CREW", default=30)
# Vector tiles stay in the shared cache this long; data changes remove the tiles they touch sooner.
FIELDSVC_TILE_CACHE_S = env.int("FIELDSVC_TILE_CACHE_S", default=86400)
# Cached tiles of public layers answered before Django (tiles/fastpath.py); off: every tile through Django.
FIELDSVC_TILE_FAST_PATH = env.bool("FIELDSVC_TILE_FAST_PATH", default=True)
# A WFS client's Basic credentials, once checked, are trusted this long (QGIS pages with many requests).
FIELDSVC_WFS_AUTH_CACHE_S = env.int("FIELDSVC_WFS_AUTH_CACHE_S", default=300)
# WFS (django-gisserver): GML/GeoJSON/CSV rendered by PostGIS; numberMatched counted on the first page only,
# since a COUNT per page doubles the cost of paging through a big layer; lon/lat for "EPSG:4326" as GeoServer does.
GISSERVER_USE_DB_RENDERING = True
GISSERVER_COUNT_NUMBER_MATCHED = 2
GISSERVER_FORCE_XY_EPSG_4326 = True
GISSERVER_SUPPORTED_CRS_ONLY = True
# GetFeature's formats: django-gisserver's own (GML 3.2, GeoJSON, CSV, DB-rendered, same names and titles),
# except that GeoJSON is written from rows when every property is a plain column, of the feature's table or
# through forward keys (gis/wfs/output.py): the same bytes, 100k points in 0.6-0.8 s instead of 2.1 s, so
# an export outpaces ogr2ogr (bench/wfs_bench.py). gis.apps imports the classes (django-gisserver 2.5 can't).
GISSERVER_GET_FEATURE_OUTPUT_FORMATS = {
    "application/gml+xml": {"version": "3.2", "renderer_class": "gisserver.output.DBGML32Renderer", "title": "GML"},
    "text/xml": {"subtype": "gml/3.2.1", "renderer_class": "gisserver.output.DBGML32Renderer", "title": "GML 3.2.1"},
    "application/json": {"subtype": "geojson", "charset": "utf-8",
                         "renderer_class": "gis.wfs.output.RowGeoJsonRenderer", "title": "GeoJSON"},
    "geojson": {"renderer_class": "gis.wfs.output.RowGeoJsonRenderer"},  # the alias ArcGIS Online needs
    "text/csv": {"subtype": "csv", "charset": "utf-8", "renderer_class": "gisserver.output.DBCSVRenderer",
                 "title": "CSV"},
}
# Such batches are linked by this many forked processes sharing the index (1: threads in this process).
FIELDSVC_LINK_PROCESSES = env.int("FIELDSVC_LINK_PROCESSES", default=os.cpu_count() or 1)

# Rate limits (fixed one-minute windows counted in Redis; a 429 with Retry-After past them).
FIELDSVC_OPEN311_RATE_PER_KEY = env.int("FIELDSVC_OPEN311_RATE_PER_KEY", default=6000)  # POSTs/min per API key
FIELDSVC_OPEN311_RATE_PER_ADDRESS = env.int("FIELDSVC_OPEN311_RATE_PER_ADDRESS", default=1200)  # calls/min per IP
# How many proxies in front of fieldsvc append to X-Forwarded-For (0: use the socket's address).
FIELDSVC_TRUSTED_PROXIES = env.int("FIELDSVC_TRUSTED_PROXIES", default=0)

# --- Celery -----------------------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="redis://127.0.0.1:56379/0")

# Shared cache (rate-limit counters): Redis, database 1 of the broker's server unless given.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": env.str("CACHE_URL", default=CELERY_BROKER_URL.rsplit("/", 1)[0] + "/1"),
        "KEY_PREFIX": "fieldsvc",
        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
    }
}
# Results (e.g. an import run's final status) live in Redis for an hour, for callers that wait.
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=CELERY_BROKER_URL)
CELERY_RESULT_EXPIRES = 3600
# Where tasks go unless routed (a test worker sets its own so nothing it enqueues reaches another worker).
# Under pytest the default is a queue no stack worker reads (emptied at the end of the session): tasks
# the tests' intake sends must not reach the demo's worker on the same broker.
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_TASK_DEFAULT_QUEUE",
                                    default="fieldsvc-tests" if "pytest" in sys.modules else "celery")
# Work split by kind into queues, each with workers of its own (scripts/stack.sh demo starts one per queue;
# docs/scaling.md: several per queue, on several machines), so a burst of one kind (tile invalidations after
# an import, a day plan's solver) never delays another (intake linking, residents' notices). Names follow
# the default queue: the stack's "celery" gives linking, notifications, tiles, planning; any other (the
# tests', a bench's, a test's own worker) gives "<it>.linking" and so on, never read by the stack's workers.
FIELDSVC_CELERY_QUEUE_KINDS = {
    "linking": ["workorders.tasks.request_link_task", "workorders.tasks.requests_link_task",
                "workorders.tasks.request_link_sweep_task", "workorders.tasks.requests_relink_near_task",
                "workorders.tasks.work_orders_generate_task"],
    "notifications": ["workorders.tasks.notification_send_task", "workorders.tasks.notification_requeue_pending_task",
                      "workorders.tasks.sla_escalate_task", "workorders.tasks.sla_escalation_notify_task"],
    "tiles": ["tiles.tasks.tiles_invalidate_task", "tiles.tasks.tiles_summary_fold_task"],
    "planning": ["workorders.tasks.day_plan_make_task", "workorders.tasks.day_plans_morning_task",
                 "workorders.tasks.day_plan_insert_urgent_task", "workorders.tasks.work_orders_autodispatch_task"],
}  # everything else (imports, pruning) stays on the default queue
_QUEUE_PREFIX = "" if CELERY_TASK_DEFAULT_QUEUE == "celery" else f"{CELERY_TASK_DEFAULT_QUEUE}."
# Every queue a deployment needs workers for, the default first.
FIELDSVC_CELERY_QUEUES = [CELERY_TASK_DEFAULT_QUEUE] + [_QUEUE_PREFIX + kind for kind in FIELDSVC_CELERY_QUEUE_KINDS]
CELERY_TASK_ROUTES = {task: {"queue": _QUEUE_PREFIX + kind}
                      for kind, tasks in FIELDSVC_CELERY_QUEUE_KINDS.items() for task in tasks}
CELERY_TASK_ACKS_LATE = True  # a task killed mid-run is redelivered; our tasks are idempotent
# Celery's Django fixup closes every database connection before and after each task unless this is set, so each
# task paid a new PostgreSQL connection (authentication, PostGIS set-up): the fault replay's workers sent about
# one notice a second. Kept instead (checked before each task: fieldsvc/celery.py), renewed every this many tasks.
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=1000)
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 3600
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
# The sweepers for work a lost message left behind (links, work orders, SLA levels, notifications) run each
# minute; FIELDSVC_SWEEP_EVERY_S (seconds) below 60 runs them more often (the fault replay's short runs).
FIELDSVC_SWEEP_EVERY_S = env.float("FIELDSVC_SWEEP_EVERY_S", default=60.0)
_SWEEP = crontab(minute="*") if FIELDSVC_SWEEP_EVERY_S >= 60 else FIELDSVC_SWEEP_EVERY_S
CELERY_BEAT_SCHEDULE = {
    # Import runs are recorded before they are enqueued; a dead worker or a broker outage can
    # drop the message, so every 5 minutes stale 'queued' runs are sent again.
    "import-run-requeue-stalled": {
        "task": "gis.tasks.import_run_requeue_stalled_task",
        "schedule": crontab(minute="*/5"),
    },
    # Status-change messages are written to the database with the change; one whose task was
    # lost (worker or broker down) is sent again by this sweep.
    "notification-requeue-pending": {
        "task": "workorders.tasks.notification_requeue_pending_task",
        "schedule": (crontab(minute="*/5") if FIELDSVC_SWEEP_EVERY_S >= 60 else _SWEEP),
    },
    # Every request is recorded 'pending' with its intake; one whose linking task was lost (broker
    # down, worker killed) is linked here, in a batch, within about a minute of the outage ending.
    "request-link-sweep": {
        "task": "workorders.tasks.request_link_sweep_task",
        "schedule": _SWEEP,
    },
    # Linking tasks make each routed request's work order; requests linked in batches (relink,
    # imports, the sweeper) or whose task was lost get theirs here (5,000 a run).
    "work-orders-generate": {
        "task": "workorders.tasks.work_orders_generate_task",
        "schedule": _SWEEP,
    },
    # Ready work of services marked auto_dispatch goes to the best crew on shift (SKIP LOCKED: safe
    # next to dispatchers and to a second beat by mistake).
    "work-orders-autodispatch": {
        "task": "workorders.tasks.work_orders_autodispatch_task",
        "schedule": crontab(minute="*"),
    },
    # Low-zoom tiles read cell counts that triggers append to (tiles/summary.py); folding the appended
    # changes each minute keeps what a tile reads small.
    "tiles-summary-fold": {
        "task": "tiles.tasks.tiles_summary_fold_task",
        "schedule": crontab(minute="*"),
    },
    # Each morning, a day plan for every department with crews (the solver runs in the worker).
    "day-plans-morning": {
        "task": "workorders.tasks.day_plans_morning_task",
        "schedule": crontab(hour=6, minute=0),
    },
    # The one SLA sweeper: records warning and breach levels reached (each once, by a unique
    # constraint) and sends the departments' notices, again for any a lost task left unsent.
    "sla-escalate": {
        "task": "workorders.tasks.sla_escalate_task",
        "schedule": _SWEEP,
    },
    # Hourly: forget old feed rows and idempotency keys, delete abandoned partial uploads.
    "field-sync-prune": {
        "task": "workorders.tasks.field_sync_prune_task",
        "schedule": crontab(minute=17),
    },
}

# --- REST framework ---------------------------------------------------------------------------
# ModelBackend that treats a NUL in a username as no user (PostgreSQL text cannot hold NUL): fieldsvc/auth.py.
AUTHENTICATION_BACKENDS = ["fieldsvc.auth.ModelBackendNulSafe"]
REST_FRAMEWORK = {
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 100,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
# OpenAPI (drf-spectacular) at /api/schema/, browsable at /api/docs/ with Swagger UI served locally.
SPECTACULAR_SETTINGS = {
    "TITLE": "fieldsvc API",
    "DESCRIPTION": (
        "Open311 GeoReport v2 (XML by default, JSON with the .json suffix) with the extensions real "
        "clients use, and the registry API. POST needs an api_key (manage.py open311_key create)."
    ),
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums",
                             "workorders.open311.schema.one_format_per_path"],
}

# --- i18n, static -----------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("DJANGO_TIME_ZONE", default="America/New_York")
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# Uploaded photos (served by fieldsvc at /media/; a production proxy may serve the folder itself).
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env.str("DJANGO_MEDIA_ROOT", default=str(BASE_DIR / ".stack" / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("DJANGO_LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# --- Notifications -----------------------------------------------------------------------------
# Email goes through Django's email framework; the local demo writes messages to .stack/mail/.
EMAIL_BACKEND = env.str("DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.filebased.EmailBackend")
EMAIL_FILE_PATH = env.str("DJANGO_EMAIL_FILE_PATH", default=str(BASE_DIR / ".stack" / "mail"))
EMAIL_HOST = env.str("DJANGO_EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("DJANGO_EMAIL_PORT", default=25)
DEFAULT_FROM_EMAIL = env.str("DJANGO_DEFAULT_FROM_EMAIL", default="311 <no-reply@example.city>")
# SMS: a class with send(to=, subject=, body=); the default only logs.
FIELDSVC_SMS_BACKEND = env.str("FIELDSVC_SMS_BACKEND", default="workorders.notifications.LogSmsSender")
# Notifications still pending after this many seconds are sent again by the beat sweeper.
FIELDSVC_NOTIFY_RETRY_AFTER_S = env.int("FIELDSVC_NOTIFY_RETRY_AFTER_S", default=300)
FIELDSVC_NOTIFY_MAX_ATTEMPTS = env.int("FIELDSVC_NOTIFY_MAX_ATTEMPTS", default=5)
