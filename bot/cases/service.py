"""The case service: the only code that writes cases.

Every entry point (chat actions, Telegram, transcripts, console, CLI) calls this class. Each
public method is one transaction: the case row, its event rows and its outbox rows are
committed together or not at all (design.md §4.5).
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload, sessionmaker

from bot.catalog import AGENT_TIERS, KINDS, Agent, Body, Catalog
from bot.cases import extension, messages as msg
from bot.cases.excerpt import clean_excerpt
from bot.cases.calendar import WorkCalendar
from bot.cases.errors import CaseNotFound, IllegalTransition, InvalidInput
from bot.cases.lifecycle import (OPEN_STATES, STATE_LABELS, TERMINAL_STATES, TRANSITIONS, State,
                                 next_state)
from bot.cases.models import CaseRow, EventRow, OutboxRow
from bot.cases.numbering import next_number
from bot.cases.validation import MAX_SHORT, clean_text, mask_name, mask_phone, normalize_phone
from bot.cases.views import CaseView, EventView, iso
from bot.db import READ_ONLY
from bot.logs import install_masking
from bot.nlu.case_type import CASE_TYPES, predict_case_type
from bot.privacy import mask_text, mask_value, masked_head, phones_in

log = logging.getLogger(__name__)

SATISFACTION = ("满意", "基本满意", "不满意")
SATISFIED = ("满意", "基本满意")
# Events whose figures depend on the case's next event of the same sort (EventRow.next_at)
CHAINS = (("assign", "transfer", "escalate", "accept"), ("rate",))
MAX_EXTENSION_WORKING_DAYS = 60     # 延期: beyond this a supervisor opens a new case instead

# Core statements for the hot path of opening (no ORM unit-of-work per row).
_INSERT_CASE = insert(CaseRow.__table__).returning(CaseRow.__table__.c.id)
_INSERT_EVENTS = insert(EventRow.__table__).returning(EventRow.__table__.c.id,
                                                      sort_by_parameter_order=True)
_INSERT_OUTBOX = insert(OutboxRow.__table__)
_NUMBER_BY_KEY = select(CaseRow.number).where(CaseRow.idempotency_key == bindparam("key"))
RESIDENT = "resident"
# What a joint case's members (and so their residents) hear of it: its replies, its outcome.
JOINT_RELAYED = ("reply", "resolve")


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


@dataclass
class OpenCase:
    """A request to open a case. Only `text` and `category` are required."""
    text: str
    category: str
    area: str | None = None
    kind: str | None = None
    contact: str | None = None
    contact_name: str | None = None
    place: str | None = None
    summary: str | None = None
    channel: str | None = None
    address: str | None = None
    idempotency_key: str | None = None
    actor: str = "system"
    refer: str | None = None
    inline_ack: bool = False
    auto_assign: bool = True
    case_type: str | None = None    # 12345 type 咨询/求助/投诉/举报/建议/表扬; predicted when None
    anonymous: bool = False         # the resident declined to leave a number: none is kept
    excerpt: tuple[dict, ...] = ()  # the chat/transcript lines it came from: {"who", "text"}
    assign_to: str | None = None    # a body or agent code instead of the route's (auto_assign)
    joint: bool = False             # 联合办理工单: no resident of its own (see `join`)


@dataclass
class Rating:
    solved: bool
    satisfaction: str


@dataclass
class _Change:
    action: str
    public: str | None = None
    note: str | None = None
    data: dict | None = None


class CaseService:
    def __init__(self, session_factory: sessionmaker[Session], catalog: Catalog, *,
                 calendar: WorkCalendar | None = None, number_prefix: str = "",
                 clock: Callable[[], datetime] = utcnow) -> None:
        self._sessions = session_factory
        self.catalog = catalog
        self.calendar = calendar or WorkCalendar()
        self.prefix = number_prefix
        self.clock = clock
        install_masking()

    @property
    def session_factory(self) -> sessionmaker[Session]:
        """Sessions on the case store, for its read side (`bot.cases.queries`) and the outbox."""
        return self._sessions

    @contextmanager
    def _tx(self) -> Iterator[Session]:
        with self._sessions() as session, session.begin():
            yield session

    # ================================================================== opening
    def open_case(self, request: OpenCase, *,
                  with_case: Callable[[Session, CaseView], None] | None = None) -> CaseView:
        """Open a case. `with_case(session, view)`, if given, runs inside the opening
        transaction once the case is written, so a door's own row commits with the case or
        not at all; it is not called when an idempotency key finds an earlier case."""
        req = self._validated(request)
        if req.idempotency_key:
            existing = self.find_by_idempotency_key(req.idempotency_key)
            if existing is not None:
                return existing
        try:
            with self._tx() as session:
                case, events = self._insert_case(session, req)
                view = self._view(case, events, merged_into=None)
                if with_case is not None:
                    with_case(session, view)
        except IntegrityError:
            if req.idempotency_key:
                existing = self.find_by_idempotency_key(req.idempotency_key)
                if existing is not None:
                    return existing
            raise
        log.info("opened case %s category=%s area=%s", view.number, req.category, req.area)
        return view

    def _validated(self, req: OpenCase) -> OpenCase:
        text = clean_text(req.text)
        if req.category not in self.catalog.categories:
            raise InvalidInput(f"unknown category {req.category!r}",
                               f"未知的诉求分类：{req.category}（可用 bot categories 查看）")
        if req.area is not None and req.area not in self.catalog.areas:
            raise InvalidInput(f"unknown area {req.area!r}", f"未知的区域编码：{req.area}")
        kind = req.kind or self.catalog.categories[req.category].kind
        if kind not in KINDS:
            raise InvalidInput(f"unknown kind {kind!r}", f"未知的类型：{kind}（可选 {'/'.join(KINDS)}）")
        key = clean_text(req.idempotency_key, field="idempotency key", limit=128, required=False)
        summary = clean_text(req.summary, field="summary", limit=MAX_SHORT, required=False)
        place = clean_text(req.place, field="place", limit=MAX_SHORT, required=False)
        case_type = clean_text(req.case_type, field="type", limit=8, required=False)
        if case_type is not None and case_type not in CASE_TYPES:
            raise InvalidInput(f"unknown case type {case_type!r}",
                               f"未知的诉求类型：{case_type}（可选 {'/'.join(CASE_TYPES)}）")
        contact = None if req.anonymous else normalize_phone(req.contact)
        if contact is None and not req.anonymous:
            contact = _contact_from(text, summary, place)
        return OpenCase(
            text=mask_text(text), category=req.category, area=req.area, kind=kind,
            contact=contact,
            contact_name=clean_text(req.contact_name, field="name", limit=50, required=False),
            place=mask_text(place),
            summary=_summary(summary, text),
            channel=clean_text(req.channel, field="channel", limit=32, required=False),
            address=clean_text(req.address, field="address", limit=128, required=False),
            idempotency_key=key, actor=req.actor,
            refer=clean_text(req.refer, field="referral", required=False),
            inline_ack=req.inline_ack, auto_assign=req.auto_assign,
            case_type=case_type or predict_case_type(text), anonymous=req.anonymous,
            excerpt=clean_excerpt(req.excerpt), assign_to=req.assign_to, joint=req.joint,
        )

    def _insert_case(self, session: Session, req: OpenCase) -> tuple[CaseRow, list[dict]]:
        now = self.clock()
        category = self.catalog.categories[req.category]
        number = next_number(session, self.prefix, self.calendar.local_day(now).strftime("%Y%m%d"))
        channel, address = req.channel, req.address
        if channel is None and req.contact:
            channel, address = "sms", req.contact
        case = CaseRow(
            number=number, kind=req.kind, category_code=category.code, area_code=req.area,
            tier=self.catalog.initial_tier(req.area), state=State.RECEIVED, text=req.text,
            summary=req.summary, place=req.place, contact_phone=req.contact,
            contact_name=req.contact_name, channel=channel, address=address,
            idempotency_key=req.idempotency_key, case_type=req.case_type,
            created_at=now, updated_at=now,
            due_at=self.calendar.resolve_due(now, category.limits), event_count=0,
            joint=req.joint, joint_case_id=None,
        )
        batch: list[dict] = []
        opened = {"text": req.text, **({"excerpt": list(req.excerpt)} if req.excerpt else {})}
        self._record(batch, case, None, _Change("open", msg.received(case.summary, number),
                                                data=opened), actor=req.actor, now=now)
        if req.refer:
            self._apply(session, batch, case, "refer", actor=req.actor, text=req.refer, now=now)
        elif req.auto_assign:
            self._apply(session, batch, case, "assign", actor="system", to=req.assign_to, now=now)
        return case, self._write(session, case, batch, inline=req.inline_ack)

    def find_by_idempotency_key(self, key: str) -> CaseView | None:
        """The case opened with this idempotency key, if any (read without SQLite's write
        lock: every filing through a door asks this first)."""
        with self._sessions() as session:
            number = session.connection(execution_options={READ_ONLY: True}).scalar(
                _NUMBER_BY_KEY, {"key": key})
        return self.get(number) if number else None

    # ================================================================== actions
    def act(self, number: str, action: str, *, actor: str = "system", text: str | None = None,
            to: str | None = None, rating: Rating | None = None) -> CaseView:
        """Apply one lifecycle action; raise `IllegalTransition` or `InvalidInput` on misuse."""
        text = clean_text(text, required=False)
        with self._tx() as session:
            case = self._load_for_update(session, number)
            batch: list[dict] = []
            now = self.clock()
            self._apply(session, batch, case, action, actor=actor, text=text, to=to,
                        rating=rating, now=now)
            self._write(session, case, batch, inline=False)
            if case.joint and action in JOINT_RELAYED:
                self._relay_to_members(session, case, action, text=text, actor=actor, now=now)
        return self.get(number)

    def _load_for_update(self, session: Session, number: str) -> CaseRow:
        stmt = select(CaseRow).where(CaseRow.number == number.strip()).with_for_update()
        case = session.scalar(stmt)
        if case is None:
            raise CaseNotFound(number)
        return case

    def _apply(self, session: Session, batch: list[dict], case: CaseRow, action: str, *,
               actor: str, text: str | None = None, to: str | None = None,
               rating: Rating | None = None, now: datetime) -> None:
        current = State(case.state)
        target = next_state(action, current)
        handler = getattr(self, f"_do_{action}")
        change: _Change = handler(session, case, now=now, text=text, to=to, rating=rating,
                                  actor=actor)
        self._record(batch, case, current, change, actor=actor, now=now, target=target)
        if action == "rate" and rating and (not rating.solved or rating.satisfaction == "不满意"):
            self._apply(session, batch, case, "reopen", actor="system", now=now,
                        text="回访评价为未解决或不满意，自动重办")

    # Each _do_<action> changes the case row and returns what the event says.
    def _do_assign(self, session, case, *, now, to, **_) -> _Change:
        route = self.catalog.route(case.category_code, case.area_code)
        body, agent, tier = route.body, route.agent, route.tier
        if to:
            target = self._target(to)
            if isinstance(target, Body):
                body = target
            else:
                agent, tier = target, self._agent_tier(target)
        self._set_owner(case, body, agent, tier, now)
        due = msg.deadline_label(self.calendar, case.due_at)
        return _Change("assign", msg.assigned(case.summary, case.number, body.name, due),
                       data=self._deadline_data(case))

    def _do_accept(self, session, case, **_) -> _Change:
        due = msg.deadline_label(self.calendar, case.due_at)
        return _Change("accept", msg.accepted(case.summary, case.number, self._body_name(case), due),
                       data=self._deadline_data(case))

    def _do_start(self, session, case, **_) -> _Change:
        return _Change("start", msg.started(case.summary, case.number, self._body_name(case)))

    def _do_reply(self, session, case, *, text, **_) -> _Change:
        _require(text, "reply", "答复内容不能为空")
        return _Change("reply", msg.replied(case.number, self._body_name(case), text),
                       data={"text": text})

    def _do_note(self, session, case, *, text, **_) -> _Change:
        _require(text, "note", "备注内容不能为空")
        return _Change("note", note=text)

    def _do_add_info(self, session, case, *, text, **_) -> _Change:
        _require(text, "add_info", "补充内容不能为空")
        return _Change("add_info", note=text, data={"text": text})

    def _do_transfer(self, session, case, *, now, to, text, **_) -> _Change:
        _require(to, "transfer", "转办需要指定承办单位或代理员（--to）")
        target = self._target(to)
        body = self.catalog.bodies[case.body_code]
        agent = self.catalog.agents[case.agent_code]
        tier = case.tier
        if isinstance(target, Body):
            if target.code == case.body_code:
                raise InvalidInput("transfer to the same body", "不能转办给当前承办单位")
            body = target
        else:
            if target.code == case.agent_code:
                raise InvalidInput("transfer to the same agent", "不能转办给当前代理员")
            agent, tier = target, self._agent_tier(target)
        self._set_owner(case, body, agent, tier, now)
        due = msg.deadline_label(self.calendar, case.due_at)
        return _Change("transfer", msg.transferred(case.summary, case.number, body.name, due),
                       note=text, data={"to": to, **self._deadline_data(case)})

    def _do_extend(self, session, case, *, now, to, text, **_) -> _Change:
        """A new deadline. Taken on a pending request (a supervisor's approval) it may leave
        out the date and the reason: the request's are used, and the request is settled."""
        request = self._pending_extension(session, case)
        if request is not None:
            to, text = to or request["to"], text or request["reason"]
        _require(text, "extend", "延期需要说明原因（--text）")
        _require(to, "extend", "延期需要给出新的期限（--to 2026-12-31 或工作日天数）")
        new_due = self._later_due(to, case, now)
        old = case.due_at
        case.due_at = new_due
        data = {"old_due_at": iso(old), "due_at": iso(new_due), "reason": text}
        if request is not None:
            data["request"] = request
        return _Change("extend", msg.extended(case.number,
                                              msg.deadline_label(self.calendar, new_due), text),
                       data=data)

    def _do_ask_extension(self, session, case, *, now, to, text, **_) -> _Change:
        """An internal request for a later deadline: the resident is told only once approved."""
        _require(text, "ask_extension", "申请延期需要说明原因（--text）")
        _require(to, "ask_extension", "申请延期需要给出希望的新期限（--to 2026-12-31 或工作日天数）")
        request = self._pending_extension(session, case)
        if request is not None:
            raise InvalidInput("an extension request is already pending",
                               f"已有一条延期申请（申请延至 {request['to']}）等待督办审批，"
                               "请等审批后再提新的申请")
        new_due = self._later_due(to, case, now)
        day = self.calendar.local_day(new_due).isoformat()
        return _Change("ask_extension", note=f"申请延期至 {day}，原因：{text}",
                       data={"to": day, "due_at": iso(new_due), "reason": text})

    def _do_refuse_extension(self, session, case, *, text, **_) -> _Change:
        request = self._pending_extension(session, case)
        if request is None:
            raise InvalidInput("no extension request is pending", "这件诉求没有待审批的延期申请")
        _require(text, "refuse_extension", "驳回延期需要说明理由（--text）")
        return _Change("refuse_extension", note=f"驳回延期申请（申请延至 {request['to']}），理由：{text}",
                       data={"request": request, "reason": text})

    def _pending_extension(self, session: Session, case: CaseRow) -> dict | None:
        rows = session.scalars(select(EventRow).where(EventRow.case_id == case.id,
                                                      EventRow.action.in_(extension.ACTIONS))
                               .order_by(EventRow.seq)).all()
        return extension.pending([_event_dict(e) for e in rows], case.state)

    def _later_due(self, to: str, case: CaseRow, now: datetime) -> datetime:
        new_due = self._parse_due(to, case.due_at or now)
        if case.due_at and new_due <= case.due_at:
            raise InvalidInput("new deadline is not later", "新的期限必须晚于当前期限")
        return new_due

    def _do_escalate(self, session, case, *, now, text, **_) -> _Change:
        tier = self.catalog.next_tier(case.tier)
        if tier is None:
            raise InvalidInput("already at the center", "该诉求已在代理中心督办，无法再上提")
        agent = self.catalog.agent_at(case.area_code, tier)
        body = self.catalog.bodies[case.body_code] if case.body_code else \
            self.catalog.route(case.category_code, case.area_code).body
        self._set_owner(case, body, agent, tier, now, keep_due=True)
        return _Change("escalate", msg.escalated(case.number, msg.TIER_LABELS[tier]), note=text,
                       data={"tier": tier, **self._deadline_data(case)})

    def _do_resolve(self, session, case, *, text, **_) -> _Change:
        _require(text, "resolve", "办结需要填写办理结果（--text）")
        return _Change("resolve", msg.resolved(case.number, self._body_name(case), text),
                       data={"text": text, **self._deadline_data(case)})

    def _do_rate(self, session, case, *, rating, text, **_) -> _Change:
        if rating is None or rating.satisfaction not in SATISFACTION:
            raise InvalidInput("rating needs solved and satisfaction",
                               "评价需要说明是否解决，以及满意程度（满意/基本满意/不满意）")
        public = msg.rated(case.number) if rating.solved and rating.satisfaction != "不满意" else None
        return _Change("rate", public, note=text,
                       data={"solved": rating.solved, "satisfaction": rating.satisfaction})

    def _do_reopen(self, session, case, *, text, **_) -> _Change:
        return _Change("reopen", msg.reopened(case.number), note=text)

    def _do_close(self, session, case, **_) -> _Change:
        return _Change("close", msg.closed(case.number))

    def _do_withdraw(self, session, case, *, text, **_) -> _Change:
        return _Change("withdraw", msg.withdrawn(case.number), data={"reason": text})

    def _do_refer(self, session, case, *, text, **_) -> _Change:
        _require(text, "refer", "转介需要向群众说明去向和理由（--text）")
        return _Change("refer", msg.referred(case.number, text), data={"text": text})

    def _do_merge(self, session, case, *, to, **_) -> _Change:
        _require(to, "merge", "并单需要指定目标编号（--to）")
        target = session.scalar(select(CaseRow).where(CaseRow.number == to.strip()))
        if target is None:
            raise CaseNotFound(to)
        if target.id == case.id:
            raise InvalidInput("cannot merge a case into itself", "不能把诉求并入它自己")
        if State(target.state) in TERMINAL_STATES:
            raise InvalidInput("target case is finished",
                               f"目标诉求 {target.number} 已结束（{STATE_LABELS[State(target.state)]}），不能并入")
        case.merged_into_id = target.id
        return _Change("merge", msg.merged(case.number, target.number),
                       data={"into": target.number})

    def _do_join(self, session, case, *, to, **_) -> _Change:
        """联合办理: the case joins the joint case `to` and is worked on under it; it keeps its
        number, body and resident, who is told which joint case carries it."""
        _require(to, "join", "联合办理需要指定联合办理工单编号（--to）")
        joint = session.scalar(select(CaseRow).where(CaseRow.number == to.strip()))
        if joint is None:
            raise CaseNotFound(to)
        if not joint.joint:
            raise InvalidInput("target is no joint case", f"{joint.number} 不是联合办理工单")
        if case.joint:
            raise InvalidInput("a joint case cannot join another", "联合办理工单不能加入其他联合办理")
        if case.joint_case_id is not None:
            held = session.scalar(select(CaseRow.number).where(CaseRow.id == case.joint_case_id))
            raise InvalidInput("already in a joint case", f"已在联合办理工单 {held} 中")
        if State(joint.state) not in OPEN_STATES:
            raise InvalidInput("joint case is finished",
                               f"联合办理工单 {joint.number} {STATE_LABELS[State(joint.state)]}，不能再加入")
        case.joint_case_id = joint.id
        due = msg.deadline_label(self.calendar, joint.due_at)
        return _Change("join", msg.joined(case.number, joint.number, self._body_name(joint), due),
                       data={"joint": joint.number, "body": joint.body_code})

    def _relay_to_members(self, session: Session, joint: CaseRow, action: str, *,
                          text: str | None, actor: str, now: datetime) -> None:
        """A joint case's reply or resolution, in its transaction, on each member case that
        may take it (a member a handler moved on, say transferred, is left to its handler)."""
        sources = TRANSITIONS[action][0]
        members = session.scalars(select(CaseRow).where(
            CaseRow.joint_case_id == joint.id, CaseRow.state.in_([s.value for s in sources]))
            .order_by(CaseRow.id).with_for_update()).all()
        body = self._body_name(joint)
        for member in members:
            if action == "resolve":
                change = _Change("resolve", msg.joint_resolved(member.number, joint.number, body, text),
                                 data={"text": text, "joint": joint.number,
                                       **self._deadline_data(member)})
            else:
                change = _Change("reply", msg.joint_replied(member.number, joint.number, body, text),
                                 data={"text": text, "joint": joint.number})
            batch: list[dict] = []
            self._record(batch, member, State(member.state), change, actor=actor, now=now,
                         target=next_state(action, State(member.state)))
            self._write(session, member, batch, inline=False)

    # ================================================================== helpers
    def _record(self, batch: list[dict], case: CaseRow, from_state: State | None,
                change: _Change, *, actor: str, now: datetime, target: State | None = None) -> None:
        """Move the case to its new state and queue the event row describing the change."""
        to_state = target or State.RECEIVED
        case.state = to_state
        case.updated_at = now
        case.event_count += 1
        # Free text reaches events only masked: whatever a handler or resident typed.
        data = change.data or {}
        batch.append(dict(seq=case.event_count, at=now, actor=actor, action=change.action,
                          from_state=from_state, to_state=to_state, body_code=case.body_code,
                          agent_code=case.agent_code, public_text=mask_text(change.public),
                          internal_note=mask_text(change.note), data=mask_value(data),
                          next_at=None,
                          on_time=_by(now, data.get("due_at")) if change.action == "resolve" else None,
                          solved=data.get("solved") is True if change.action == "rate" else None,
                          satisfied=data.get("satisfaction") in SATISFIED if change.action == "rate"
                          else None))

    def _follow(self, session: Session, case: CaseRow, batch: list[dict], fresh: bool) -> None:
        """Tell the case's last assignment-or-signing and last rating that the next one of their
        sort came (`EventRow.next_at`, `on_time`), within the batch and, for a case already
        written, in the store: what `bot.cases.stats` would otherwise find by a window."""
        for sort in CHAINS:
            chain = [e for e in batch if e["action"] in sort]
            if not chain:
                continue
            if not fresh:
                last = session.execute(
                    select(EventRow.id, EventRow.action, EventRow.data)
                    .where(EventRow.case_id == case.id, EventRow.action.in_(sort))
                    .order_by(EventRow.seq.desc()).limit(1)).first()
                if last is not None and last.action != "accept":
                    session.execute(update(EventRow).where(EventRow.id == last.id)
                                    .values(_followed(last.action, last.data, chain[0])))
            for earlier, later in zip(chain, chain[1:]):
                if earlier["action"] != "accept":
                    earlier.update(_followed(earlier["action"], earlier["data"], later))

    def _write(self, session: Session, case: CaseRow, batch: list[dict], *,
               inline: bool) -> list[dict]:
        """Write the case, its new events and their outbox rows: a few statements, no ORM
        round trips per row (opening is the hot path)."""
        fresh = case.id is None
        if fresh:
            values = {c.key: getattr(case, c.key) for c in CaseRow.__table__.columns
                      if c.key != "id"}
            case.id = session.execute(_INSERT_CASE, values).scalar_one()
        else:
            session.flush()
        self._follow(session, case, batch, fresh)
        for event in batch:
            event["case_id"] = case.id
        ids = session.execute(_INSERT_EVENTS, batch).scalars().all()
        outbox = []
        for event_id, event in zip(ids, batch):
            event["id"] = event_id
            if event["public_text"] and event["actor"] != RESIDENT and not case.joint:
                outbox.append(self._outbox_row(case, event, inline))
        if outbox:
            session.execute(_INSERT_OUTBOX, outbox)
        return batch

    def _outbox_row(self, case: CaseRow, event: dict, inline: bool) -> dict:
        row = dict(case_id=case.id, event_id=event["id"], channel=case.channel or "none",
                   address=case.address, text=event["public_text"], status="pending", tries=0,
                   next_attempt_at=event["at"], created_at=event["at"], inline=inline,
                   sent_at=None, last_error=None)
        if inline:
            # The door that opened the case told the resident in the same conversation.
            row.update(status="sent", sent_at=event["at"])
        elif case.channel is None:
            row.update(status="dead", last_error="no channel or contact to reach the resident")
        return row

    def _set_owner(self, case: CaseRow, body: Body, agent: Agent, tier: str, now: datetime,
                   keep_due: bool = False) -> None:
        limits = self.catalog.categories[case.category_code].limits
        case.body_code, case.agent_code, case.tier = body.code, agent.code, tier
        case.sign_due_at = now + timedelta(hours=limits.sign_hours)
        case.contact_due_at = now + timedelta(hours=limits.contact_hours)
        if not keep_due and case.due_at is None:
            case.due_at = self.calendar.resolve_due(now, limits)

    def _deadline_data(self, case: CaseRow) -> dict:
        return {"sign_due_at": iso(case.sign_due_at), "due_at": iso(case.due_at)}

    def _agent_tier(self, agent: Agent) -> str:
        tier = self.catalog.areas[agent.area].tier
        return tier if tier in AGENT_TIERS else "point"

    def _target(self, value: str) -> Body | Agent:
        try:
            return self.catalog.resolve_target(value.strip())
        except KeyError:
            raise InvalidInput(f"unknown body or agent {value!r}",
                               f"未找到承办单位或代理员：{value}") from None

    def _body_name(self, case: CaseRow) -> str:
        return self.catalog.bodies[case.body_code].name if case.body_code else "代理中心"

    def _parse_due(self, value: str, base: datetime) -> datetime:
        """A new deadline: N working days after `base`, or a date; at most
        MAX_EXTENSION_WORKING_DAYS working days after `base` (a typo must not move a deadline
        by years)."""
        value = value.strip()
        most = MAX_EXTENSION_WORKING_DAYS
        if value.isascii() and value.isdigit():
            days = int(value) if len(value) <= 6 else most + 1
            if not 1 <= days <= most:
                raise InvalidInput(f"extension of {value[:12]} working days is outside 1..{most}",
                                   f"延期天数须在 1 到 {most} 个工作日之间（您填的是 {value[:12]}）")
            return self.calendar.add_working_days(base, days)
        try:
            day = date.fromisoformat(value)
        except ValueError:
            raise InvalidInput(f"bad deadline {value[:40]!r}",
                               f"期限格式不对：{value[:40]}（请用 2026-12-31 或工作日天数）") from None
        latest = self.calendar.add_working_days(base, most)
        if day > self.calendar.local_day(latest):
            raise InvalidInput(f"new deadline {day} is more than {most} working days ahead",
                               f"延期最多 {most} 个工作日，新的期限不能晚于 "
                               f"{self.calendar.local_day(latest).isoformat()}")
        return self.calendar.day_end(day)

    # ================================================================== reading
    def get(self, number: str) -> CaseView:
        with self._sessions() as session:
            case = session.scalar(select(CaseRow).where(CaseRow.number == number.strip())
                                  .options(selectinload(CaseRow.events)))
            if case is None:
                raise CaseNotFound(number)
            merged_into = self._merged_into(session, case)
            view = self._view(case, [_event_dict(e) for e in case.events], merged_into)
            self._joint_links(session, case, view)
            return view

    def status(self, number: str) -> dict:
        """The cheap lookup behind "my case": state, body and deadline, no timeline."""
        with self._sessions() as session:
            case = session.scalar(select(CaseRow).where(CaseRow.number == number.strip()))
            if case is None:
                raise CaseNotFound(number)
            view = self._view(case, [], None)
            return {"number": view.number, "state": view.state, "state_label": view.state_label,
                    "body": view.body, "due_at": view.due_at, "overdue": view.overdue}

    def list_cases(self, *, state: str | None = None, body: str | None = None,
                   overdue: bool = False, channel: str | None = None, address: str | None = None,
                   limit: int = 200) -> list[CaseView]:
        if state is not None and state not in {s.value for s in State}:
            raise InvalidInput(f"unknown state {state!r}", f"未知的状态：{state}")
        stmt = select(CaseRow).order_by(CaseRow.id.desc()).limit(limit)
        if state:
            stmt = stmt.where(CaseRow.state == state)
        if body:
            stmt = stmt.where(CaseRow.body_code == body)
        if overdue:
            stmt = stmt.where(CaseRow.state.in_([s.value for s in OPEN_STATES]),
                              CaseRow.due_at < self.clock())
        if channel is not None:
            stmt = stmt.where(CaseRow.channel == channel, CaseRow.address == address)
        with self._sessions() as session:
            return [self._view(c, [], self._merged_into(session, c)) for c in session.scalars(stmt)]

    def owns(self, number: str, channel: str, address: str) -> bool:
        """Whether the case was opened by this resident (by channel and address)."""
        with self._sessions() as session:
            case = session.scalar(select(CaseRow).where(CaseRow.number == number.strip()))
            return bool(case and case.channel == channel and case.address == address)

    def _merged_into(self, session: Session, case: CaseRow) -> str | None:
        if not case.merged_into_id:
            return None
        return session.scalar(select(CaseRow.number).where(CaseRow.id == case.merged_into_id))

    def _joint_links(self, session: Session, case: CaseRow, view: CaseView) -> None:
        """联合办理 on one case's view: the joint case it is in, or a joint case's members."""
        view.joint = bool(case.joint)
        if case.joint_case_id:
            view.joint_case = session.scalar(select(CaseRow.number)
                                             .where(CaseRow.id == case.joint_case_id))
        if case.joint:
            rows = session.execute(select(CaseRow.number, CaseRow.state, CaseRow.summary)
                                   .where(CaseRow.joint_case_id == case.id).order_by(CaseRow.id))
            view.joint_members = [{"number": r.number, "state": r.state,
                                   "state_label": STATE_LABELS[State(r.state)],
                                   "summary": mask_text(r.summary)} for r in rows]

    def _view(self, case: CaseRow, events: list[dict], merged_into: str | None) -> CaseView:
        category = self.catalog.categories[case.category_code]
        area = self.catalog.areas.get(case.area_code) if case.area_code else None
        body = self.catalog.bodies.get(case.body_code) if case.body_code else None
        agent = self.catalog.agents.get(case.agent_code) if case.agent_code else None
        views = [EventView(e["seq"], iso(e["at"]), e["actor"], e["action"],
                           _value(e["from_state"]), _value(e["to_state"]), e["public_text"],
                           e["internal_note"], e["body_code"], e["agent_code"], e["data"])
                 for e in events]
        state = State(case.state)
        return CaseView(
            number=case.number, kind=case.kind, type=case.case_type, state=state.value,
            state_label=STATE_LABELS[state],
            category={"code": category.code, "level1": category.level1, "level2": category.level2},
            area={"code": area.code, "name": area.name} if area else None,
            body={"code": body.code, "name": body.name} if body else None,
            agent={"code": agent.code, "name": agent.name} if agent else None,
            tier=case.tier, summary=case.summary, text=case.text, place=case.place,
            contact=mask_phone(case.contact_phone), contact_name=mask_name(case.contact_name),
            channel=case.channel, created_at=iso(case.created_at),
            sign_due_at=iso(case.sign_due_at), due_at=iso(case.due_at),
            overdue=bool(state in OPEN_STATES and case.due_at and case.due_at < self.clock()),
            merged_into=merged_into, pending_extension=extension.pending(events, case.state),
            events=views,
        )

    # ================================================================== intake reads
    # Read-only helpers for bot/intake (hotline transcripts): 并单 candidates and re-imports.
    def open_cases_in(self, category: str | Collection[str], areas: Collection[str] | None = None,
                      *, limit: int = 100) -> list[CaseView]:
        """Open cases of `category` (a code, or several) in any of `areas` (every area when
        None), newest first."""
        codes = [category] if isinstance(category, str) else list(category)
        stmt = (select(CaseRow)
                .where(CaseRow.category_code.in_(codes),
                       CaseRow.state.in_([s.value for s in OPEN_STATES]))
                .order_by(CaseRow.id.desc()).limit(limit))
        if areas is not None:
            stmt = stmt.where(CaseRow.area_code.in_(list(areas)))
        with self._sessions() as session:
            return [self._view(c, [], None) for c in session.scalars(stmt)]



def _contact_from(*texts: str | None) -> str | None:
    """The first valid phone number typed inside the free text: it becomes the contact."""
    for text in texts:
        for phone in phones_in(text):
            try:
                return normalize_phone(phone)
            except InvalidInput:
                continue
    return None


def _followed(action: str, data: dict, later: dict) -> dict:
    """What an assignment or a rating records when the case's next event of its sort comes:
    when, and for an assignment whether that was the signing by the sign deadline."""
    if action == "rate":
        return {"next_at": later["at"]}
    return {"next_at": later["at"],
            "on_time": later["action"] == "accept" and _by(later["at"], data.get("sign_due_at"))}


def _by(at: datetime, deadline: str | None) -> bool:
    """`at` is no later than a deadline as an event records it (ISO, whole seconds); no
    deadline is always in time."""
    return deadline is None or at <= datetime.fromisoformat(deadline.removesuffix("Z"))


def _summary(summary: str | None, text: str) -> str:
    """The case's summary, masked. A summary cut from the head of the text is cut again from
    the text, masked first (a cut through a phone number would show its first digits); none
    given is the text's first 60 characters."""
    if not summary:
        return masked_head(" ".join(text.split()), 60, ellipsis="…")
    if len(summary) < len(text) and text.startswith(summary):
        return masked_head(text, len(summary))
    return mask_text(summary)


def _event_dict(row: EventRow) -> dict:
    return {c.key: getattr(row, c.key) for c in EventRow.__table__.columns}


def _value(state) -> str | None:
    return state.value if isinstance(state, State) else state


def _require(value, action: str, zh: str) -> None:
    if not value:
        raise InvalidInput(f"{action} needs more input", zh)
