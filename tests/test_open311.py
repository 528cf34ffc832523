"""Open311 GeoReport v2 against the real app over HTTP: every call in JSON and XML, the
request FixMyStreet sends, a real client library (georeport), bad input, on SQLite and
PostgreSQL."""
from __future__ import annotations

import json
import subprocess
import xml.etree.ElementTree as ET

import httpx
import pytest
from sqlalchemy import func, select

from bot.cases.models import CaseRow
from bot.open311.keys import ApiKeys
from bot.open311.models import requests as o311_requests
from bot.web.app import create_app
from tests.conftest import ROOT
from tests.test_cli import BOT
from tests.web_support import live_server, web_settings

PHONE = "13812345678"
NOISE = "文化路28号楼下烧烤店每天营业到凌晨两点，噪音太大睡不着"

# element names of the GeoReport v2 specification, per answer
SERVICE = {"service_code", "service_name", "description", "metadata", "type", "keywords", "group"}
ATTRIBUTE = {"variable", "code", "datatype", "required", "datatype_description", "order",
             "description", "values"}
REQUEST = {"service_request_id", "status", "status_notes", "service_name", "service_code",
           "description", "agency_responsible", "service_notice", "requested_datetime",
           "updated_datetime", "expected_datetime", "address", "address_id", "zipcode", "lat",
           "long", "media_url"}
FILED = {"service_request_id", "token", "service_notice", "account_id"}
UPDATE = {"update_id", "service_request_id", "status", "updated_datetime", "description", "media_url"}
MYSOCIETY = {"open", "in_progress", "action_scheduled", "fixed", "duplicate",
             "not_councils_responsibility", "no_further_action", "internal_referral"}


@pytest.fixture
def site(container, monkeypatch):
    monkeypatch.setenv("OPEN311_JURISDICTION", "test.county")
    monkeypatch.setenv("OPEN311_RATE_PER_KEY", "1000/minute")
    app = create_app(container, web=web_settings("http://127.0.0.1:9"))
    with live_server(app) as base:
        yield base


@pytest.fixture
def key(container) -> str:
    return ApiKeys(container.engine).create("fixmystreet", container.cases.clock())


@pytest.fixture
def http(site):
    with httpx.Client(base_url=site + "/open311/v2", timeout=20) as client:
        yield client


def fms_form(key: str, **extra) -> dict:
    """What FixMyStreet's Open311 sender posts (form-encoded), written from the spec."""
    form = {"api_key": key, "jurisdiction_id": "test.county", "service_code": "env.noise",
            "lat": "34.746611", "long": "113.625328", "address_string": "文化路28号",
            "description": NOISE, "email": "wang@example.com", "first_name": "芳",
            "last_name": "王", "phone": PHONE, "media_url": "https://example.org/p/1.jpg",
            "attribute[place]": "3号楼楼下", "attribute[incident_time]": "每天晚上十点以后",
            "attribute[anonymous]": "no", "attribute[fixmystreet_id]": "4711"}
    form.update(extra)
    return form


def cases(container) -> int:
    with container.cases.session_factory() as session:
        return session.scalar(select(func.count()).select_from(CaseRow))


def xml_items(response: httpx.Response, root: str, item: str) -> list[dict]:
    assert response.headers["content-type"].startswith("text/xml")
    top = ET.fromstring(response.content)
    assert top.tag == root
    assert all(child.tag == item for child in top)
    return [{node.tag: node for node in child} for child in top]


def file_one(http, key, **extra) -> dict:
    response = http.post("/requests.json", data=fms_form(key, **extra))
    assert response.status_code == 200, response.text
    [filed] = response.json()
    return filed


# ---------------------------------------------------------------------------- services
def test_services_list_every_category_in_json_and_xml(http, container):
    response = http.get("/services.json")
    assert response.status_code == 200
    services = response.json()
    assert len(services) == len(container.catalog.categories)
    noise = next(s for s in services if s["service_code"] == "env.noise")
    assert set(noise) == SERVICE
    assert noise["service_name"] == "噪声扰民" and noise["group"] == "环境保护"
    assert noise["metadata"] is True and noise["type"] == "realtime" and noise["keywords"]
    assert response.headers["content-security-policy"].startswith("default-src 'none'")

    items = xml_items(http.get("/services.xml"), "services", "service")
    assert len(items) == len(services)
    assert all(set(item) == SERVICE for item in items)
    xml_noise = next(i for i in items if i["service_code"].text == "env.noise")
    assert xml_noise["metadata"].text == "true" and "," in xml_noise["keywords"].text


def test_a_service_definition_lists_its_attributes_with_spec_datatypes(http):
    definition = http.get("/services/env.noise.json").json()
    assert definition["service_code"] == "env.noise"
    codes = {a["code"]: a for a in definition["attributes"]}
    assert set(codes) == {"place", "incident_time", "anonymous"}
    assert all(set(a) <= ATTRIBUTE for a in definition["attributes"])
    assert codes["anonymous"]["datatype"] == "singlevaluelist"
    assert {v["key"] for v in codes["anonymous"]["values"]} == {"yes", "no"}

    top = ET.fromstring(http.get("/services/env.noise.xml").content)
    assert top.tag == "service_definition" and top.findtext("service_code") == "env.noise"
    attributes = top.find("attributes").findall("attribute")
    assert len(attributes) == 3
    assert [v.findtext("key") for v in attributes[2].find("values").findall("value")] == ["no", "yes"]

    missing = http.get("/services/nope.xml")
    assert missing.status_code == 404
    assert ET.fromstring(missing.content).find("error").findtext("code") == "404"


def test_discovery_names_the_endpoint_and_formats(site):
    doc = httpx.get(site + "/open311/discovery.json").json()
    [endpoint] = doc["endpoints"]
    assert endpoint["url"].endswith("/open311/v2") and "application/json" in endpoint["formats"]
    top = ET.fromstring(httpx.get(site + "/open311/discovery.xml").content)
    assert top.tag == "discovery"
    assert [f.text for f in top.find("endpoints/endpoint/formats")] == ["text/xml", "application/json"]


# ---------------------------------------------------------------------------- filing
def test_a_fire_filed_through_open311_is_told_the_number_and_flagged(http, key, container):
    response = http.post("/requests.json", data=fms_form(
        key, service_code="urban.municipal_facility", description="楼道里着火了，烟很大，有人被困"))
    assert response.status_code == 200, response.text
    [filed] = response.json()
    assert "119" in filed["service_notice"] and filed["service_request_id"] in filed["service_notice"]
    view = container.cases.get(filed["service_request_id"])
    notes = [e.internal_note for e in view.events]
    assert any(n and "119" in n and "紧急" in n for n in notes), notes
    # referred as the chat refers a fire, not left with the body of the service the form picked
    assert (view.category["code"], view.state) == ("security.emergency", "referred")
    status = http.get(f"/requests/{filed['service_request_id']}.json").json()[0]
    assert "119" in status["status_notes"]
    knife = http.post("/requests.json", data=fms_form(
        key, service_code="env.noise", description="楼下有人拿刀砍人，快来")).json()[0]
    assert "110" in knife["service_notice"]
    assert container.cases.get(knife["service_request_id"]).category["code"] == "security.emergency"
    # self-harm: the crisis line, and an urgent case the health commission follows up (as the chat)
    crisis = http.post("/requests.json", data=fms_form(
        key, service_code="env.noise", description="楼上天天吵，我实在受不了了，不想活了")).json()[0]
    assert "12356" in crisis["service_notice"]
    view = container.cases.get(crisis["service_request_id"])
    assert (view.category["code"], view.state, view.body["code"]) == \
        ("security.emergency", "assigned", "B-WJW")
    plain = http.post("/requests.json", data=fms_form(key, description="楼下烧烤店每天半夜都很吵")).json()[0]
    assert "119" not in plain["service_notice"] and "拨打" not in plain["service_notice"]


def test_the_fixmystreet_form_opens_one_case_on_the_open311_channel(http, key, container):
    response = http.post("/requests.xml", data=fms_form(key, account_id="u-42"))
    assert response.status_code == 200, response.text
    [filed] = xml_items(response, "service_requests", "request")
    assert set(filed) == FILED
    number = filed["service_request_id"].text
    assert filed["account_id"].text == "u-42" and number in filed["service_notice"].text

    view = container.cases.get(number)
    assert view.channel == "open311" and view.category["code"] == "env.noise"
    assert view.contact == "138****5678" and view.contact_name == "王*"
    assert "3号楼楼下" in view.place and "发生时间：每天晚上十点以后" in view.text
    assert view.body is not None and view.state == "assigned"


def test_reads_never_show_a_phone_a_name_or_an_email(http, key):
    number = file_one(http, key, description=NOISE + "，有事打我电话13987654321")["service_request_id"]
    json_text = http.get(f"/requests/{number}.json").text
    xml_text = http.get(f"/requests/{number}.xml").text
    listed = http.get("/requests.json").text
    for text in (json_text, xml_text, listed):
        assert number in text
        for secret in (PHONE, "13987654321", "王芳", "wang@example.com"):
            assert secret not in text
    [row] = json.loads(json_text)
    assert set(row) == REQUEST
    assert row["status"] == "open" and row["agency_responsible"] and row["expected_datetime"]
    assert row["lat"] == pytest.approx(34.746611) and row["address"] == "文化路28号"
    assert row["media_url"] == "https://example.org/p/1.jpg"
    [item] = xml_items(http.get(f"/requests/{number}.xml"), "service_requests", "request")
    assert set(item) == REQUEST and item["status"].text == "open"


def test_anonymous_keeps_no_contact(http, key, container):
    number = file_one(http, key, **{"attribute[anonymous]": "yes"})["service_request_id"]
    view = container.cases.get(number)
    assert view.contact is None and view.contact_name is None
    with container.cases.session_factory() as session:
        assert session.scalar(select(o311_requests.c.email)
                              .where(o311_requests.c.case_number == number)) is None


def test_a_json_body_and_a_repeat_within_a_minute_are_one_case(http, key, container, clock):
    body = {"api_key": key, "service_code": "env.noise", "address_string": "文化路28号",
            "description": NOISE, "attribute": {"place": "3号楼"}}
    first = http.post("/requests.json", json=body).json()[0]
    again = http.post("/requests.json", json=body).json()[0]
    assert again["service_request_id"] == first["service_request_id"]
    assert again["token"] == first["token"]
    assert cases(container) == 1
    clock.advance(minutes=2)
    later = http.post("/requests.json", json=body).json()[0]
    assert later["service_request_id"] != first["service_request_id"]

    keyed = {**body, "description": "另一件事：路灯坏了", "service_code": "urban.municipal_facility"}
    one = http.post("/requests.json", json=keyed, headers={"Idempotency-Key": "client-1"}).json()[0]
    clock.advance(minutes=10)
    two = http.post("/requests.json", json=keyed, headers={"Idempotency-Key": "client-1"}).json()[0]
    assert one["service_request_id"] == two["service_request_id"]
    assert cases(container) == 3


def test_a_token_finds_its_request_number(http, key):
    filed = file_one(http, key)
    found = http.get(f"/tokens/{filed['token']}.json").json()
    assert found == [{"service_request_id": filed["service_request_id"], "token": filed["token"]}]
    [item] = xml_items(http.get(f"/tokens/{filed['token']}.xml"), "service_requests", "request")
    assert item["service_request_id"].text == filed["service_request_id"]
    assert http.get("/tokens/00000000-0000-0000-0000-000000000000.json").status_code == 404


# ---------------------------------------------------------------------------- filters
def test_filters_by_ids_code_status_and_a_window_of_at_most_90_days(http, key, container, clock):
    noise = file_one(http, key)["service_request_id"]
    light = file_one(http, key, service_code="urban.municipal_facility",
                     description="路灯坏了一排")["service_request_id"]
    for action in ("accept", "start"):
        container.cases.act(light, action, actor="agent")
    container.cases.act(light, "resolve", actor="agent", text="路灯已经修好")

    def ids(**params):
        return [r["service_request_id"] for r in http.get("/requests.json", params=params).json()]

    assert set(ids()) == {noise, light}
    assert ids(service_code="env.noise") == [noise]
    assert ids(status="closed") == [light] and ids(status="open") == [noise]
    assert set(ids(service_request_id=f"{noise},{light}")) == {noise, light}
    assert ids(start_date="2026-01-01T00:00:00Z", end_date="2026-02-01T00:00:00Z") == []
    assert set(ids(start_date="2026-11-01T00:00:00+08:00", end_date="2026-11-30T00:00:00Z")) == {noise, light}

    wide = http.get("/requests.xml", params={"start_date": "2026-01-01T00:00:00Z",
                                             "end_date": "2026-06-01T00:00:00Z"})
    assert wide.status_code == 400
    assert "90" in ET.fromstring(wide.content).findtext("error/description")
    assert http.get("/requests.json", params={"status": "maybe"}).status_code == 400
    assert http.get("/requests.json", params={"start_date": "yesterday"}).status_code == 400
    assert http.get("/requests/20990101-0001.json").status_code == 404
    for edge in ({"start_date": "9999-12-31T23:59:59Z"}, {"end_date": "0001-01-01T00:00:00Z"},
                 {"start_date": "9999-12-31T23:59:59+08:00"}, {"end_date": "0001-01-01T00:00:00-12:00"}):
        for path in ("/requests.json", "/servicerequestupdates.json"):
            answer = http.get(path, params=edge)       # the calendar's ends: nothing, or a 400
            assert answer.status_code in (200, 400), (path, edge, answer.text)
            if answer.status_code == 200:
                assert answer.json() == [], answer.text      # both cases are of 2026


def test_a_chat_case_is_not_readable_through_open311(http, container):
    from bot.cases import OpenCase

    view = container.cases.open_case(OpenCase(text=NOISE, category="env.noise", contact=PHONE,
                                              channel="webchat", address="sid-1"))
    assert http.get(f"/requests/{view.number}.json").status_code == 404
    assert http.get("/requests.json").json() == []


# ---------------------------------------------------------------------------- the client library
def test_a_city_app_with_the_georeport_library_files_and_follows_a_case(site, key, container):
    from georeport import GeoReport

    for fmt in ("json", "xml"):
        client = GeoReport(site + "/open311/v2", jurisdiction="test.county", api_key=key,
                           output_format=fmt)
        services = client.get_service_list()
        assert any(s["service_code"] == "env.noise" for s in services)
        definition = client.get_service_definition("env.noise")
        assert definition["service_code"] == "env.noise"
        # the library reads but does not file: the city app posts the spec's form itself
        posted = httpx.post(site + "/open311/v2/requests.json",
                            data=fms_form(key, description=f"{NOISE}（{fmt}）")).json()[0]
        number = posted["service_request_id"]
        assert client.get_service_request(number)["status"] == "open"

        for action in ("accept", "start"):
            container.cases.act(number, action, actor="agent")
        container.cases.act(number, "resolve", actor="agent", text="已约谈店主，晚十点后停止营业")
        seen = client.get_service_request(number)
        assert seen["status"] == "closed"
        assert "晚十点后停止营业" in seen["status_notes"]
        listed = client.get_service_requests(service_request_id=number)
        assert (listed[0] if isinstance(listed, list) else listed)["status"] == "closed"


def test_service_request_updates_use_the_mysociety_states(http, key, container):
    number = file_one(http, key)["service_request_id"]
    container.cases.act(number, "transfer", actor="agent", to="B-CGJ", text="转城管")
    container.cases.act(number, "accept", actor="agent")
    container.cases.act(number, "start", actor="agent")
    container.cases.act(number, "reply", actor="agent", text="已到现场查看")
    container.cases.act(number, "resolve", actor="agent", text="已处理完毕")
    updates = http.get("/servicerequestupdates.json").json()
    assert all(set(u) == UPDATE and u["service_request_id"] == number for u in updates)
    statuses = [u["status"] for u in updates]
    assert set(statuses) <= MYSOCIETY
    assert "internal_referral" in statuses and statuses[-1] == "fixed"
    items = xml_items(http.get("/servicerequestupdates.xml"), "service_requests_updates", "request_update")
    assert [i["status"].text for i in items] == statuses


# ---------------------------------------------------------------------------- bad input
BAD = [
    ("no key", lambda k: fms_form(""), 403),
    ("wrong key", lambda k: fms_form("jj311_not-a-key"), 403),
    ("unknown service", lambda k: fms_form(k, service_code="nope"), 400),
    ("injection", lambda k: fms_form(k, service_code="env.noise' OR '1'='1"), 400),
    ("no location", lambda k: {key: v for key, v in fms_form(k).items()
                               if key not in ("lat", "long", "address_string")}, 400),
    ("lat out of range", lambda k: fms_form(k, lat="91"), 400),
    ("long not a number", lambda k: fms_form(k, long="NaN"), 400),
    ("lat without long", lambda k: {**{key: v for key, v in fms_form(k).items() if key != "long"}}, 400),
    ("no description", lambda k: fms_form(k, description=""), 400),
    ("long description", lambda k: fms_form(k, description="吵" * 4001), 400),
    ("bad phone", lambda k: fms_form(k, phone="12345"), 400),
    ("javascript url", lambda k: fms_form(k, media_url="javascript:alert(1)"), 400),
    ("other jurisdiction", lambda k: fms_form(k, jurisdiction_id="elsewhere"), 404),
]


@pytest.mark.parametrize("name,body,status", BAD, ids=[b[0] for b in BAD])
def test_bad_requests_get_the_spec_error_list_and_open_nothing(http, key, container, name, body, status):
    for fmt in ("json", "xml"):
        response = http.post(f"/requests.{fmt}", data=body(key))
        assert response.status_code == status, response.text
        if fmt == "json":
            [error] = response.json()
            assert error["code"] == status and error["description"]
        else:
            assert ET.fromstring(response.content).findtext("error/code") == str(status)
    assert cases(container) == 0


RAW = [
    ("1 MB description", b"description=" + b"a" * (1024 * 1024), "application/x-www-form-urlencoded", 413),
    ("not UTF-8 form", b"api_key=K&description=%FF%FE&service_code=env.noise", "application/x-www-form-urlencoded", 400),
    ("not UTF-8 bytes", b"description=\xff\xfe", "application/x-www-form-urlencoded", 400),
    ("declared latin-1", b"description=abc", "application/x-www-form-urlencoded; charset=latin-1", 415),
    ("xml body", b"<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a 'b'>]><x>&a;</x>", "text/xml", 415),
    ("binary", bytes(range(256)) * 4, "application/octet-stream", 415),
    ("deep json", b"[" * 5000, "application/json", 400),
    ("json list", b"[1, 2]", "application/json", 400),
    ("json nested value", b'{"description": {"a": 1}}', "application/json", 400),
    ("NUL in a field", b"description=a%00b", "application/x-www-form-urlencoded", 400),
    ("too many fields", b"&".join(b"f%d=1" % i for i in range(500)), "application/x-www-form-urlencoded", 400),
    ("duplicate field", b"service_code=a&service_code=b", "application/x-www-form-urlencoded", 400),
]


@pytest.mark.parametrize("name,raw,content_type,status", RAW, ids=[r[0] for r in RAW])
def test_hostile_bodies_are_refused_in_the_spec_shape(http, key, container, name, raw, content_type, status):
    raw = raw.replace(b"api_key=K", f"api_key={key}".encode())
    response = http.post("/requests.xml", content=raw, headers={"content-type": content_type})
    assert response.status_code == status, response.text
    assert ET.fromstring(response.content).findtext("error/code") == str(status)
    assert cases(container) == 0


def test_a_revoked_key_and_a_flood_from_one_key(site, key, container, monkeypatch):
    app = create_app(container, web=web_settings("http://127.0.0.1:9"))
    monkeypatch.setenv("OPEN311_RATE_PER_KEY", "3/minute")
    with live_server(app) as base:
        url = base + "/open311/v2/requests.json"
        answers = [httpx.post(url, data=fms_form(key, description=f"第{i}件：{NOISE}")).status_code
                   for i in range(5)]
        assert answers == [200, 200, 200, 429, 429]
        assert cases(container) == 3
        ApiKeys(container.engine).revoke("fixmystreet", container.cases.clock())
        refused = httpx.post(url, data=fms_form(key, description="撤销后"))
        assert refused.status_code == 403 and refused.json()[0]["code"] == 403
    assert cases(container) == 3


def test_unknown_calls_and_formats_are_spec_404s(http):
    assert http.get("/services.yaml").status_code == 404
    assert ET.fromstring(http.get("/nothing.xml").content).findtext("error/code") == "404"
    assert http.get("/nothing.json").json()[0]["code"] == 404


# ---------------------------------------------------------------------------- the CLI
def test_key_create_prints_once_and_revoke_ends_it(database_url, tmp_path, container):
    import os

    env = {**{k: v for k, v in os.environ.items() if k != "REDIS_URL"},
           "DATABASE_URL": database_url, "BOT_VAR_DIR": str(tmp_path / "var")}

    def bot(*args):
        return subprocess.run([BOT, *args], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)

    made = bot("open311", "key", "create", "city-app", "--json")
    assert made.returncode == 0, made.stderr
    data = json.loads(made.stdout)
    assert data["name"] == "city-app" and data["key"].startswith("jj311_")
    keys = ApiKeys(container.engine)
    assert keys.find(data["key"]).name == "city-app"
    with container.engine.connect() as conn:
        stored = conn.exec_driver_sql("SELECT key_hash FROM open311_clients").scalars().all()
    assert data["key"] not in stored
    assert bot("open311", "key", "revoke", "city-app").returncode == 0
    assert keys.find(data["key"]) is None
    again = bot("open311", "key", "revoke", "city-app")
    assert again.returncode == 2 and "没有名为" in again.stderr


def test_nothing_readable_is_stored_outside_the_contact_fields(http, key, container):
    from bot.privacy import scan_database

    file_one(http, key, account_id="13900001111", device_id="dev-13900001111",
             address_string="文化路28号，电话13987654321", description=NOISE + "，电话13987654321")
    assert scan_database(container.engine) == []
    contact = {"cases.contact_phone", "cases.contact_name", "cases.address", "outbox.address"}
    hits = scan_database(container.engine, allowed=contact)       # the scan does look there
    assert {h.column for h in hits if h.table == "open311_requests"} == {"account_id", "device_id"}
