"""Hostile XML refused before anything else parses it: DTDs, entities, external references (defusedxml), and
nesting or size no WFS client sends (django-gisserver's parser is quadratic in depth: 50,000 nested
fes:And took minutes of CPU)."""

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser, ParseError

# QGIS and GDAL filters nest a few levels and hold tens of elements; GML geometry adds a handful per level.
MAX_DEPTH = 64
MAX_FILTER_ELEMENTS = 5_000


class HostileXml(ValueError):
    """XML refused before parsing: the reason is the message."""


class _Counter:
    """A parser target that only counts, so the check costs one expat pass and no tree."""

    def __init__(self, max_elements: int | None):
        self.depth = self.elements = 0
        self.max_elements = max_elements

    def start(self, tag, attrs) -> None:
        self.depth += 1
        self.elements += 1
        if self.depth > MAX_DEPTH:
            raise HostileXml(f"the XML is nested more than {MAX_DEPTH} levels deep")
        if self.max_elements is not None and self.elements > self.max_elements:
            raise HostileXml(f"a filter has at most {self.max_elements} elements")

    def end(self, tag) -> None:
        self.depth -= 1

    def data(self, text) -> None:
        pass

    def close(self) -> None:
        return None


def xml_check(text: str | bytes, *, max_elements: int | None = None) -> None:
    """HostileXml for a DTD, an entity, an external reference, or too deep or too many elements. Malformed XML
    passes: the real parser reports it in its own words."""
    parser = DefusedXMLParser(target=_Counter(max_elements), forbid_dtd=True, forbid_entities=True,
                              forbid_external=True)
    try:
        parser.feed(text)
        parser.close()
    except DefusedXmlException as exc:
        raise HostileXml(f"XML with a DTD, entity declarations or external references is not accepted "
                         f"({type(exc).__name__})") from exc
    except ParseError:
        return
