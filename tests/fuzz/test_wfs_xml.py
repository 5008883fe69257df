"""WFS filters and bodies fuzzed: malformed XML, XML bombs (billion laughs, external entities, deep nesting),
odd filters on GET (FILTER=) and POST, and the same bombs as WFS-T transactions. Every refusal is an OWS
exception report (XML), no entity is ever expanded, nothing is written."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gis import editing
from tests.fuzz.support import answered, body

pytestmark = pytest.mark.django_db

FES = "http://www.opengis.net/fes/2.0"
GML32 = "http://www.opengis.net/gml/3.2"
WFS2 = "http://www.opengis.net/wfs/2.0"
SECRET = "/etc/hostname"

LAUGHS = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
          + "".join(f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i > 1 else "&lol;" * 10}">'
                    for i in range(1, 10))
          + ']>')
XXE = f'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file://{SECRET}">]>'
XXE_PARAMETER = f'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY % p SYSTEM "file://{SECRET}"> %p;]>'
EXTERNAL_DTD = '<?xml version="1.0"?><!DOCTYPE x SYSTEM "http://127.0.0.1:9/evil.dtd">'


def _filter(inner: str, prolog: str = "") -> str:
    return f'{prolog}<fes:Filter xmlns:fes="{FES}" xmlns:gml="{GML32}">{inner}</fes:Filter>'


def _equals(value: str) -> str:
    return (f"<fes:PropertyIsEqualTo><fes:ValueReference>external_id</fes:ValueReference>"
            f"<fes:Literal>{value}</fes:Literal></fes:PropertyIsEqualTo>")


BOMBS = {
    "billion-laughs": _filter(_equals("&lol9;"), LAUGHS),
    "xxe": _filter(_equals("&xxe;"), XXE),
    "xxe-parameter": _filter(_equals("x"), XXE_PARAMETER),
    "external-dtd": _filter(_equals("x"), EXTERNAL_DTD),
    "deep-not": _filter("<fes:Not>" * 5000 + _equals("x") + "</fes:Not>" * 5000),
    "deep-and": _filter("<fes:And>" * 50000 + "</fes:And>" * 50000),
    "wide-or": _filter("<fes:Or>" + _equals("x") * 20000 + "</fes:Or>"),
    "huge-literal": _filter(_equals("x" * 2_000_000)),
    "cdata": _filter(_equals("<![CDATA[" + "]]>" * 3 + "]]>")),
    "unclosed": _filter("<fes:PropertyIsEqualTo>"),
    "no-namespace": "<Filter><PropertyIsEqualTo><ValueReference>x</ValueReference></PropertyIsEqualTo></Filter>",
    "not-xml": "{\"filter\": 1}",
    "empty": "",
    "bare-text": "Filter",
    "processing-instruction": '<?xml-stylesheet href="file:///etc/passwd"?>' + _filter(_equals("x")),
    "unknown-operator": _filter("<fes:PropertyIsSortOf/>"),
    "bad-geometry": _filter('<fes:Intersects><fes:ValueReference>geom</fes:ValueReference><gml:Polygon '
                            'srsName="EPSG:4326"><gml:exterior><gml:LinearRing><gml:posList>nan inf 1 2'
                            '</gml:posList></gml:LinearRing></gml:exterior></gml:Polygon></fes:Intersects>'),
    "bowtie": _filter('<fes:Intersects><fes:ValueReference>geom</fes:ValueReference><gml:Polygon '
                      'srsName="urn:ogc:def:crs:EPSG::4326"><gml:exterior><gml:LinearRing><gml:posList>42.36 -71.11 '
                      '42.37 -71.10 42.36 -71.10 42.37 -71.11 42.36 -71.11</gml:posList></gml:LinearRing>'
                      '</gml:exterior></gml:Polygon></fes:Intersects>'),
    "wrong-crs": _filter('<fes:BBOX><fes:ValueReference>geom</fes:ValueReference><gml:Envelope srsName="EPSG:99999">'
                         '<gml:lowerCorner>0 0</gml:lowerCorner><gml:upperCorner>1 1</gml:upperCorner></gml:Envelope>'
                         '</fes:BBOX>'),
    "distance-unit": _filter('<fes:DWithin><fes:ValueReference>geom</fes:ValueReference><gml:Point srsName='
                             '"EPSG:26986"><gml:pos>0 0</gml:pos></gml:Point><fes:Distance uom="parsec">1'
                             '</fes:Distance></fes:DWithin>'),
}


def _leaked(response) -> bool:
    """An expanded entity would show: the secret file's text, or a laugh echoed a thousandfold."""
    secret = open(SECRET).read().strip().encode()  # noqa: SIM115 - a one-line system file
    content = body(response)
    return (bool(secret) and secret in content) or b"lollollollollol" in content


def _get(client, filter_text: str):
    return client.get("/wfs/", {"SERVICE": "WFS", "VERSION": "2.0.0", "REQUEST": "GetFeature",
                                "TYPENAMES": "asset_streetlight", "FILTER": filter_text})


def _post_get_feature(client, filter_text: str):
    prolog, _, rest = filter_text.rpartition("]>") if "]>" in filter_text else ("", "", filter_text)
    prolog = prolog + "]>" if prolog else ""
    body = (f'{prolog}<wfs:GetFeature xmlns:wfs="{WFS2}" xmlns:fes="{FES}" service="WFS" version="2.0.0">'
            f'<wfs:Query typeNames="asset_streetlight">{rest}</wfs:Query></wfs:GetFeature>')
    return client.post("/wfs/", body, content_type="text/xml")


@pytest.mark.parametrize("name", list(BOMBS))
def test_a_hostile_filter_is_an_ows_exception_and_no_entity_is_expanded(city, client, name):
    for how, response in (("GET", _get(client, BOMBS[name])), ("POST", _post_get_feature(client, BOMBS[name]))):
        answered("wfs", response, f"WFS filter {name}")
        assert not _leaked(response)
        if name in ("billion-laughs", "xxe", "xxe-parameter", "external-dtd") or (
                how == "GET" and name in ("unclosed", "not-xml")):
            assert response.status_code == 400, (name, how, response.status_code, body(response)[:300])


@pytest.fixture
def gis_editor(city):
    from django.contrib.auth import get_user_model

    from tests.fuzz.conftest import basic

    user = get_user_model().objects.create_user("gina", password="pw-gina", is_staff=True)
    user.groups.add(editing.gis_editors_group())
    return basic("gina", "pw-gina")


TRANSACTION_BOMBS = {
    "billion-laughs": LAUGHS + '<Transaction xmlns="http://www.opengis.net/wfs" service="WFS" version="1.0.0">'
                               '<Delete typeName="asset_streetlight"><Filter xmlns="http://www.opengis.net/ogc">'
                               '<FeatureId fid="&lol9;"/></Filter></Delete></Transaction>',
    "xxe": XXE + '<Transaction xmlns="http://www.opengis.net/wfs" service="WFS" version="1.0.0"><Insert>'
                 '<fieldsvc:asset_streetlight xmlns:fieldsvc="http://fieldsvc.org/wfs"><fieldsvc:external_id>&xxe;'
                 '</fieldsvc:external_id><fieldsvc:geom><gml:Point xmlns:gml="http://www.opengis.net/gml" '
                 'srsName="EPSG:26986"><gml:coordinates>231000,901000</gml:coordinates></gml:Point>'
                 '</fieldsvc:geom></fieldsvc:asset_streetlight></Insert></Transaction>',
    "external-dtd": EXTERNAL_DTD + '<Transaction xmlns="http://www.opengis.net/wfs" version="1.0.0"/>',
    "deep": '<Transaction xmlns="http://www.opengis.net/wfs" version="1.0.0"><Insert>' + "<a>" * 100000
            + "</a>" * 100000 + "</Insert></Transaction>",
}


@pytest.mark.parametrize("name", list(TRANSACTION_BOMBS))
def test_a_hostile_transaction_is_refused_and_writes_nothing(city, snapshot, client, gis_editor, name):
    before = snapshot()
    response = client.post("/wfs/?SERVICE=WFS", TRANSACTION_BOMBS[name], content_type="text/xml",
                           headers={"Authorization": gis_editor})
    answered("wfs", response, f"WFS-T {name}", before=before, snapshot=snapshot)
    assert response.status_code == 400 and not _leaked(response), body(response)[:300]


XML_NAME = st.from_regex(r"[a-zA-Z_][a-zA-Z0-9_.-]{0,12}", fullmatch=True)
OPERATORS = st.sampled_from(["PropertyIsEqualTo", "PropertyIsLessThan", "PropertyIsLike", "PropertyIsNull",
                             "PropertyIsBetween", "And", "Or", "Not", "BBOX", "Intersects", "DWithin",
                             "ResourceId", "Function"])


@st.composite
def filters(draw, depth: int = 0) -> str:
    """Random FES 2.0 filter trees: real operators with wrong arities, unknown properties, odd literals."""
    op = draw(OPERATORS if depth < 3 else st.sampled_from(["PropertyIsEqualTo", "PropertyIsNull"]))
    attrs = draw(st.sampled_from(["", ' matchCase="false"', ' wildCard="*" singleChar="." escapeChar="!"',
                                  ' rid="asset_streetlight.1"', ' name="strToLowerCase"']))
    children = "".join(draw(st.lists(st.one_of(
        st.builds(lambda n: f"<fes:ValueReference>{n}</fes:ValueReference>",
                  st.sampled_from(["external_id", "geom", "status", "nope", "", "a/b", "@id"]) | XML_NAME),
        st.builds(lambda t: f"<fes:Literal>{t}</fes:Literal>", st.text(
            alphabet=st.characters(blacklist_categories=["Cs", "Cc"], blacklist_characters="<&"), max_size=20)),
        filters(depth + 1) if depth < 3 else st.just(""),
    ), max_size=3)))
    return f"<fes:{op}{attrs}>{children}</fes:{op}>"


@given(inner=filters(), by_post=st.booleans())
def test_random_filters_are_answered_or_refused_as_ows_exceptions(city, client, inner, by_post):
    text = _filter(inner)
    response = _post_get_feature(client, text) if by_post else _get(client, text)
    answered("wfs", response, text)


@given(raw=st.text(max_size=200))
def test_any_text_as_filter_is_answered_or_refused(city, client, raw):
    answered("wfs", _get(client, raw), raw)
