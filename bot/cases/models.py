"""Tables of the case store. Events are append-only: a correction is a new event."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import (JSON, BigInteger, Boolean, DateTime, ForeignKey, Index, Integer, String,
                        Text, UniqueConstraint, false)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# SQLite only auto-increments INTEGER PRIMARY KEY; BigInteger elsewhere.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    pass


class AreaRow(Base):
    __tablename__ = "areas"
    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    tier: Mapped[str] = mapped_column(String(16))
    parent_code: Mapped[str | None] = mapped_column(String(32), ForeignKey("areas.code"))


class AgentRow(Base):
    __tablename__ = "agents"
    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    area_code: Mapped[str] = mapped_column(String(32), ForeignKey("areas.code"))


class BodyRow(Base):
    __tablename__ = "bodies"
    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    area_code: Mapped[str] = mapped_column(String(32), ForeignKey("areas.code"))
    functions: Mapped[list] = mapped_column(JSON)


class CategoryRow(Base):
    __tablename__ = "categories"
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    level1: Mapped[str] = mapped_column(String(50))
    level2: Mapped[str] = mapped_column(String(50))
    kind: Mapped[str] = mapped_column(String(16))
    limits: Mapped[dict] = mapped_column(JSON)
    function: Mapped[str] = mapped_column(String(50))


class CaseCounter(Base):
    """The last case number issued per local day (SQLite; PostgreSQL uses a sequence per day)."""
    __tablename__ = "case_counters"
    day: Mapped[str] = mapped_column(String(8), primary_key=True)
    last: Mapped[int] = mapped_column(Integer)


class CaseRow(Base):
    __tablename__ = "cases"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    category_code: Mapped[str] = mapped_column(String(64), ForeignKey("categories.code"))
    area_code: Mapped[str | None] = mapped_column(String(32), ForeignKey("areas.code"))
    body_code: Mapped[str | None] = mapped_column(String(32), ForeignKey("bodies.code"))
    agent_code: Mapped[str | None] = mapped_column(String(32), ForeignKey("agents.code"))
    tier: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    summary: Mapped[str] = mapped_column(String(200))
    place: Mapped[str | None] = mapped_column(String(200))
    contact_phone: Mapped[str | None] = mapped_column(String(32))
    contact_name: Mapped[str | None] = mapped_column(String(50))
    channel: Mapped[str | None] = mapped_column(String(32))
    address: Mapped[str | None] = mapped_column(String(128))
    idempotency_key: Mapped[str | None] = mapped_column(String(128), unique=True)
    case_type: Mapped[str | None] = mapped_column(String(8))   # 12345 type: 咨询 求助 投诉 …
    merged_into_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("cases.id"))
    # 联合办理: a joint case (opened by a supervisor from a hot spot, no resident of its own) and
    # the member cases linked to it, which stay their own cases (migration 0012)
    joint: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    joint_case_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("cases.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    sign_due_at: Mapped[datetime | None] = mapped_column(DateTime)
    contact_due_at: Mapped[datetime | None] = mapped_column(DateTime)
    due_at: Mapped[datetime | None] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)
    event_count: Mapped[int] = mapped_column(Integer, default=0)  # gives each event its seq

    events: Mapped[list["EventRow"]] = relationship(
        back_populates="case", order_by="EventRow.seq", lazy="raise")

    __table_args__ = (
        Index("ix_cases_state_deadlines", "state", "due_at", "sign_due_at"),
        Index("ix_cases_body_state", "body_code", "state", "due_at", "sign_due_at"),
        Index("ix_cases_resident", "channel", "address"),
        Index("ix_cases_area_category", "area_code", "category_code", "state"),
        # an agent's queues: their cases, and their 点's (the deadlines make counts index-only)
        Index("ix_cases_agent_state", "agent_code", "state", "due_at", "sign_due_at"),
        Index("ix_cases_area_state", "area_code", "state", "due_at", "sign_due_at"),
        # a period's cases in order (the export's case list, hot spots' window)
        Index("ix_cases_created", "created_at"),
        # what the figures read of each counted event's case (bot.cases.stats): the index alone
        Index("ix_cases_figures", "id", "category_code", "case_type", "area_code", "body_code",
              "joint"),
        Index("ix_cases_joint_case", "joint_case_id"),       # a joint case's members
    )


class EventRow(Base):
    __tablename__ = "events"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(BigId, ForeignKey("cases.id"))
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(DateTime)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(16))
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    body_code: Mapped[str | None] = mapped_column(String(32))
    agent_code: Mapped[str | None] = mapped_column(String(32))
    public_text: Mapped[str | None] = mapped_column(Text)
    internal_note: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    # What the figures (bot.cases.stats) read in place of a window over the case's history and
    # its JSON, written by CaseService with the event or with the case's next one of its sort:
    # `next_at` of an assignment is when the case's next assignment or signing came, of a
    # rating when its next rating came; `on_time` of a resolution is "by its due date", of an
    # assignment "signed for next, by its sign deadline"; `solved` and `satisfied` (满意 or
    # 基本满意) of a rating.
    next_at: Mapped[datetime | None] = mapped_column(DateTime)
    on_time: Mapped[bool | None] = mapped_column(Boolean)
    solved: Mapped[bool | None] = mapped_column(Boolean)
    satisfied: Mapped[bool | None] = mapped_column(Boolean)

    case: Mapped[CaseRow] = relationship(back_populates="events")
    __table_args__ = (
        UniqueConstraint("case_id", "seq", name="uq_events_case_seq"),
        Index("ix_events_action_at", "action", "at", "case_id", "body_code",   # covers the counts
              "next_at", "on_time", "solved", "satisfied"),
        Index("ix_events_case_action", "case_id", "action", "seq"),   # last resolve, rating
        Index("ix_events_actor", "actor", "action"),                   # what an operator opened
    )


class OutboxRow(Base):
    """A message for a resident; retried until sent, dead-lettered after too many tries."""
    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(BigId, ForeignKey("cases.id"))
    event_id: Mapped[int] = mapped_column(BigId, ForeignKey("events.id"))
    channel: Mapped[str] = mapped_column(String(32))
    address: Mapped[str | None] = mapped_column(String(128))
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending|sent|dead
    tries: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)
    inline: Mapped[bool] = mapped_column(Boolean, default=False)
    __table_args__ = (Index("ix_outbox_status_next", "status", "next_attempt_at"),)
