"""Audit log of staff actions: who did what to which object, from where (a leaf app: imports no other app)."""
