"""File import into the registry: mapping files, OGR readers, row checks, set-based upsert."""
