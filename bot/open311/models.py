"""Tables of the Open311 door. Their own MetaData, like the other doors' tables.

- `open311_clients`: one row per client system; its API key is kept only as its SHA-256.
- `open311_requests`: one row per case opened through Open311: the client, the token it can
  look the number up with, the fingerprint that makes a repeat within a minute the same
  request, and what the spec carries besides the case (coordinates, address id, media URL,
  the requester's e-mail, device and account ids: contact data, never shown).
"""
from __future__ import annotations

from sqlalchemy import (BigInteger, Column, DateTime, Float, ForeignKey, Index, Integer, MetaData,
                        String, Table)

BigId = BigInteger().with_variant(Integer(), "sqlite")
metadata = MetaData()

clients = Table(
    "open311_clients", metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("created_at", DateTime, nullable=False),
    Column("revoked_at", DateTime),
)

requests = Table(
    "open311_requests", metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("case_number", String(32), nullable=False, unique=True),
    Column("client_id", BigId, ForeignKey("open311_clients.id"), nullable=False),
    Column("token", String(36), nullable=False, unique=True),
    Column("fingerprint", String(64), nullable=False),
    Column("service_code", String(64), nullable=False),
    Column("lat", Float),
    Column("long", Float),
    Column("address_string", String(200)),
    Column("address_id", String(128)),
    Column("media_url", String(2000)),
    Column("email", String(254)),
    Column("device_id", String(128)),
    Column("account_id", String(128)),
    Column("created_at", DateTime, nullable=False),
    Index("ix_open311_requests_created", "created_at"),
    Index("ix_open311_requests_repeat", "client_id", "fingerprint", "created_at"),
)
