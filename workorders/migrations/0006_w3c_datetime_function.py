"""fieldsvc_w3c(ts, zone): a timestamp as Open311's W3C-DTF text in a time zone, in the database.

Public listings format every datetime this way; doing it in SQL (an inlined STABLE function) spares
the server parsing and re-formatting thousands of timestamps per page in Python."""

from django.db import migrations

CREATE = r"""
CREATE OR REPLACE FUNCTION fieldsvc_w3c(ts timestamptz, zone text) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT to_char(ts AT TIME ZONE zone, 'YYYY-MM-DD"T"HH24:MI:SS')
      || CASE WHEN (ts AT TIME ZONE zone) < (ts AT TIME ZONE 'UTC')
              THEN '-' || to_char((ts AT TIME ZONE 'UTC') - (ts AT TIME ZONE zone), 'HH24:MI')
              ELSE '+' || to_char((ts AT TIME ZONE zone) - (ts AT TIME ZONE 'UTC'), 'HH24:MI') END
$$
"""


class Migration(migrations.Migration):

    dependencies = [("workorders", "0005_lean_request_indexes")]

    operations = [migrations.RunSQL(CREATE, "DROP FUNCTION IF EXISTS fieldsvc_w3c(timestamptz, text)")]
