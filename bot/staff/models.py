"""Tables of the staff side. Their own MetaData: they belong to the console, not the case model.

- `staff_accounts`: one row per person; `session_epoch` grows on every password reset or
  disable, and a session or token minted under an older epoch is no longer accepted
  ("logout everywhere").
- `staff_sessions`: server-side sessions when there is no Redis (the id is stored hashed).
- `staff_tokens`: API tokens for machine clients (stored hashed, shown once).
- `login_failures`: failed logins per user and per client address, for the lockout (when
  there is no Redis).
- `audit_log`: every view of unmasked personal data (who, when, which case, which field, why).
- `handoffs` / `handoff_messages`: conversations a resident handed to a person, and what was
  said while a person held them.
- `case_attachments`: files a resident sent (Telegram photos and documents), kept on the case;
  a file sent before the conversation has an open case is held (no case number) until one is.
"""
from __future__ import annotations

from sqlalchemy import (BigInteger, Boolean, Column, DateTime, ForeignKey, Index, Integer,
                        LargeBinary, MetaData, String, Table, Text)

BigId = BigInteger().with_variant(Integer(), "sqlite")
metadata = MetaData()

staff_accounts = Table(
    "staff_accounts", metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("role", String(16), nullable=False),
    Column("name", String(50)),
    Column("agent_code", String(32)),
    Column("body_code", String(32)),
    Column("password_hash", String(255), nullable=False),
    Column("totp_secret", String(64)),
    Column("totp_last_step", BigInteger),        # the last TOTP time step that logged in
    Column("disabled", Boolean, nullable=False, default=False),
    Column("session_epoch", Integer, nullable=False, default=0),
    Column("created_at", DateTime, nullable=False),
    Column("password_changed_at", DateTime, nullable=False),
)

staff_sessions = Table(
    "staff_sessions", metadata,
    Column("id_hash", String(64), primary_key=True),
    Column("staff_id", BigId, ForeignKey("staff_accounts.id"), nullable=False),
    Column("epoch", Integer, nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("address", String(64)),
    Column("created_at", DateTime, nullable=False),
    Column("last_seen_at", DateTime, nullable=False),
    Index("ix_staff_sessions_staff", "staff_id"),
)

staff_tokens = Table(
    "staff_tokens", metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("staff_id", BigId, ForeignKey("staff_accounts.id"), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("label", String(64)),
    Column("epoch", Integer, nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("last_used_at", DateTime),
    Column("revoked_at", DateTime),
)

login_failures = Table(
    "login_failures", metadata,
    Column("key", String(160), primary_key=True),       # user:<name> | addr:<ip>
    Column("failures", Integer, nullable=False),
    Column("first_at", DateTime, nullable=False),
    Column("locked_until", DateTime),
)

audit_log = Table(
    "audit_log", metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("at", DateTime, nullable=False),
    Column("staff_id", BigId, ForeignKey("staff_accounts.id")),
    Column("username", String(64), nullable=False),
    Column("role", String(16), nullable=False),
    Column("action", String(32), nullable=False),       # reveal | …
    Column("case_number", String(32)),
    Column("field", String(32)),
    Column("reason", String(200)),
    Column("address", String(64)),
    Index("ix_audit_log_at", "at"),
    Index("ix_audit_log_case", "case_number"),
)

handoffs = Table(
    "handoffs", metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("channel", String(32), nullable=False),      # webchat | telegram
    Column("address", String(128), nullable=False),     # the resident's session id / chat id
    Column("case_number", String(32)),
    Column("agent_code", String(32)),                   # the responsible (or duty) agent
    Column("state", String(16), nullable=False),        # waiting | active | closed
    Column("taken_by", String(64)),                     # staff username
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    Column("closed_at", DateTime),
    Index("ix_handoffs_resident", "channel", "address", "state"),
    Index("ix_handoffs_state", "state", "agent_code"),
)

handoff_messages = Table(
    "handoff_messages", metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("handoff_id", BigId, ForeignKey("handoffs.id"), nullable=False),
    Column("at", DateTime, nullable=False),
    Column("sender", String(16), nullable=False),       # resident | staff | system
    Column("username", String(64)),
    Column("text", Text, nullable=False),
    Index("ix_handoff_messages_handoff", "handoff_id", "id"),
)

case_attachments = Table(
    "case_attachments", metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("case_number", String(32)),                  # NULL: held until a case is opened
    Column("at", DateTime, nullable=False),
    Column("channel", String(32), nullable=False),
    Column("address", String(128)),                     # the conversation (Telegram chat id)
    Column("kind", String(16), nullable=False),         # photo | document | voice | video
    Column("mime_type", String(100), nullable=False),
    Column("file_name", String(200)),
    Column("size", Integer, nullable=False),
    Column("content", LargeBinary, nullable=False),
    Column("source_id", String(200)),                   # e.g. Telegram file_unique_id
    Index("ix_case_attachments_case", "case_number"),
    Index("ix_case_attachments_resident", "channel", "address"),
)
