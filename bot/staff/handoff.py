"""Conversations a resident handed to a person: who holds them and what was said meanwhile.

A hand-off is `waiting` (in the queue of its agent), `active` (a staff member took it) or
`closed` (handed back to the assistant). A conversation (channel + address) has at most one
live (waiting or active) hand-off; while it has one, the doors do not pass the resident's
messages to the dialogue but store them here for the staff member.

Every change writes one row in `handoff_messages` (resident and staff words, and `system`
rows for opened / taken / returned / a safety alert), so a console stream follows everything
by reading that table past the last id it saw. Residents' words are stored masked
(`bot.privacy.mask_text`); a staff member's own words are kept as written.

The responsible agent is the agent of the hand-off's case. When there is no case, or no
enabled staff account works that agent code, the duty agent gets it: `STAFF_DUTY_AGENT`
(an agent code of data/county), by default the agent of the center.

Who works a hand-off: agents and supervisors only. A supervisor sees all; an agent those of
their agent code and those whose case is in their scope (`bot.staff.policy.scope`: their 点).
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection, Engine

from bot.catalog import Catalog
from bot.cases.errors import InvalidInput
from bot.cases.validation import clean_text
from bot.privacy import mask_text
from bot.cases.errors import CaseNotFound
from bot.cases.views import CaseView
from bot.staff import policy
from bot.staff.errors import StaffError
from bot.staff.models import handoff_messages, handoffs, staff_accounts
from bot.staff.principal import Role, Staff

WAITING, ACTIVE, CLOSED = "waiting", "active", "closed"
LIVE = (WAITING, ACTIVE)
STATE_LABELS = {WAITING: "等待接手", ACTIVE: "人工处理中", CLOSED: "已转回智能助手"}
CHANNEL_LABELS = {"webchat": "网页聊天", "telegram": "Telegram"}
HANDLES = (Role.AGENT, Role.SUPERVISOR)      # roles that work hand-offs
MAX_STAFF_TEXT = 2000
# A hand-off no staff member has touched this long goes back to the assistant at the resident's
# next message (a weekend is 62 hours): nobody is left talking to a queue no one reads.
IDLE = timedelta(hours=72)

# What the resident is told (by the doors and the console).
WAIT_NOTICE = "已为您转接人工代理员，请稍候，代理员会在这里回复您。如不再需要人工，回复“结束人工”即可。"
RETURNED = "已转回智能助手，您可以继续和我对话。如需人工帮助，随时说“转人工”。"
STAFF_LABEL = "人工代理员"
RESIDENT_ENDED = "群众结束了人工服务，已转回智能助手"

# A resident's whole message asking to leave the person and go back to the assistant.
END_REQUEST = re.compile(r"^\s*(?:请)?(?:结束人工(?:服务|对话)?|退出人工(?:服务)?|不(?:用|需要)人工了?|"
                         r"转回(?:智能)?助手|/end)\s*[。.!！~～]*\s*$", re.IGNORECASE)

NOT_FOUND = StaffError("没有找到这段转人工对话。", "no such hand-off", "not_found", status=404)
NOT_YOURS = StaffError("这段对话已由其他工作人员接手，您不能在这里回复。", "taken by someone else",
                       "taken", status=409)
ALREADY_CLOSED = StaffError("这段对话已转回智能助手，不能再回复。", "hand-off closed", "closed",
                            status=409)
NO_ROLE = StaffError("您的角色不处理转人工对话。", "role has no hand-offs", "forbidden", status=403)


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") + "Z" if value else None


def mask_address(channel: str, address: str) -> str:
    """A resident's session or chat id as staff see it: enough to tell two apart."""
    tail = address[-4:] if len(address) > 4 else address
    return f"{CHANNEL_LABELS.get(channel, channel)} …{tail}"


@dataclass(frozen=True)
class Handoff:
    id: int
    channel: str
    address: str
    case_number: str | None
    agent_code: str | None
    state: str
    taken_by: str | None
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None

    @property
    def live(self) -> bool:
        return self.state in LIVE

    def to_dict(self, catalog: Catalog) -> dict:
        """The staff view: the resident's address masked, labels in Chinese."""
        agent = catalog.agents.get(self.agent_code or "")
        return {"id": self.id, "channel": self.channel,
                "channel_label": CHANNEL_LABELS.get(self.channel, self.channel),
                "resident": mask_address(self.channel, self.address), "case": self.case_number,
                "agent": {"code": agent.code, "name": agent.name} if agent else None,
                "state": self.state, "state_label": STATE_LABELS[self.state],
                "taken_by": self.taken_by, "created_at": _iso(self.created_at),
                "updated_at": _iso(self.updated_at), "closed_at": _iso(self.closed_at)}


@dataclass(frozen=True)
class Said:
    """One row of `handoff_messages`."""
    id: int
    handoff_id: int
    at: datetime
    sender: str          # resident | staff | system
    username: str | None
    text: str

    def to_dict(self) -> dict:
        return {**asdict(self), "at": _iso(self.at)}


class HandoffService:
    def __init__(self, engine: Engine, catalog: Catalog, *,
                 case_of: Callable[[str], CaseView] | None = None,
                 duty_agent: str | None = None, clock: Callable[[], datetime] = utcnow) -> None:
        """`case_of(number)` reads a case (raises CaseNotFound)."""
        self.engine = engine
        self.catalog = catalog
        self.case_of = case_of
        self._duty = duty_agent
        self.clock = clock
        self.idle = IDLE

    @classmethod
    def for_container(cls, container) -> "HandoffService":
        return cls(container.engine, container.catalog, case_of=container.cases.get,
                   duty_agent=container.settings.staff_duty_agent)

    # ------------------------------------------------------------------ agents
    @property
    def duty_agent(self) -> str:
        """STAFF_DUTY_AGENT when it names an agent of the catalog, else the center's agent."""
        if self._duty and self._duty in self.catalog.agents:
            return self._duty
        return self.catalog.agent_at(None, "center").code

    def _responsible(self, case_number: str | None, agent_code: str | None) -> str:
        if agent_code is None and case_number:
            case = self._case(case_number)
            agent_code = case.agent["code"] if case and case.agent else None
        if agent_code:
            with self.engine.connect() as conn:
                working = conn.scalar(select(func.count()).select_from(staff_accounts).where(
                    staff_accounts.c.agent_code == agent_code,
                    staff_accounts.c.role == Role.AGENT.value, staff_accounts.c.disabled.is_(False)))
            if working:
                return agent_code
        return self.duty_agent          # nobody works that code: it must not sit unseen

    def _case(self, number: str) -> CaseView | None:
        if self.case_of is None:
            return None
        try:
            return self.case_of(number)
        except CaseNotFound:
            return None

    def _scope(self, staff: Staff) -> policy.Scope:
        """What `staff` works (the case policy's scope); 403 for roles without hand-offs."""
        scope = policy.scope(staff, self.catalog) if Role(staff.role) in HANDLES else policy.Scope()
        if scope.nothing:
            raise NO_ROLE
        return scope

    def visible(self, staff: Staff, handoff: Handoff) -> bool:
        try:
            return self._within(self._scope(staff), handoff)
        except StaffError:
            return False

    def _within(self, scope: policy.Scope, handoff: Handoff) -> bool:
        if scope.everything or handoff.agent_code in scope.agents:
            return True
        case = self._case(handoff.case_number) if handoff.case_number else None
        return case is not None and scope.contains(case)

    # ------------------------------------------------------------------ reading
    def get(self, handoff_id: int) -> Handoff | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(handoffs).where(handoffs.c.id == handoff_id)).first()
        return _handoff(row) if row else None

    def for_staff(self, staff: Staff, handoff_id: int) -> Handoff:
        """The hand-off if `staff` may see it; one 404 for 'not there' and 'not yours'."""
        found = self.get(handoff_id)
        if found is None or not self.visible(staff, found):
            raise NOT_FOUND
        return found

    def live(self, channel: str, address: str) -> Handoff | None:
        with self.engine.connect() as conn:
            return self._live(conn, channel, address)

    def is_handed_off(self, channel: str, address: str) -> bool:
        return self.live(channel, address) is not None

    def list(self, staff: Staff, *, states: tuple[str, ...] = LIVE, limit: int = 200) -> list[dict]:
        """Hand-offs in `staff`'s scope, waiting ones first, oldest first; each with its
        latest message and how many messages it has."""
        scope = self._scope(staff)
        stmt = (select(handoffs).where(handoffs.c.state.in_(states))
                .order_by((handoffs.c.state != WAITING), handoffs.c.updated_at.desc())
                .limit(limit * 5))
        with self.engine.connect() as conn:
            rows = [_handoff(r) for r in conn.execute(stmt)]
        found = [h for h in rows if self._within(scope, h)][:limit]
        with self.engine.connect() as conn:
            latest = self._latest(conn, [h.id for h in found])
        return [{**h.to_dict(self.catalog), **latest.get(h.id, {"messages": 0, "last": None})}
                for h in found]

    def messages(self, handoff_id: int, *, after: int = 0, limit: int = 500) -> list[dict]:
        stmt = (select(handoff_messages).where(handoff_messages.c.handoff_id == handoff_id,
                                               handoff_messages.c.id > after)
                .order_by(handoff_messages.c.id).limit(limit))
        with self.engine.connect() as conn:
            return [_said(r).to_dict() for r in conn.execute(stmt)]

    def changes(self, after: int | None, limit: int = 200) -> tuple[int, list[tuple[int, int]]]:
        """(newest message id, [(message id, hand-off id)] after `after`); with `after` None,
        only where the table ends (a new console stream is not flooded with history)."""
        with self.engine.connect() as conn:
            if after is None:
                return conn.scalar(select(func.max(handoff_messages.c.id))) or 0, []
            rows = conn.execute(select(handoff_messages.c.id, handoff_messages.c.handoff_id)
                                .where(handoff_messages.c.id > after)
                                .order_by(handoff_messages.c.id).limit(limit)).all()
        return (rows[-1][0] if rows else after), [(r[0], r[1]) for r in rows]

    # ------------------------------------------------------------------ changes
    def open(self, channel: str, address: str, case_number: str | None = None,
             agent_code: str | None = None) -> tuple[Handoff, bool]:
        """(the live hand-off of the conversation, whether this call opened it). Idempotent:
        a second request while one is live keeps the first (and fills in its case)."""
        now = self.clock()
        # The case is read before the write transaction (SQLite allows one writer at a time).
        agent = None if self.live(channel, address) else self._responsible(case_number, agent_code)
        with self.engine.begin() as conn:
            held = self._live(conn, channel, address)
            if held is not None:
                if case_number and not held.case_number:
                    conn.execute(update(handoffs).where(handoffs.c.id == held.id)
                                 .values(case_number=case_number, updated_at=now))
                    held = self._get(conn, held.id)
                return held, False
            agent = agent or self.duty_agent      # closed meanwhile: rare; the duty agent sees it
            new_id = conn.execute(insert(handoffs).returning(handoffs.c.id), {
                "channel": channel, "address": address, "case_number": case_number,
                "agent_code": agent, "state": WAITING, "created_at": now,
                "updated_at": now}).scalar_one()
            self._write(conn, new_id, "system", None,
                        "群众要求转人工" + (f"（诉求编号 {case_number}）" if case_number else ""))
            return self._get(conn, new_id), True

    def take(self, staff: Staff, handoff_id: int) -> Handoff:
        """Waiting → active, held by `staff`. A supervisor may take over from someone else."""
        self.for_staff(staff, handoff_id)
        with self.engine.begin() as conn:
            held = self._held(conn, handoff_id)
            if held.taken_by == staff.username:
                return held
            if held.taken_by and staff.role != Role.SUPERVISOR:
                raise NOT_YOURS
            self._take(conn, staff, held)
            return self._get(conn, handoff_id)

    def staff_message(self, staff: Staff, handoff_id: int, text: str) -> tuple[Handoff, dict]:
        """Store what `staff` writes to the resident (taking a waiting hand-off on the way);
        the caller delivers it."""
        if isinstance(text, str) and len(text) > MAX_STAFF_TEXT:
            raise StaffError(f"回复太长了（超过{MAX_STAFF_TEXT}字），请精简或分几次发送。",
                             "staff message too long", "too_long", status=413)
        try:
            text = clean_text(text, limit=MAX_STAFF_TEXT) or ""
        except InvalidInput as exc:
            zh = "回复不能为空。" if "empty" in str(exc) else exc.zh
            raise StaffError(zh, str(exc), "invalid", status=400) from None
        self.for_staff(staff, handoff_id)
        with self.engine.begin() as conn:
            held = self._held(conn, handoff_id)
            if held.taken_by is None:
                self._take(conn, staff, held)
            elif held.taken_by != staff.username:
                raise NOT_YOURS
            said = self._write(conn, handoff_id, "staff", staff.username, text)
            conn.execute(update(handoffs).where(handoffs.c.id == handoff_id)
                         .values(updated_at=said.at))
            return self._get(conn, handoff_id), said.to_dict()

    def resident_message(self, channel: str, address: str,
                         text: str) -> tuple[Handoff, dict, bool] | None:
        """Store the resident's words (masked) in the live hand-off: (hand-off, message,
        whether this is the resident's first message since the hand-off began); None when
        the conversation is not handed off (or its hand-off lay untouched by staff for IDLE,
        which closes it)."""
        if self.live(channel, address) is None:     # the common case: a read, no write lock
            return None
        with self.engine.begin() as conn:
            held = self._live(conn, channel, address)
            if held is None:
                return None
            touched = conn.scalar(select(func.max(handoff_messages.c.at)).where(
                handoff_messages.c.handoff_id == held.id, handoff_messages.c.username.is_not(None)))
            if self.clock() - (touched or held.created_at) > self.idle:
                self._close(conn, held.id, None, "长时间无人接手，已自动转回智能助手")
                return None
            earlier = conn.scalar(select(func.count()).select_from(handoff_messages).where(
                handoff_messages.c.handoff_id == held.id, handoff_messages.c.sender == "resident"))
            said = self._write(conn, held.id, "resident", None, mask_text(text) or "")
            conn.execute(update(handoffs).where(handoffs.c.id == held.id)
                         .values(updated_at=said.at))
            return held, said.to_dict(), not earlier

    def resident_ends(self, channel: str, address: str) -> Handoff | None:
        """The resident leaves the person: the live hand-off closes (the staff member sees
        why); None when there was none."""
        with self.engine.begin() as conn:
            held = self._live(conn, channel, address)
            if held is None:
                return None
            self._close(conn, held.id, None, RESIDENT_ENDED)
            return self._get(conn, held.id)

    def alert(self, handoff_id: int, text: str) -> dict:
        """A system note for the staff member (a safety answer the app gave, say)."""
        with self.engine.begin() as conn:
            return self._write(conn, handoff_id, "system", None, text).to_dict()

    def hand_back(self, staff: Staff, handoff_id: int) -> Handoff:
        """Close the hand-off: the assistant answers the conversation again."""
        self.for_staff(staff, handoff_id)
        with self.engine.begin() as conn:
            held = self._held(conn, handoff_id)
            if held.taken_by and held.taken_by != staff.username and staff.role != Role.SUPERVISOR:
                raise NOT_YOURS
            self._close(conn, handoff_id, staff.username,
                        f"{staff.name or staff.username} 已转回智能助手")
            return self._get(conn, handoff_id)

    # ------------------------------------------------------------------ internals
    def _held(self, conn: Connection, handoff_id: int) -> Handoff:
        """The hand-off as it is now, inside the write (the caller checked who may work it)."""
        found = self._get(conn, handoff_id)
        if not found.live:
            raise ALREADY_CLOSED
        return found

    def _close(self, conn: Connection, handoff_id: int, username: str | None, note: str) -> None:
        now = self.clock()
        conn.execute(update(handoffs).where(handoffs.c.id == handoff_id).values(
            state=CLOSED, updated_at=now, closed_at=now))
        self._write(conn, handoff_id, "system", username, note)

    def _take(self, conn: Connection, staff: Staff, held: Handoff) -> None:
        conn.execute(update(handoffs).where(handoffs.c.id == held.id).values(
            state=ACTIVE, taken_by=staff.username, updated_at=self.clock()))
        self._write(conn, held.id, "system", staff.username,
                    f"{staff.name or staff.username} 接手了这段对话")

    def _write(self, conn: Connection, handoff_id: int, sender: str, username: str | None,
               text: str) -> Said:
        at = self.clock()
        row_id = conn.execute(insert(handoff_messages).returning(handoff_messages.c.id), {
            "handoff_id": handoff_id, "at": at, "sender": sender, "username": username,
            "text": text}).scalar_one()
        return Said(row_id, handoff_id, at, sender, username, text)

    def _get(self, conn: Connection, handoff_id: int) -> Handoff:
        return _handoff(conn.execute(select(handoffs).where(handoffs.c.id == handoff_id)).one())

    def _live(self, conn: Connection, channel: str, address: str) -> Handoff | None:
        row = conn.execute(select(handoffs).where(
            handoffs.c.channel == channel, handoffs.c.address == address,
            handoffs.c.state.in_(LIVE)).order_by(handoffs.c.id.desc()).limit(1)).first()
        return _handoff(row) if row else None

    def _latest(self, conn: Connection, ids: list[int]) -> dict[int, dict]:
        if not ids:
            return {}
        counts = select(handoff_messages.c.handoff_id, func.count().label("n"),
                        func.max(handoff_messages.c.id).label("last")).where(
            handoff_messages.c.handoff_id.in_(ids)).group_by(handoff_messages.c.handoff_id).subquery()
        rows = conn.execute(select(counts.c.n, handoff_messages).join(
            counts, handoff_messages.c.id == counts.c.last)).all()
        return {r.handoff_id: {"messages": r.n, "last": _said(r).to_dict()} for r in rows}


def _handoff(row) -> Handoff:
    return Handoff(row.id, row.channel, row.address, row.case_number, row.agent_code, row.state,
                   row.taken_by, row.created_at, row.updated_at, row.closed_at)


def _said(row) -> Said:
    return Said(row.id, row.handoff_id, row.at, row.sender, row.username, row.text)
