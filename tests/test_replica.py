"""The streaming replica (scripts/stack.sh makes it): reads served from it, read-your-writes after a write, and
the primary answering when the replica lags or is down. Rows are committed (the replica copies commits)."""

import json
import time

import pytest
from django.contrib.gis.geos import Point
from django.core.cache import cache
from django.db import connections
from django.test import Client

from fieldsvc import replica
from gis import crs
from gis.models import Asset, AssetType
from workorders.services import api_key_create
from workorders.services import catalogue_load as services_catalogue_load

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True, databases=["default", "replica"])]

LON, LAT = -71.1431224, 42.3804127


@pytest.fixture
def standby(settings, registry):
    """The ``replica`` alias on the real standby (the test database arrives there by streaming), reads from
    it turned on, looked at on every request; replay running again afterwards whatever happened."""
    if "replica" not in settings.DATABASES:
        pytest.skip("no replica configured: scripts/stack.sh up makes one (DATABASE_REPLICA_URL)")
    conn, real = connections["replica"], settings.DATABASES["replica"]
    mirror = conn.settings_dict
    conn.close()
    on_real = {**connections["default"].settings_dict, "HOST": real["HOST"], "PORT": real["PORT"]}
    conn.settings_dict = on_real
    settings.FIELDSVC_REPLICA_READS = True
    settings.FIELDSVC_REPLICA_CHECK_S = 0
    settings.FIELDSVC_REPLICA_MAX_LAG_S = 60
    cache.delete_many(["wrote:addr:127.0.0.1", "wrote:addr:10.0.0.7"])
    replica.forget()
    yield conn
    conn.close()
    conn.settings_dict = on_real  # a test may have pointed it elsewhere
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT pg_wal_replay_resume()")
    finally:
        conn.close()
        conn.settings_dict = mirror
        replica.forget()


def on_standby(conn, sql: str, params=()):
    with conn.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


def caught_up(conn, timeout_s: float = 30) -> None:
    """Wait until the standby has replayed everything the primary has written so far."""
    target = replica.primary_lsn()
    deadline = time.monotonic() + timeout_s
    while on_standby(conn, "SELECT (pg_last_wal_replay_lsn() - '0/0'::pg_lsn)::bigint")[0] < target:
        assert time.monotonic() < deadline, "the replica did not catch up"
        time.sleep(0.05)


def lamp(external_id: str) -> Asset:
    return Asset.objects.create(asset_type=AssetType.objects.get(code="streetlight"), external_id=external_id,
                                geom=Point(*crs.storage_point(LON, LAT), srid=crs.storage_srid()))


def wfs_ids(client: Client) -> set[str]:
    response = client.get("/wfs/", {"SERVICE": "WFS", "VERSION": "2.0.0", "REQUEST": "GetFeature",
                                    "TYPENAMES": "asset_streetlight", "OUTPUTFORMAT": "geojson"})
    assert response.status_code == 200
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return {feature["properties"]["external_id"] for feature in json.loads(body)["features"]}


def test_wfs_reads_come_from_the_replica(standby):
    """A row replayed on the standby is served; one committed while replay is paused is not: the answer came
    from the standby, a server in recovery."""
    lamp("L-replayed")
    caught_up(standby)
    assert on_standby(standby, "SELECT pg_is_in_recovery()") == (True,)
    assert on_standby(standby, f"SELECT count(*) FROM {Asset._meta.db_table} WHERE external_id = 'L-replayed'") == (1,)
    on_standby(standby, "SELECT pg_wal_replay_pause()")
    lamp("L-not-yet")
    assert wfs_ids(Client()) == {"L-replayed"}
    on_standby(standby, "SELECT pg_wal_replay_resume()")
    caught_up(standby)
    assert wfs_ids(Client()) == {"L-replayed", "L-not-yet"}


def test_a_client_reads_its_own_write_while_the_replica_is_paused(standby):
    """Open311: the client that posted sees its request at once (primary, for FIELDSVC_READ_YOUR_WRITES_S);
    another client reads the paused replica, where it is not yet."""
    services_catalogue_load(data={"services": [{
        "code": "streetlight-outage", "name": "Street Light Outage", "department": "street-lighting",
        "asset_types": ["streetlight"], "snap_distance_m": 30}]})
    _, key = api_key_create(name="replica test")
    caught_up(standby)
    on_standby(standby, "SELECT pg_wal_replay_pause()")
    writer, other = Client(), Client(REMOTE_ADDR="10.0.0.7")
    posted = writer.post("/open311/v2/requests.json", {"api_key": key, "service_code": "streetlight-outage",
                                                       "lat": f"{LAT}", "long": f"{LON}", "description": "dark"})
    assert posted.status_code == 201, posted.content
    request_id = posted.json()[0]["service_request_id"]
    near = {"lat": f"{LAT}", "long": f"{LON}", "radius": "100"}
    assert [r["service_request_id"] for r in writer.get("/open311/v2/requests.json", near).json()] == [request_id]
    assert other.get("/open311/v2/requests.json", near).json() == []  # the replica, paused before the write
    # Without its cookie, the writer is still known by its address (API clients keep no cookies).
    writer.cookies.clear()
    assert [r["service_request_id"] for r in writer.get("/open311/v2/requests.json", near).json()] == [request_id]
    on_standby(standby, "SELECT pg_wal_replay_resume()")
    caught_up(standby)
    assert [r["service_request_id"] for r in other.get("/open311/v2/requests.json", near).json()] == [request_id]


def test_a_lagging_replica_is_skipped(standby, settings):
    lamp("L-old")
    caught_up(standby)
    on_standby(standby, "SELECT pg_wal_replay_pause()")
    lamp("L-new")
    settings.FIELDSVC_REPLICA_MAX_LAG_S = 0.2
    time.sleep(0.5)
    assert wfs_ids(Client()) == {"L-old", "L-new"}  # the primary answered
    state = replica.replica_state()
    assert not state.usable and state.lag_s > 0.2


def test_a_replica_that_is_down_leaves_the_primary_to_answer(standby):
    lamp("L-1")
    standby.close()
    standby.settings_dict = {**standby.settings_dict, "PORT": "1"}  # nothing listens there
    replica.forget()
    assert wfs_ids(Client()) == {"L-1"}
    assert not replica.replica_state().usable and replica.replica_state().error


def test_a_replica_that_fails_mid_request_is_retried_on_the_primary(standby, monkeypatch):
    """Usable when looked at, gone when queried (the standby restarted meanwhile): the view runs again on the
    primary, a 200."""
    lamp("L-2")
    caught_up(standby)
    replica.replica_state(fresh=True)
    standby.close()
    standby.settings_dict = {**standby.settings_dict, "PORT": "1"}
    monkeypatch.setattr(replica, "replica_state", lambda fresh=False: replica.ReplicaState(0, True, 0.0, 0))
    assert wfs_ids(Client()) == {"L-2"}


def test_writes_go_to_the_primary_even_in_a_replica_read_block(standby):
    caught_up(standby)
    with replica.reads_on("replica"):
        made = lamp("L-3")  # its asset type read from the replica, the asset written to the primary
        caught_up(standby)
        assert Asset.objects.get(pk=made.pk)._state.db == "replica"
    assert Asset.objects.get(pk=made.pk)._state.db == "default"



def test_tiles_to_be_cached_wait_for_a_replica_that_has_replayed_the_last_change(standby):
    """A tile cached from a replica behind the change that invalidated it would stay wrong until the next
    change: such a tile is built on the primary until the replica has replayed that far."""
    from django.test import RequestFactory

    from tiles import cache as tile_cache

    caught_up(standby)
    asking = RequestFactory().get("/tiles/assets/14/4957/6059.mvt")
    assert replica.read_alias(asking, min_lsn=tile_cache.changed_lsn("assets")) == "replica"
    on_standby(standby, "SELECT pg_wal_replay_pause()")
    made = lamp("L-tile")
    tile_cache.invalidate(["assets"], [bytes(made.geom.wkb)])
    assert replica.read_alias(asking, min_lsn=tile_cache.changed_lsn("assets")) == "default"
    assert replica.read_alias(asking) == "replica"  # a tile not to be cached may come from behind
    on_standby(standby, "SELECT pg_wal_replay_resume()")
    caught_up(standby)
    assert replica.read_alias(asking, min_lsn=tile_cache.changed_lsn("assets")) == "replica"


def test_health_shows_the_replica_and_its_lag(standby, client):
    caught_up(standby)
    assert client.get("/health").json()["replica"]["ok"] is True
    standby.close()
    standby.settings_dict = {**standby.settings_dict, "PORT": "1"}
    body = client.get("/health").json()
    assert body["replica"]["ok"] is False and body["replica"]["error"]
    assert body["database"]["ok"] is True  # the primary still serves


def test_behind_a_proxy_a_write_keeps_its_own_client_on_the_primary_not_everyone(standby, settings):
    from django.http import HttpResponse
    from django.test import RequestFactory

    settings.FIELDSVC_TRUSTED_PROXIES = 1
    factory = RequestFactory()  # every request comes from the balancer's address, 127.0.0.1
    cache.delete_many(["wrote:addr:198.51.100.1", "wrote:addr:198.51.100.2"])
    replica.ReplicaReadsMiddleware.mark_written(factory.post("/wfs/", HTTP_X_FORWARDED_FOR="198.51.100.1"),
                                                HttpResponse())
    caught_up(standby)
    assert replica.read_alias(factory.get("/wfs/", HTTP_X_FORWARDED_FOR="198.51.100.1")) == "default"
    assert replica.read_alias(factory.get("/wfs/", HTTP_X_FORWARDED_FOR="198.51.100.2")) == "replica"
