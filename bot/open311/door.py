"""The Open311 calls: services, a service's definition, filing a request, reading requests,
tokens and mySociety's updates. Every case is opened through the case service (channel
`open311`, the client's name as the address, the requester's phone and name as the case's
contact); the door keeps only what the spec carries besides the case, in `open311_requests`.

Reads show only cases filed through Open311, and never a phone number, a name or an e-mail:
the description is the case's masked summary, `status_notes` its latest public text.
"""
from __future__ import annotations

import hashlib
import json
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import and_, bindparam, insert, select
from sqlalchemy.exc import IntegrityError

from bot.cases import OpenCase
from bot.cases.errors import InvalidInput
from bot.cases.models import CaseRow, EventRow
from bot.cases.service import CaseService
from bot.cases.views import iso
from bot.channels.safety_notice import CRISIS_FUNCTION, SAFETY_LEVELS, call_now
from bot.db import READ_ONLY, make_read_session_factory
from bot.open311 import render, states
from bot.open311.errors import Open311Error, bad, not_found
from bot.open311.keys import ApiKeys, Client
from bot.open311.models import requests as r
from bot.open311.submission import Submission
from bot.privacy import mask_text

log = logging.getLogger(__name__)

CHANNEL = "open311"
EMERGENCY = "security.emergency"
REPEAT_WINDOW = timedelta(minutes=1)
MAX_RANGE = timedelta(days=90)
MAX_RESULTS = 1000
MAX_IDS = 200
NOTICE = "您的诉求已受理，编号 {number}，将在 {due} 前办结；办理进展可用此编号查询。"
ANONYMOUS = {"yes", "true", "1", "是"}

# Built once: filing is the hot path (ix_open311_requests_repeat serves the lookup).
_INSERT = insert(r)
_REPEAT = (select(r.c.case_number, r.c.token)
           .where(r.c.client_id == bindparam("client_id"), r.c.fingerprint == bindparam("fingerprint"),
                  r.c.created_at >= bindparam("since"))
           .order_by(r.c.id.desc()).limit(1))

ATTRIBUTES = [
    {"variable": True, "code": "place", "datatype": "string", "required": False,
     "datatype_description": "门牌号、楼栋、路口或标志性建筑", "order": 1,
     "description": "详细地点"},
    {"variable": True, "code": "incident_time", "datatype": "string", "required": False,
     "datatype_description": "例如：每天晚上十点以后、11月20日上午", "order": 2,
     "description": "发生时间"},
    {"variable": True, "code": "anonymous", "datatype": "singlevaluelist", "required": False,
     "datatype_description": "选“是”则不保留联系电话和姓名，办理结果只能用编号查询", "order": 3,
     "description": "是否匿名反映",
     "values": [{"key": "no", "name": "否"}, {"key": "yes", "name": "是"}]},
]


@dataclass(frozen=True)
class Filed:
    number: str
    token: str
    notice: str
    account_id: str | None


class Open311Door:
    def __init__(self, cases: CaseService, keys: ApiKeys, jurisdiction: str) -> None:
        self.cases = cases
        self.keys = keys
        self.jurisdiction = jurisdiction
        self.catalog = cases.catalog
        # reads (GETs, and the lookup before a filing) take no SQLite write lock: WAL readers
        # never queue behind the posts' writes
        engine = cases.session_factory.kw["bind"]
        self._reads = engine.execution_options(**{READ_ONLY: True})
        self._read_sessions = make_read_session_factory(engine)

    # ------------------------------------------------------------ checks shared by every call
    def check_jurisdiction(self, value: str | None) -> None:
        if value and value != self.jurisdiction:
            raise not_found(f"没有这个辖区：{value[:64]}（本服务的辖区是 {self.jurisdiction}）",
                            "jurisdiction_id not found")

    def client(self, api_key: str | None) -> Client:
        found = self.keys.find(api_key)
        if found is None:
            raise Open311Error(403, "api_key 缺失、无效或已停用，请向服务方申请新的密钥",
                               "api_key was not provided or is invalid")
        return found

    # ------------------------------------------------------------ services
    def services(self) -> list[dict]:
        return [{"service_code": c.code, "service_name": c.level2, "description": _description(c),
                 "metadata": True, "type": "realtime", "keywords": list(c.keywords),
                 "group": c.level1} for c in self.catalog.categories.values()]

    def definition(self, code: str) -> dict:
        if code not in self.catalog.categories:
            raise not_found(f"没有这个服务编码：{code[:64]}", "service_code not found")
        return {"service_code": code, "attributes": ATTRIBUTES}

    # ------------------------------------------------------------ filing
    def submit(self, client: Client, sub: Submission) -> Filed:
        if sub.service_code not in self.catalog.categories:
            raise bad(f"没有这个服务编码：{sub.service_code[:64]}（可用的见 services）",
                      "service_code not found")
        anonymous = sub.attributes.get("anonymous", "").lower() in ANONYMOUS
        fingerprint = _fingerprint(client, sub)
        now = self.cases.clock()
        earlier = self._repeat(client, fingerprint, now)
        if earlier is not None:
            return self._filed(earlier, sub.account_id)
        bucket = int(now.replace(tzinfo=timezone.utc).timestamp() // REPEAT_WINDOW.total_seconds())
        key = (f"o311:{client.id}:k:{_hash(sub.idempotency_key)[:40]}" if sub.idempotency_key
               else f"o311:{client.id}:f:{fingerprint[:40]}:{bucket}")
        values = self._values(client, sub, fingerprint, now, anonymous)
        written: list[str] = []
        urgent = _safety(_text(sub))
        # as the chat records them, whatever service the client's form picked: danger now
        # ("有人拿刀砍人") is referred to 110/119/120; a crisis (self-harm) is an urgent case of
        # the body behind the psychological-assistance line, followed up, not referred
        level = urgent[1].level if urgent else None
        emergency = level == "emergency"
        crisis_body = self.catalog.body_for(CRISIS_FUNCTION, None) if level == "crisis" else None

        def with_case(session, view) -> None:
            """The door's row, in the case's own transaction."""
            session.execute(_INSERT, {**values, "case_number": view.number})
            written.append(values["token"])

        try:
            view = self.cases.open_case(OpenCase(
                text=_text(sub), category=EMERGENCY if level in SAFETY_LEVELS else sub.service_code,
                assign_to=crisis_body.code if crisis_body else None,
                refer=_referral(urgent[1], sub.service_code) if emergency else None, place=_place(sub),
                contact=None if anonymous else sub.phone,
                contact_name=None if anonymous else sub.name, anonymous=anonymous,
                channel=CHANNEL, address=client.name, idempotency_key=key, actor=CHANNEL),
                with_case=with_case)
        except InvalidInput as exc:
            raise bad(exc.zh, str(exc.args[0])) from None
        token = written[0] if written else self._token_of(view.number, values)
        log.info("open311 client %s filed %s", client.name, view.number)
        notice = NOTICE.format(number=view.number, due=self._local(view.due_at))
        if urgent:
            # the client's app shows the notice to the resident at once; staff see the flag
            lines, safety = urgent
            if written:                          # a new case, not a retry of one
                self.cases.act(view.number, "note", actor=CHANNEL, text=(
                    f"紧急情况（{safety.level}）：回执已请群众立即拨打{'、'.join(safety.hotlines)}"))
            notice = "\n".join([*lines, notice])
        return Filed(view.number, token, notice, sub.account_id)

    def _repeat(self, client: Client, fingerprint: str, now: datetime) -> dict | None:
        """The same request from the same client within a minute: one indexed lookup, on a
        Core connection (an ORM session costs more than the query)."""
        with self._reads.connect() as conn:
            row = conn.execute(_REPEAT, {"client_id": client.id, "fingerprint": fingerprint,
                                         "since": now - REPEAT_WINDOW}).first()
        return row._asdict() if row else None

    def _filed(self, row: dict, account_id: str | None) -> Filed:
        view = self.cases.status(row["case_number"])
        return Filed(row["case_number"], row["token"],
                     NOTICE.format(number=view["number"], due=self._local(view["due_at"])), account_id)

    @staticmethod
    def _values(client: Client, sub: Submission, fingerprint: str, now: datetime,
                anonymous: bool) -> dict:
        """The Open311 row of a case, but for its number."""
        return dict(client_id=client.id, token=str(uuid.uuid4()), fingerprint=fingerprint,
                    service_code=sub.service_code, lat=sub.lat, long=sub.long,
                    address_string=mask_text(sub.address_string), address_id=sub.address_id,
                    media_url=sub.media_url, email=None if anonymous else sub.email,
                    device_id=sub.device_id, account_id=sub.account_id, created_at=now)

    def _token_of(self, number: str, values: dict) -> str:
        """A retry (same idempotency key) found an earlier case: its token, or, for a case
        whose row is missing (opened before rows were written with the case), a new row."""
        with self.cases.session_factory() as session:
            found = session.scalar(select(r.c.token).where(r.c.case_number == number))
        if found is not None:
            return found
        try:
            with self.cases.session_factory() as session, session.begin():
                session.execute(_INSERT, {**values, "case_number": number})
        except IntegrityError:
            with self.cases.session_factory() as session:
                return session.scalar(select(r.c.token).where(r.c.case_number == number))
        return values["token"]

    def _local(self, due_at: str | None) -> str:
        """A due time (UTC, `Z`) as the county's local date."""
        if not due_at:
            return "规定时限"
        day = self.cases.calendar.local_day(datetime.fromisoformat(due_at.removesuffix("Z")))
        return f"{day.year}年{day.month}月{day.day}日"

    # ------------------------------------------------------------ reading
    def one(self, number: str) -> dict:
        rows = self._read([r.c.case_number == number[:32]])
        if not rows:
            raise not_found(f"没有找到编号为 {number[:32]} 的诉求", "service_request_id not found")
        return rows[0]

    def search(self, *, ids: list[str] | None = None, codes: list[str] | None = None,
               start: datetime | None = None, end: datetime | None = None,
               status: list[str] | None = None) -> list[dict]:
        if ids:
            if len(ids) > MAX_IDS:
                raise bad(f"一次最多查询 {MAX_IDS} 个编号", f"more than {MAX_IDS} service_request_id")
            return self._read([r.c.case_number.in_(ids)])
        start, end = _range(start, end, self.cases.clock())
        where = [r.c.created_at >= start, r.c.created_at <= end]
        if codes:
            where.append(r.c.service_code.in_(codes))
        if status:
            for value in status:
                if value not in ("open", "closed"):
                    raise bad(f"status 只能是 open 或 closed（收到 {value[:20]}）", "status must be open or closed")
            if len(set(status)) == 1:
                where.append(CaseRow.state.in_(states.states_for(status[0])))
        return self._read(where)

    def token(self, token: str) -> dict:
        with self._read_sessions() as session:
            number = session.scalar(select(r.c.case_number).where(r.c.token == token[:36]))
        if number is None:
            raise not_found("没有找到这个 token", "token not found")
        return {"service_request_id": number, "token": token}

    def updates(self, start: datetime | None, end: datetime | None) -> list[dict]:
        """mySociety's servicerequestupdates: every public event of an Open311 case in the range."""
        start, end = _range(start, end, self.cases.clock())
        stmt = (select(CaseRow.number, EventRow.seq, EventRow.action, EventRow.to_state, EventRow.at,
                       EventRow.public_text, r.c.media_url)
                .join(CaseRow, CaseRow.number == r.c.case_number)
                .join(EventRow, EventRow.case_id == CaseRow.id)
                .where(EventRow.at >= start, EventRow.at <= end, EventRow.public_text.is_not(None),
                       EventRow.action != "open")
                .order_by(EventRow.at, EventRow.id).limit(MAX_RESULTS))
        with self._read_sessions() as session:
            rows = session.execute(stmt).all()
        return [{"update_id": f"{row.number}-{row.seq}", "service_request_id": row.number,
                 "status": states.update_state(row.action, str(getattr(row.to_state, "value", row.to_state))),
                 "updated_datetime": iso(row.at), "description": mask_text(row.public_text),
                 "media_url": ""} for row in rows]

    def _read(self, where: list) -> list[dict]:
        stmt = (select(CaseRow, r).join(CaseRow, CaseRow.number == r.c.case_number)
                .where(and_(*where)).order_by(r.c.id.desc()).limit(MAX_RESULTS))
        with self._read_sessions() as session:
            rows = session.execute(stmt).all()
            notes = _latest_notes(session, [row[0].id for row in rows])
            return [self._request(row[0], row, notes.get(row[0].id)) for row in rows]

    def _request(self, case: CaseRow, row, note: str | None) -> dict:
        category = self.catalog.categories[case.category_code]
        body = self.catalog.bodies.get(case.body_code) if case.body_code else None
        state = str(getattr(case.state, "value", case.state))
        return {"service_request_id": case.number, "status": states.status(state),
                "status_notes": render.public_text(note), "service_name": category.level2,
                "service_code": case.category_code,
                "description": render.public_description(case.summary, case.text, case.category_code),
                "agency_responsible": body.name if body else None,
                "service_notice": None, "requested_datetime": iso(case.created_at),
                "updated_datetime": iso(case.updated_at), "expected_datetime": iso(case.due_at),
                "address": mask_text(row.address_string or case.place), "address_id": row.address_id,
                "zipcode": None, "lat": row.lat, "long": row.long, "media_url": row.media_url}


def _latest_notes(session, case_ids: list[int]) -> dict[int, str]:
    """The latest public text of each case other than the opening acknowledgement."""
    if not case_ids:
        return {}
    latest = (select(EventRow.case_id, EventRow.public_text)
              .where(EventRow.case_id.in_(case_ids), EventRow.public_text.is_not(None),
                     EventRow.action != "open")
              .order_by(EventRow.case_id, EventRow.seq))
    notes: dict[int, str] = {}
    for case_id, text in session.execute(latest):
        notes[case_id] = text
    return notes


def _range(start: datetime | None, end: datetime | None, now: datetime) -> tuple[datetime, datetime]:
    """The spec's window: both given → at most 90 days; one or none → 90 days to/from it."""
    if start and end:
        if end < start:
            raise bad("end_date 早于 start_date", "end_date is before start_date")
        if end - start > MAX_RANGE:
            raise bad("start_date 与 end_date 相隔不能超过 90 天", "start_date and end_date more than 90 days apart")
        return start, end
    if start:
        return start, _shifted(start, MAX_RANGE)
    end = end or now
    return _shifted(end, -MAX_RANGE), end


def _shifted(moment: datetime, by: timedelta) -> datetime:
    """`moment + by`, held at the calendar's ends (start_date=9999-12-31 is a valid date whose
    90 days after are not: an empty list, not a 500)."""
    try:
        return moment + by
    except OverflowError:
        return datetime.max if by > timedelta(0) else datetime.min


def _description(category) -> str:
    examples = "；".join(category.examples[:2])
    return f"{category.level1}/{category.level2}" + (f"，例如：{examples}" if examples else "")


def _text(sub: Submission) -> str:
    when = sub.attributes.get("incident_time")
    return sub.description + (f"\n发生时间：{when}" if when else "")


def _place(sub: Submission) -> str | None:
    parts = [p for p in (sub.address_string, sub.attributes.get("place")) if p]
    if not parts and sub.lat is not None:
        parts = [f"坐标 {sub.lat:.6f},{sub.long:.6f}"]
    return "，".join(parts)[:200] or None


def _referral(safety, service_code: str) -> str:
    """The referral's public text (the client reads it in status_notes)."""
    return (f"紧急情况，已告知群众立即拨打{'、'.join(safety.hotlines)}；"
            f"申报时所选服务：{service_code}")


def _safety(text: str):
    """`call_now` for a filing. Its classifiers are scikit-learn models fed the vectors they
    made themselves, so sklearn's per-call checks of arguments and finiteness (a fifth of the
    check's time) are skipped, in this thread only; the answer is the same."""
    from sklearn import config_context

    with config_context(skip_parameter_validation=True, assume_finite=True):
        return call_now(text, do_not_wait_for="办理答复")


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "backslashreplace")).hexdigest()


def _fingerprint(client: Client, sub: Submission) -> str:
    return _hash(json.dumps([client.id, sub.fingerprint_fields()], ensure_ascii=False, sort_keys=True))


