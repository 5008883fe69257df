"""Offline XSD validation of WFS 2.0 documents with lxml: schema URLs resolve to the copies in ogc-schemas/."""

from functools import lru_cache
from pathlib import Path

from lxml import etree

SCHEMAS = Path(__file__).resolve().parent / "ogc-schemas"
# Each host's tree is a mirror of its site (same relative paths), so a URL maps to a file by prefix.
HOSTS = {
    f"{scheme}://{host}/": SCHEMAS / host
    for scheme in ("http", "https")
    for host in ("schemas.opengis.net", "www.w3.org")
}
# The application schema (our DescribeFeatureType) is handed to libxml2 under this made-up address.
APP_SCHEMA_URL = "http://fieldsvc.test/describe-feature-type.xsd"

WFS_20 = "http://schemas.opengis.net/wfs/2.0/wfs.xsd"
OWS_11 = "http://schemas.opengis.net/ows/1.1.0/owsAll.xsd"
GML_32 = "http://schemas.opengis.net/gml/3.2.1/gml.xsd"
NAMESPACES = {
    "http://www.opengis.net/wfs/2.0": WFS_20,
    "http://www.opengis.net/ows/1.1": OWS_11,
    "http://www.opengis.net/gml/3.2": GML_32,
}


class OfflineResolver(etree.Resolver):
    """Serves schema URLs from the local copies and refuses anything else (no network, ever)."""

    def __init__(self, documents: dict[str, bytes]):
        super().__init__()
        self.documents = documents

    def resolve(self, url, pubid, context):
        if url in self.documents:
            return self.resolve_string(self.documents[url], context, base_url=url)
        for prefix, folder in HOSTS.items():
            if url.startswith(prefix):
                path = folder / url[len(prefix):]
                if not path.is_file():
                    raise LookupError(f"schema {url} is not among the local copies ({path})")
                # Served under its URL, so its relative includes come back here by URL too: a schema reached
                # both ways (WFS 1.0's GML 2) must be one document to libxml2, not two.
                return self.resolve_string(path.read_bytes(), context, base_url=url)
        if url.startswith(("http://", "https://", "ftp://")):
            raise LookupError(f"refusing to fetch {url}: validation is offline")
        return None  # a local file path: libxml2 reads it


def offline_parser(documents: dict[str, bytes] | None = None) -> etree.XMLParser:
    parser = etree.XMLParser(no_network=True, resolve_entities=False, huge_tree=True)
    parser.resolvers.add(OfflineResolver(documents or {}))
    return parser


def compile_schema(xsd: bytes, *, base_url: str = APP_SCHEMA_URL) -> etree.XMLSchema:
    """Compile a schema document (e.g. a DescribeFeatureType answer) with its imports served offline."""
    document = etree.fromstring(xsd, offline_parser({base_url: xsd}), base_url=base_url).getroottree()
    return etree.XMLSchema(document)


@lru_cache(maxsize=8)
def wfs_schema(app_xsd: bytes | None = None) -> etree.XMLSchema:
    """WFS 2.0 (with FES 2.0), OWS 1.1 and GML 3.2.1, and the application schema if given, as one schema."""
    imports = dict(NAMESPACES)
    documents = {}
    if app_xsd is not None:
        target = etree.fromstring(app_xsd).get("targetNamespace")
        imports[target] = APP_SCHEMA_URL
        documents[APP_SCHEMA_URL] = app_xsd
    wrapper = (
        '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="http://fieldsvc.test/wrapper">'
        + "".join(f'<xs:import namespace="{ns}" schemaLocation="{url}"/>' for ns, url in imports.items())
        + "</xs:schema>"
    ).encode()
    base = "http://fieldsvc.test/wrapper.xsd"
    documents[base] = wrapper
    return etree.XMLSchema(etree.fromstring(wrapper, offline_parser(documents), base_url=base).getroottree())


def assert_valid(xml: bytes, *, app_xsd: bytes | None = None) -> etree._Element:
    """Validate a WFS/OWS document; return its root. Fails with libxml2's messages, line by line."""
    root = etree.fromstring(xml, offline_parser())
    schema = wfs_schema(app_xsd)
    if not schema.validate(root):
        errors = "\n".join(f"line {e.line}: {e.message}" for e in schema.error_log)
        raise AssertionError(f"{etree.QName(root).localname} is not schema-valid:\n{errors}")
    return root
