"""Resident sessions of the web chat.

A session id is 128 random bits from the server (32 hex characters). It is the resident's
address: cases opened in the chat carry channel='webchat', address=<session id>, and every
case read goes through `CaseService.list_cases(channel='webchat', address=...)` or `owns`.

The id travels in an HttpOnly, SameSite=Strict cookie, signed with the app's secret:
- page scripts cannot read it, so even an injection that slipped past the text-only rendering
  could not carry a resident's access away;
- EventSource sends it by itself, so the id never sits in a URL (access logs, proxies);
- SameSite=Strict keeps other sites from posting messages in the resident's name;
- the signature means only ids this server issued are accepted (no self-chosen ids);
- it outlives a closed tab (Max-Age), which is what "shown on return" needs.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets

COOKIE = "jj_chat"
MAX_AGE = 180 * 24 * 3600
_SHAPE = re.compile(r"^[0-9a-f]{32}\.[0-9a-f]{32}$")


class SessionTokens:
    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def issue(self) -> tuple[str, str]:
        """(session id, cookie value)."""
        sid = secrets.token_hex(16)
        return sid, f"{sid}.{self._tag(sid)}"

    def verify(self, value: str | None) -> str | None:
        """The session id of a cookie value this server issued, else None."""
        if not value or not _SHAPE.match(value):
            return None
        sid, _, tag = value.partition(".")
        return sid if hmac.compare_digest(tag, self._tag(sid)) else None

    def _tag(self, sid: str) -> str:
        return hmac.new(self._secret, sid.encode("ascii"), hashlib.sha256).hexdigest()[:32]
