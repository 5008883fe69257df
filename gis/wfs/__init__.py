"""WFS 2.0 for GIS staff on django-gisserver: feature types, authentication and (later) transactions."""
