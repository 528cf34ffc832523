"""The read side of the case store: queues, filters, search, pages and counts for the console,
and the reads the watchdog, the outbox and the statistics need. Nothing here writes.

Queues (all within the staff member's scope, `bot.staff.policy.scope`):
  pending_sign 待签收  assigned, not yet signed (accepted)
  working      办理中  accepted or in progress
  due_soon     即将超期 open, not overdue, and either the resolution is due by the end of the next
                        working day, or it is unsigned and the sign deadline is less than
                        SIGN_SOON_HOURS away
  overdue      已超期  open and past its resolution deadline, or unsigned past its sign deadline
  to_rate      待回访  resolved and not rated since it was (last) resolved
  all          我的全部 everything in scope
Order: overdue first, then open cases by their nearest deadline (the sign deadline while
unsigned), then the rest newest first. Each item carries the three deadlines and the flags
sign_overdue, due_overdue (either makes `overdue`) and contact_overdue (open, past the
first-contact deadline and no public reply yet; `contacted_at` is the first reply).

Search: words of the summary or text (stored masked, so a number is found by its masked
form), and a case number by prefix; `%` and `_` are taken literally. Reads begin DEFERRED on
SQLite (`bot.db.make_read_session_factory`): a queue page never holds the write lock.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import Integer, and_, case, exists, false, func, or_, select, true
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.sql.functions import FunctionElement

from bot.cases.errors import CaseNotFound, InvalidInput
from bot.cases.lifecycle import OPEN_STATES, STATE_LABELS, State
from bot.cases.models import CaseRow, EventRow, OutboxRow
from bot.cases.service import CaseService
from bot.cases.views import CaseView, iso
from bot.db import make_read_session_factory
from bot.nlu.case_type import CASE_TYPES
from bot.privacy import mask_text
from bot.staff import policy
from bot.staff.principal import Staff

QUEUES = {"pending_sign": "待签收", "working": "办理中", "due_soon": "即将超期",
          "overdue": "已超期", "to_rate": "待回访", "all": "我的全部"}
SIGN_SOON_HOURS = 2
MAX_PER_PAGE = 100
MAX_QUERY = 100

_OPEN = [s.value for s in OPEN_STATES]
_UNSIGNED = State.ASSIGNED.value
_ITEM_COLUMNS = (CaseRow.id, CaseRow.number, CaseRow.state, CaseRow.kind, CaseRow.category_code,
                 CaseRow.area_code, CaseRow.body_code, CaseRow.agent_code, CaseRow.tier,
                 CaseRow.channel, CaseRow.case_type, CaseRow.summary, CaseRow.created_at,
                 CaseRow.sign_due_at, CaseRow.contact_due_at, CaseRow.due_at)


@dataclass
class CaseFilter:
    """What a queue page asks for. Dates are local days (inclusive); datetimes naive UTC."""
    queue: str = "all"
    state: str | None = None
    category: str | None = None
    level1: str | None = None
    area: str | None = None          # the area and every area below it
    body: str | None = None
    channel: str | None = None
    type: str | None = None          # 12345 type
    since: date | datetime | None = None
    until: date | datetime | None = None
    q: str | None = None             # a case number (exact or prefix) or words of the text
    page: int = 1
    per_page: int = 20

    def checked(self) -> "CaseFilter":
        if self.queue not in QUEUES:
            raise InvalidInput(f"unknown queue {self.queue!r}", f"未知的队列：{self.queue}")
        if self.state is not None and self.state not in {s.value for s in State}:
            raise InvalidInput(f"unknown state {self.state!r}", f"未知的状态：{self.state}")
        if self.type is not None and self.type not in CASE_TYPES:
            raise InvalidInput(f"unknown case type {self.type!r}",
                               f"未知的诉求类型：{self.type}（可选 {'/'.join(CASE_TYPES)}）")
        if not isinstance(self.page, int) or self.page < 1:
            raise InvalidInput("page must be 1 or more", "页码须为从 1 开始的整数")
        if not isinstance(self.per_page, int) or not 1 <= self.per_page <= MAX_PER_PAGE:
            raise InvalidInput(f"per_page must be within 1..{MAX_PER_PAGE}",
                               f"每页条数须在 1 到 {MAX_PER_PAGE} 之间")
        if self.q is not None and len(self.q) > MAX_QUERY:
            raise InvalidInput("search text too long", f"搜索内容不能超过 {MAX_QUERY} 个字")
        return self


class CaseQueries:
    """Reads over the case service's store, with its catalog, calendar and clock."""

    def __init__(self, service: CaseService) -> None:
        self.service = service
        self._sessions = make_read_session_factory(service.session_factory.kw["bind"])

    # ================================================================ console
    def page(self, staff: Staff, filt: CaseFilter | None = None) -> dict:
        """One page of a queue in queue order (see the module's docstring)."""
        filt = (filt or CaseFilter()).checked()
        now = self.service.clock()
        where, queue = self._conditions(staff, filt), self._queue(filt.queue, now)
        offset, size = (filt.page - 1) * filt.per_page, filt.per_page
        with self._sessions() as session:
            counts, open_total = self._counts(session, where, now, filt.queue)
            rows = []
            # Open cases by their nearest deadline (an overdue one's lies in the past, so it
            # comes first), then finished ones newest first: two index-friendly reads.
            if offset < open_total:
                rows += session.execute(
                    select(*_ITEM_COLUMNS).where(where(queue, CaseRow.state.in_(_OPEN)))
                    .order_by(_next_deadline().asc().nulls_last(), CaseRow.id.desc())
                    .limit(size).offset(offset)).all()
            if len(rows) < size:
                rows += session.execute(
                    select(*_ITEM_COLUMNS).where(where(queue, CaseRow.state.not_in(_OPEN)))
                    .order_by(CaseRow.id.desc())
                    .limit(size - len(rows)).offset(max(0, offset - open_total))).all()
            replied = self._first_replies(session, [r.id for r in rows])
        return {"items": [self._item(r, replied.get(r.id), now) for r in rows],
                "total": counts[filt.queue], "page": filt.page, "per_page": filt.per_page,
                "counts": counts}

    def counts(self, staff: Staff, filt: CaseFilter | None = None) -> dict[str, int]:
        """How many cases each queue holds for `staff` (with the filter's other criteria)."""
        filt = (filt or CaseFilter()).checked()
        with self._sessions() as session:
            return self._counts(session, self._conditions(staff, filt), self.service.clock())[0]

    def case(self, staff: Staff, number: str) -> CaseView:
        """The full case for its page; another's case is not found, exactly like a number
        that does not exist."""
        view = self.service.get(number)
        if not policy.can_view(staff, view, self.service.catalog):
            raise CaseNotFound(number)
        return view

    def _counts(self, session, where: "_Where", now: datetime,
                queue: str = "all") -> tuple[dict[str, int], int]:
        """Every queue's count, and how many open cases `queue` holds, in three reads that
        indexes serve: all cases in scope; the open ones by state and deadline flags (the
        scope indexes lead with the owner and then the state); the unrated resolved ones.
        A text search, which no index serves, reads the matching cases once for all counts."""
        working = [State.ACCEPTED.value, State.IN_PROGRESS.value]
        tallies = (_tally(CaseRow.state == _UNSIGNED), _tally(CaseRow.state.in_(working)))
        deadlines = (_tally(_overdue(now)), _tally(self._queue("due_soon", now)))
        if where.scans:
            total, pending, busy, open_count, overdue, soon, unrated = session.execute(select(
                func.count(), *tallies, _tally(CaseRow.state.in_(_OPEN)), *deadlines,
                _tally(self._queue("to_rate", now))).select_from(CaseRow).where(where())).one()
        else:
            total = session.scalar(select(func.count()).select_from(CaseRow).where(where()))
            pending, busy, open_count, overdue, soon = session.execute(
                select(*tallies, func.count(), *deadlines)
                .select_from(CaseRow).where(where(CaseRow.state.in_(_OPEN)))).one()
            unrated = session.scalar(select(func.count()).select_from(CaseRow).where(
                where(CaseRow.state == State.RESOLVED.value, ~_rated_since_resolved())))
        counts = {"pending_sign": pending, "working": busy, "due_soon": soon, "overdue": overdue,
                  "to_rate": unrated, "all": total}
        counts = {name: int(counts[name]) for name in QUEUES}
        open_in_queue = {"all": open_count, "to_rate": 0}.get(queue, counts[queue])
        return counts, open_in_queue

    def _conditions(self, staff: Staff, filt: CaseFilter) -> "_Where":
        catalog = self.service.catalog
        conds = []
        if filt.state:
            conds.append(CaseRow.state == filt.state)
        if filt.category:
            conds.append(CaseRow.category_code == filt.category)
        if filt.level1:
            codes = [c.code for c in catalog.categories.values() if c.level1 == filt.level1]
            conds.append(CaseRow.category_code.in_(codes) if codes else false())
        if filt.area:
            conds.append(CaseRow.area_code.in_(sorted(catalog.subtree(filt.area))))
        if filt.body:
            conds.append(CaseRow.body_code == filt.body)
        if filt.channel:
            conds.append(CaseRow.channel == filt.channel)
        if filt.type:
            conds.append(CaseRow.case_type == filt.type)
        if filt.since is not None:
            conds.append(CaseRow.created_at >= self._moment(filt.since))
        if filt.until is not None:
            conds.append(CaseRow.created_at < self._moment(filt.until, end=True))
        words = (filt.q or "").strip()
        if words:
            conds.append(_search(words))
        return _Where(_owners(policy.scope(staff, catalog)), tuple(conds), scans=bool(words))

    def _queue(self, name: str, now: datetime):
        unsigned = CaseRow.state == _UNSIGNED
        if name == "pending_sign":
            return unsigned
        if name == "working":
            return CaseRow.state.in_([State.ACCEPTED.value, State.IN_PROGRESS.value])
        if name == "overdue":
            return _overdue(now)
        if name == "due_soon":
            soon_due = self.service.calendar.add_working_days(now, 1)
            soon_sign = now + timedelta(hours=SIGN_SOON_HOURS)
            return and_(CaseRow.state.in_(_OPEN), ~_overdue(now), or_(
                and_(CaseRow.due_at.is_not(None), CaseRow.due_at <= soon_due),
                and_(unsigned, CaseRow.sign_due_at.is_not(None), CaseRow.sign_due_at <= soon_sign)))
        if name == "to_rate":
            return and_(CaseRow.state == State.RESOLVED.value, ~_rated_since_resolved())
        return true()

    def _moment(self, value: date | datetime, *, end: bool = False) -> datetime:
        if isinstance(value, datetime):
            return value.astimezone(timezone.utc).replace(tzinfo=None) if value.tzinfo else value
        return self.service.calendar.day_start(value + timedelta(days=1) if end else value)

    def _first_replies(self, session, ids: list[int]) -> dict[int, datetime]:
        if not ids:
            return {}
        rows = session.execute(select(EventRow.case_id, func.min(EventRow.at))
                               .where(EventRow.case_id.in_(ids), EventRow.action == "reply")
                               .group_by(EventRow.case_id)).all()
        return dict(rows)

    def _item(self, row, replied_at: datetime | None, now: datetime) -> dict:
        catalog = self.service.catalog
        category = catalog.categories[row.category_code]
        area = catalog.areas.get(row.area_code) if row.area_code else None
        body = catalog.bodies.get(row.body_code) if row.body_code else None
        agent = catalog.agents.get(row.agent_code) if row.agent_code else None
        is_open = State(row.state) in OPEN_STATES
        sign_overdue = bool(row.state == _UNSIGNED and row.sign_due_at and row.sign_due_at < now)
        due_overdue = bool(is_open and row.due_at and row.due_at < now)
        contact_overdue = bool(is_open and replied_at is None and row.contact_due_at
                               and row.contact_due_at < now)
        return {
            "number": row.number, "state": row.state, "state_label": STATE_LABELS[State(row.state)],
            "kind": row.kind, "type": row.case_type, "tier": row.tier, "channel": row.channel,
            "category": {"code": category.code, "level1": category.level1,
                         "level2": category.level2},
            "area": {"code": area.code, "name": area.name} if area else None,
            "body": {"code": body.code, "name": body.name} if body else None,
            "agent": {"code": agent.code, "name": agent.name} if agent else None,
            "summary": mask_text(row.summary),
            "created_at": iso(row.created_at), "sign_due_at": iso(row.sign_due_at),
            "contact_due_at": iso(row.contact_due_at), "due_at": iso(row.due_at),
            "contacted_at": iso(replied_at),
            "overdue": sign_overdue or due_overdue, "sign_overdue": sign_overdue,
            "due_overdue": due_overdue, "contact_overdue": contact_overdue,
        }

    # ================================================================ watchdog
    def escalation_due(self) -> list[str]:
        """Cases the watchdog escalates: unsigned past the sign deadline, or signed and past
        the due date without an escalation since; never above the center."""
        now = self.service.clock()
        escalated_since_due = exists().where(
            EventRow.case_id == CaseRow.id, EventRow.action == "escalate",
            EventRow.at >= CaseRow.due_at)
        joint = aliased(CaseRow)          # a member of an open joint case: the joint case is
        in_open_joint = exists().where(   # the one escalated (联合办理)
            joint.id == CaseRow.joint_case_id, joint.state.in_([s.value for s in OPEN_STATES]))
        stmt = (select(CaseRow.number)
                .where(CaseRow.tier != "center", ~in_open_joint)
                .where(or_(
                    and_(CaseRow.state == State.ASSIGNED, CaseRow.sign_due_at < now),
                    and_(CaseRow.state.in_([State.ACCEPTED, State.IN_PROGRESS]),
                         CaseRow.due_at < now, ~escalated_since_due)))
                .order_by(CaseRow.id))
        with self._sessions() as session:
            return list(session.scalars(stmt))

    # ================================================================ outbox
    def outbox_counts(self) -> dict[str, int]:
        with self._sessions() as session:
            rows = session.execute(select(OutboxRow.status, func.count())
                                   .group_by(OutboxRow.status)).all()
        return {status: count for status, count in rows}

    def dead_letters(self, limit: int = 100) -> list[dict]:
        with self._sessions() as session:
            rows = session.execute(
                select(OutboxRow, CaseRow.number).join(CaseRow, CaseRow.id == OutboxRow.case_id)
                .where(OutboxRow.status == "dead").order_by(OutboxRow.id.desc()).limit(limit)).all()
        return [{"id": r.id, "case": n, "channel": r.channel, "tries": r.tries,
                 "error": mask_text(r.last_error), "text": mask_text(r.text)} for r, n in rows]

    # ================================================================ statistics
    def stat_events(self, actions: tuple[str, ...], before: datetime | None = None) -> list:
        """(case_id, action, at, body_code, data, category_code, case_type) of every event
        of `actions` (before `before`), in case and sequence order."""
        stmt = (select(EventRow.case_id, EventRow.action, EventRow.at, EventRow.body_code,
                       EventRow.data, CaseRow.category_code, CaseRow.case_type)
                .join(CaseRow, CaseRow.id == EventRow.case_id)
                .where(EventRow.action.in_(actions))
                .order_by(EventRow.case_id, EventRow.seq))
        if before is not None:
            stmt = stmt.where(EventRow.at < before)
        with self._sessions() as session:
            return session.execute(stmt).all()


@dataclass(frozen=True)
class _Where:
    """A staff member's scope (`owners`: one condition per kind of ownership, None for every
    case) and a filter's criteria. The criteria are repeated inside each ownership branch, so
    each branch can use its (owner, state, due_at, sign_due_at) index. `scans`: a criterion
    no index serves (a text search), so every case in scope is read anyway."""
    owners: tuple | None
    criteria: tuple
    scans: bool = False

    def __call__(self, *more):
        conds = (*self.criteria, *more)
        if self.owners is None:
            return and_(true(), *conds)
        if not self.owners:
            return false()
        return or_(*(and_(owner, *conds) for owner in self.owners))


def _owners(scope: policy.Scope) -> tuple | None:
    """The scope of `bot.staff.policy` as SQL: None for every case."""
    if scope.everything:
        return None
    owners = []
    if scope.agents:
        owners.append(CaseRow.agent_code.in_(sorted(scope.agents)))
    if scope.areas:
        owners.append(CaseRow.area_code.in_(sorted(scope.areas)))
    if scope.bodies:
        owners.append(CaseRow.body_code.in_(sorted(scope.bodies)))
    if scope.opened_by:
        owners.append(CaseRow.id.in_(select(EventRow.case_id).where(
            EventRow.actor == scope.opened_by, EventRow.action == "open")))
    return tuple(owners)


def _overdue(now: datetime):
    """Open and past the resolution deadline, or unsigned past the sign deadline."""
    return or_(
        and_(CaseRow.state.in_(_OPEN), CaseRow.due_at.is_not(None), CaseRow.due_at < now),
        and_(CaseRow.state == _UNSIGNED, CaseRow.sign_due_at.is_not(None),
             CaseRow.sign_due_at < now))


def _next_deadline():
    """The sign deadline while unsigned (when it comes first), else the resolution deadline."""
    sign_first = and_(CaseRow.state == _UNSIGNED, CaseRow.sign_due_at.is_not(None),
                      or_(CaseRow.due_at.is_(None), CaseRow.sign_due_at < CaseRow.due_at))
    return case((sign_first, CaseRow.sign_due_at), else_=CaseRow.due_at)


def _rated_since_resolved():
    """Rated after the last resolution: two index-only lookups per resolved case."""
    def last(action: str):
        events = aliased(EventRow)
        return (select(func.max(events.seq))
                .where(events.case_id == CaseRow.id, events.action == action)
                .correlate(CaseRow).scalar_subquery())

    return func.coalesce(last("rate"), 0) > func.coalesce(last("resolve"), 0)


def _tally(condition):
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


class _position(FunctionElement):
    """Where `needle` starts in `haystack` (1-based, 0 when absent), taken literally: instr on
    SQLite, strpos on PostgreSQL, where it is about three times cheaper than LIKE '%…%' on
    UTF-8 text (a search reads every case in scope)."""
    type = Integer()
    inherit_cache = True


@compiles(_position)
def _instr(element, compiler, **kw):
    return f"instr({compiler.process(element.clauses, **kw)})"


@compiles(_position, "postgresql")
def _strpos(element, compiler, **kw):
    return f"strpos({compiler.process(element.clauses, **kw)})"


def _search(words: str):
    """Words of the summary or text (masked text is what is stored), case-sensitive on both
    databases; a number-like query also matches case numbers by prefix. `%` and `_` typed by
    people are taken literally."""
    text = or_(_position(CaseRow.summary, words) > 0, _position(CaseRow.text, words) > 0)
    if words.isascii() and any(ch.isdigit() for ch in words) and " " not in words:
        return or_(CaseRow.number.startswith(words, autoescape=True), text)
    return text

