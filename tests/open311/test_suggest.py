"""Free-text routing: residents' words in several languages suggest the right services."""

import orjson
import pytest

from workorders.suggest import Entry, fold, suggest, terms

LIGHT = Entry("streetlight-outage", ("Street Light Outage", "Farola apagada", "路灯不亮"),
              ("street light", "lamp", "light out", "dark street", "farola", "luz apagada", "路灯"),
              ("A street light is out.",))
POTHOLE = Entry("pothole", ("Pothole", "Bache", "Nid-de-poule", "Яма на дороге"),
                ("hole in road", "pothole", "bache", "hoyo en la calle", "坑洞", "trou", "яма"),
                ("A hole in the road surface.",))
RATS = Entry("rodent-activity", ("Rodent Activity", "Roedores"), ("rats", "mice", "rodent", "ratas", "老鼠"),
             ("Rats or mice seen outside.",))
ENTRIES = [LIGHT, POTHOLE, RATS]


@pytest.mark.parametrize("words, expected", [
    ("street light out", "streetlight-outage"),
    ("the lamp on my corner is dark", "streetlight-outage"),
    ("hole in road", "pothole"),
    ("big potholes on Elm St", "pothole"),
    ("rats", "rodent-activity"),
    ("hay un bache enorme", "pothole"),
    ("Luz apagada en la esquina", "streetlight-outage"),
    ("路灯坏了", "streetlight-outage"),
    ("后院有老鼠", "rodent-activity"),
    ("большая яма", "pothole"),
    ("gros trou dans la rue", "pothole"),
])
def test_words_suggest_the_right_service_first(words, expected):
    assert suggest(ENTRIES, words)[0][0] == expected


def test_nothing_matching_suggests_nothing():
    assert suggest(ENTRIES, "the of and") == [] and suggest(ENTRIES, "") == []


def test_folding_drops_case_and_accents():
    assert fold("Árbol CAÍDO") == "arbol caido" and "pothole" in terms("Potholes!")


@pytest.mark.django_db
def test_services_json_q_returns_the_suggestions_best_first(client, catalogue):
    body = orjson.loads(client.get("/open311/v2/services.json?q=hole in the road").content)
    assert body[0]["service_code"] == "pothole"
    spanish = orjson.loads(client.get("/open311/v2/services.json?q=bache&locale=es").content)
    assert [s["service_code"] for s in spanish] == ["pothole"] and spanish[0]["service_name"] == "Bache"
    assert client.get("/open311/v2/services.json?q=" + "x" * 501).status_code == 400
