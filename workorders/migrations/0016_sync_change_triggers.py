"""The change feed's triggers: every change to a crew's work orders (and to their tasks, notes, materials,
photos and history), and every day plan stop, leaves a row in workorders_syncchange for that crew.
A work order leaving a crew (reassigned, taken back, deleted) leaves a 'delete' row: the tablet's tombstone.

Statement-level with transition tables, so a bulk update writes one set-based insert. Done in the database
rather than in Python so that no path (services, admin, WFS-T, bulk updates) can forget it.
"""

from django.db import migrations

# The transaction's id goes with each row: the feed reader uses it to hold back rows that an earlier,
# still uncommitted sequence number may precede (workorders/field_feed.py).
XID = "pg_current_xact_id()::text::bigint"

SQL = f"""
CREATE FUNCTION fieldsvc_sync_work_order_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO workorders_syncchange (crew_id, entity, entity_id, op, xid, at)
  SELECT n.crew_id, 'work_order', n.id, 'upsert', {XID}, now() FROM new_rows n WHERE n.crew_id IS NOT NULL;
  RETURN NULL;
END $$;

CREATE FUNCTION fieldsvc_sync_work_order_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO workorders_syncchange (crew_id, entity, entity_id, op, xid, at)
  SELECT o.crew_id, 'work_order', o.id, 'delete', {XID}, now()
    FROM old_rows o JOIN new_rows n ON n.id = o.id
   WHERE o.crew_id IS NOT NULL AND n.crew_id IS DISTINCT FROM o.crew_id
  UNION ALL
  SELECT n.crew_id, 'work_order', n.id, 'upsert', {XID}, now() FROM new_rows n WHERE n.crew_id IS NOT NULL;
  RETURN NULL;
END $$;

CREATE FUNCTION fieldsvc_sync_work_order_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO workorders_syncchange (crew_id, entity, entity_id, op, xid, at)
  SELECT o.crew_id, 'work_order', o.id, 'delete', {XID}, now() FROM old_rows o WHERE o.crew_id IS NOT NULL;
  RETURN NULL;
END $$;

CREATE TRIGGER work_order_sync_insert AFTER INSERT ON workorders_workorder
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION fieldsvc_sync_work_order_insert();
CREATE TRIGGER work_order_sync_update AFTER UPDATE ON workorders_workorder
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
  EXECUTE FUNCTION fieldsvc_sync_work_order_update();
CREATE TRIGGER work_order_sync_delete AFTER DELETE ON workorders_workorder
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION fieldsvc_sync_work_order_delete();

-- A child row changed: its work order's document changed for the crew holding it.
CREATE FUNCTION fieldsvc_sync_work_order_child() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO workorders_syncchange (crew_id, entity, entity_id, op, xid, at)
  SELECT DISTINCT w.crew_id, 'work_order', w.id, 'upsert', {XID}, now()
    FROM changed_rows c JOIN workorders_workorder w ON w.id = c.work_order_id WHERE w.crew_id IS NOT NULL;
  RETURN NULL;
END $$;

-- New plan stops: the crew's plan changed.
CREATE FUNCTION fieldsvc_sync_plan() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO workorders_syncchange (crew_id, entity, entity_id, op, xid, at)
  SELECT DISTINCT c.crew_id, 'plan', c.crew_id, 'upsert', {XID}, now() FROM changed_rows c;
  RETURN NULL;
END $$;
"""

CHILDREN = ("workorders_workordertask", "workorders_workordernote", "workorders_materialusage",
            "workorders_workorderphoto", "workorders_workorderevent")


def child_triggers(table: str) -> str:
    return "\n".join(
        f"CREATE TRIGGER {table}_sync_{event.lower()} AFTER {event} ON {table} REFERENCING {side} TABLE AS "
        f"changed_rows FOR EACH STATEMENT EXECUTE FUNCTION fieldsvc_sync_work_order_child();"
        for event, side in (("INSERT", "NEW"), ("UPDATE", "NEW"), ("DELETE", "OLD")))


PLAN = ("CREATE TRIGGER workorders_planstop_sync_insert AFTER INSERT ON workorders_planstop "
        "REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION fieldsvc_sync_plan();")

REVERSE = "\n".join(
    [f"DROP TRIGGER IF EXISTS {t}_sync_{e} ON {t};" for t in CHILDREN for e in ("insert", "update", "delete")]
    + ["DROP TRIGGER IF EXISTS workorders_planstop_sync_insert ON workorders_planstop;"]
    + [f"DROP TRIGGER IF EXISTS work_order_sync_{e} ON workorders_workorder;" for e in ("insert", "update", "delete")]
    + [f"DROP FUNCTION IF EXISTS fieldsvc_sync_{f}();" for f in
       ("work_order_insert", "work_order_update", "work_order_delete", "work_order_child", "plan")])


class Migration(migrations.Migration):
    dependencies = [("workorders", "0015_field_sync")]

    operations = [migrations.RunSQL(SQL + "\n".join(child_triggers(t) for t in CHILDREN) + "\n" + PLAN,
                                    REVERSE)]
