"""The staff account service: accounts, logins, sessions, API tokens and TOTP, in one place.

Everything the console and the CLI do with staff accounts goes through `StaffService`
(`container.staff`). Refusals are `StaffError`s with a Chinese reason and an HTTP status.
Passwords, session ids and tokens are never logged.
"""
from __future__ import annotations

import hmac
import logging
import math
import re
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import NoReturn

import pyotp
from sqlalchemy import insert, or_, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from bot.catalog import Catalog
from bot.staff import lockout
from bot.staff.errors import StaffError, not_found, unavailable
from bot.staff.models import staff_accounts as a
from bot.staff.passwords import Passwords, check_strength
from bot.staff.principal import ROLE_LABELS, Role, Staff
from bot.staff.sessions import DatabaseSessions, RedisSessions, Sessions
from bot.staff.tokens import Tokens

log = logging.getLogger(__name__)

USERNAME = re.compile(r"[A-Za-z0-9_.-]{3,32}")
MAX_NAME = 50
MAX_LABEL = 64
TOTP_ROLES = (Role.SUPERVISOR, Role.ADMIN)
TOTP_ISSUER = "件件有着落"
_TIES = {"agent": (Role.AGENT, "agents", "代理员编号（--agent，见 data/county/）"),
         "body": (Role.BODY, "bodies", "单位编号（--body，见 data/county/bodies.yml）")}


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


@dataclass(frozen=True)
class Login:
    session_id: str     # for the cookie; never logged
    csrf_token: str
    staff: Staff


def _wrong() -> StaffError:
    return StaffError("用户名或密码不正确，请重新输入。", "wrong username or password",
                      "bad_credentials", status=401)


def _locked(seconds: int) -> StaffError:
    minutes = max(1, math.ceil(seconds / 60))
    return StaffError(f"登录失败次数过多，已暂时锁定，请 {minutes} 分钟后再试。",
                      f"locked after repeated failed logins; retry in {seconds} s", "locked",
                      status=423, retry_after=seconds)


def _refused(zh: str, en: str, code: str = "invalid_input") -> StaffError:
    return StaffError(zh, en, code, status=400)


class StaffService:
    """Staff accounts over `staff_accounts`; sessions and the lockout in Redis when given a
    client, else in the database; tokens always in the database."""

    def __init__(self, engine: Engine, catalog: Catalog, *, redis=None, redis_prefix: str = "jj:staff:",
                 clock: Callable[[], datetime] = utcnow, passwords: Passwords | None = None,
                 idle: timedelta = timedelta(minutes=30), absolute: timedelta = timedelta(hours=12),
                 lock_seconds: int = lockout.LOCK_SECONDS) -> None:
        self.engine, self.catalog, self.clock = engine, catalog, clock
        self.passwords = passwords or Passwords()
        if redis is not None:
            backend = RedisSessions(redis, prefix=redis_prefix)
            self.lockout: lockout.Lockout = lockout.RedisLockout(redis, prefix=redis_prefix,
                                                                 lock_seconds=lock_seconds)
        else:
            backend = DatabaseSessions(engine)
            self.lockout = lockout.DatabaseLockout(engine, lock_seconds=lock_seconds)
        self.sessions = Sessions(backend, idle=idle, absolute=absolute)
        self.tokens = Tokens(engine)

    @classmethod
    def from_settings(cls, engine: Engine, catalog: Catalog, settings) -> "StaffService":
        client = None
        if settings.redis_url:
            import redis

            client = redis.Redis.from_url(settings.redis_url, socket_timeout=5,
                                          socket_connect_timeout=2)
        return cls(engine, catalog, redis=client,
                   idle=timedelta(minutes=settings.staff_idle_minutes),
                   absolute=timedelta(hours=settings.staff_session_hours))

    # ------------------------------------------------------------------ accounts
    def add(self, username: str, role: str, password: str, *, name: str | None = None,
            agent_code: str | None = None, body_code: str | None = None) -> Staff:
        username, role, name = _username(username), _role(role), _name(name)
        agent_code, body_code = self._ties(role, agent_code, body_code)
        check_strength(password, [username, name])
        password_hash = self.passwords.hash(password)
        now = self.clock()
        taken = StaffError(f"用户名 {username} 已被使用，请换一个", f"username {username!r} taken",
                           "username_taken", status=409)
        try:
            with self.engine.begin() as conn:
                if conn.execute(select(a.c.id).where(a.c.username == username)).first():
                    raise taken
                staff_id = conn.execute(insert(a).values(
                    username=username, role=role.value, name=name, agent_code=agent_code,
                    body_code=body_code, password_hash=password_hash, disabled=False,
                    session_epoch=0, created_at=now, password_changed_at=now
                ).returning(a.c.id)).scalar_one()
        except IntegrityError:
            raise taken from None
        log.info("staff account %s added (%s)", username, role.value)
        return Staff(staff_id, username, role, name, agent_code, body_code)

    def get(self, username: str) -> Staff | None:
        """The active account of `username` (None when unknown or disabled)."""
        row = self._row(a.c.username == _normal(username))
        return _staff(row) if row is not None and not row.disabled else None

    def by_id(self, staff_id: int) -> Staff | None:
        row = self._row(a.c.id == staff_id)
        return _staff(row) if row is not None and not row.disabled else None

    def list(self) -> list[dict]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(a).order_by(a.c.username)).all()
        return [{**_staff(r).to_dict(), "id": r.id, "disabled": bool(r.disabled),
                 "totp": r.totp_secret is not None, "created_at": r.created_at.isoformat(),
                 "password_changed_at": r.password_changed_at.isoformat()} for r in rows]

    def disable(self, username: str) -> None:
        """Disable the account and end all its sessions and tokens."""
        row = self._existing(username)
        self._bump(row.id, disabled=True)
        log.info("staff account %s disabled", row.username)

    def reset_password(self, username: str, password: str) -> None:
        """Set a new password; every session and token of the account ends."""
        row = self._existing(username)
        check_strength(password, [row.username, row.name])
        self._bump(row.id, password_hash=self.passwords.hash(password),
                   password_changed_at=self.clock())
        self.lockout.clear(lockout.user_key(row.username))
        log.info("staff account %s: password reset", row.username)

    # ------------------------------------------------------------------ logins and sessions
    def login(self, username: str, password: str, *, address: str, totp: str | None = None) -> Login:
        now = self.clock()
        name = _normal(username)
        keys = (lockout.user_key(name), lockout.address_key(address))
        with _redis_guard():
            waits = [s for s in (self.lockout.locked(k, now) for k in keys) if s]
            if waits:
                raise _locked(max(waits))
            row = self._row(a.c.username == name) if USERNAME.fullmatch(name) else None
            if row is None:
                self.passwords.burn(password or "")
                self._failed(keys, now, None, _wrong())
            if not self.passwords.verify(row.password_hash, password or "") or row.disabled:
                self._failed(keys, now, row.username, _wrong())
            if row.totp_secret:
                self._check_totp(row, totp, keys, now)
            self.lockout.clear(keys[0])
            if self.passwords.needs_rehash(row.password_hash):
                with self.engine.begin() as conn:
                    conn.execute(update(a).where(a.c.id == row.id)
                                 .values(password_hash=self.passwords.hash(password)))
            session_id, csrf = self.sessions.create(row.id, row.session_epoch, address, now)
        log.info("staff %s logged in", row.username)
        return Login(session_id, csrf, _staff(row))

    def _check_totp(self, row, code: str | None, keys, now: datetime) -> None:
        """The code must be one of the current step or a step either side (clock drift),
        and of a later step than the last login's: each code logs in once (RFC 6238, 5.2).
        The step is claimed with a conditional update, so two logins racing with one code
        cannot both pass."""
        if not code or not code.strip():
            raise StaffError("请输入手机验证器上的 6 位动态验证码。", "TOTP code required",
                             "totp_required", status=401)
        totp = pyotp.TOTP(row.totp_secret)
        at = now.replace(tzinfo=timezone.utc)
        given = code.strip()[:10]
        steps = [totp.timecode(at) + offset for offset in (-1, 0, 1)
                 if hmac.compare_digest(given, totp.generate_otp(totp.timecode(at) + offset))]
        if steps:
            with self.engine.begin() as conn:
                claimed = conn.execute(
                    update(a).where(a.c.id == row.id)
                    .where(or_(a.c.totp_last_step.is_(None), a.c.totp_last_step < steps[-1]))
                    .values(totp_last_step=steps[-1])).rowcount
            if claimed:
                return
            self._failed(keys, now, row.username,
                         StaffError("这个动态验证码已经用过了，请等验证器显示新的验证码后再登录。",
                                    "TOTP code already used", "totp_reused", status=401))
        self._failed(keys, now, row.username,
                     StaffError("动态验证码不正确或已过期，请重新输入。", "wrong TOTP code",
                                "totp_invalid", status=401))

    def _failed(self, keys, now: datetime, name: str | None, error: StaffError) -> NoReturn:
        """Count the failure for the username and the address, and refuse. An unknown
        username is not logged: it may be a password typed into the wrong field."""
        name = name or "(unknown)"
        waits = [s for s in (self.lockout.fail(k, now) for k in keys) if s]
        if waits:
            log.warning("staff login locked after repeated failures (user %s)", name)
            raise _locked(max(waits))
        log.info("staff login refused (user %s): %s", name, error.code)
        raise error

    def session(self, session_id: str | None) -> tuple[Staff, str] | None:
        """(staff, CSRF token) of a live session, or None; notes the session's use."""
        with _redis_guard():
            record = self.sessions.get(session_id, self.clock())
            if record is None:
                return None
            row = self._row(a.c.id == record.staff_id)
            if row is None or row.disabled or row.session_epoch != record.epoch:
                self.sessions.end(session_id)
                return None
        return _staff(row), record.csrf_token

    def logout(self, session_id: str | None) -> None:
        with _redis_guard():
            self.sessions.end(session_id)

    # ------------------------------------------------------------------ API tokens and TOTP
    def create_token(self, username: str, label: str | None = None) -> str:
        """A new API token for the account; the plaintext is returned once and kept nowhere."""
        row = self._existing(username)
        if row.disabled:
            raise _refused(f"账号 {row.username} 已停用，不能创建令牌", "account disabled",
                           "disabled")
        label = _name(label, MAX_LABEL, "令牌说明")
        token = self.tokens.create(row.id, row.session_epoch, label, self.clock())
        log.info("staff %s: API token created", row.username)
        return token

    def revoke_tokens(self, username: str) -> int:
        row = self._existing(username)
        return self.tokens.revoke(row.id, self.clock())

    def token(self, plaintext: str | None) -> Staff | None:
        found = self.tokens.find(plaintext, self.clock())
        if found is None:
            return None
        row = self._row(a.c.id == found[0])
        if row is None or row.disabled or row.session_epoch != found[1]:
            return None
        return _staff(row)

    def enable_totp(self, username: str) -> str:
        """Give the account a new TOTP secret; the otpauth:// URI for an authenticator app
        (it holds the secret). From now on a login needs the current code."""
        row = self._existing(username)
        if Role(row.role) not in TOTP_ROLES:
            raise _refused("动态验证码只用于督办和管理员账号",
                           f"TOTP is for supervisors and admins, not {row.role}", "totp_role")
        secret = pyotp.random_base32()
        with self.engine.begin() as conn:
            conn.execute(update(a).where(a.c.id == row.id)
                         .values(totp_secret=secret, totp_last_step=None))
        log.info("staff %s: TOTP enabled", row.username)
        return pyotp.TOTP(secret).provisioning_uri(name=row.username, issuer_name=TOTP_ISSUER)

    # ------------------------------------------------------------------ helpers
    def _row(self, where):
        with self.engine.connect() as conn:
            return conn.execute(select(a).where(where)).first()

    def _existing(self, username: str):
        row = self._row(a.c.username == _normal(username))
        if row is None:
            raise not_found(username)
        return row

    def _bump(self, staff_id: int, **values) -> None:
        """Change the account and move its session epoch on: its sessions and tokens end."""
        with self.engine.begin() as conn:
            conn.execute(update(a).where(a.c.id == staff_id)
                         .values(session_epoch=a.c.session_epoch + 1, **values))
        with _redis_guard():
            self.sessions.end_all(staff_id)

    def _ties(self, role: Role, agent_code: str | None, body_code: str | None):
        """(agent code, body code): an agent's must be in the catalog, a body's too, and no
        other role has either."""
        codes = {"agent": (agent_code or "").strip() or None, "body": (body_code or "").strip() or None}
        for tie, (owner, table, what) in _TIES.items():
            code = codes[tie]
            if role is owner and code not in getattr(self.catalog, table):
                raise _refused(f"{ROLE_LABELS[owner]}账号需要有效的{what}",
                               f"unknown {tie} code {code!r}", f"unknown_{tie}")
            if role is not owner and code:
                raise _refused(f"只有{ROLE_LABELS[owner]}账号关联{what.split('（')[0]}",
                               f"only {owner.value} accounts take --{tie}")
        return codes["agent"], codes["body"]


@contextmanager
def _redis_guard() -> Iterator[None]:
    """Redis down or slow: a 503 with a Chinese reason, not a traceback."""
    from redis.exceptions import RedisError

    try:
        yield
    except RedisError as exc:
        raise unavailable(f"redis: {type(exc).__name__}") from None


def _normal(username: str | None) -> str:
    return (username or "").strip().lower()


def _username(username: str) -> str:
    name = _normal(username)
    if not USERNAME.fullmatch(name):
        raise _refused("用户名需为 3 到 32 个字符，只能用英文字母、数字、下划线、点和连字符",
                       "username must be 3-32 characters of [A-Za-z0-9_.-]", "bad_username")
    return name


def _role(role: str) -> Role:
    try:
        return Role(role)
    except ValueError:
        choices = "、".join(f"{r.value}（{label}）" for r, label in ROLE_LABELS.items())
        raise _refused(f"角色只能是：{choices}", f"unknown role {role!r}", "bad_role") from None


def _name(value: str | None, limit: int = MAX_NAME, what: str = "姓名") -> str | None:
    value = (value or "").strip()
    if not value:
        return None
    if len(value) > limit or any(unicodedata.category(ch) in ("Cc", "Cf", "Cs") for ch in value):
        raise _refused(f"{what}最多 {limit} 个字，且不能含控制字符",
                       f"more than {limit} characters or not printable")
    return value


def _staff(row) -> Staff:
    return Staff(row.id, row.username, Role(row.role), row.name, row.agent_code, row.body_code)
