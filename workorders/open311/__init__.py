"""Open311 GeoReport v2 interface: URL routes, parameters, payloads, XML/JSON rendering."""
