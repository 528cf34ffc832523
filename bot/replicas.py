"""`bot run --replicas N`: N Rasa servers and N app processes behind HAProxy, on one machine.

    residents → HAProxy :APP_PORT  → app 1..N   (APP_PORT+1 …)  ─┐
                HAProxy :RASA_PORT → rasa 1..N  (RASA_PORT+1 …) ←┘ → one action server

Shared state lives outside the processes, so any replica can take any request: cases, chat
inbox and kept messages on PostgreSQL (DATABASE_URL), Rasa's trackers on Redis (REDIS_URL,
its tracker store) and a lock store on the same Redis (rasa_tools/lock_store.py: Rasa's own
is not exclusive across processes), which keeps each conversation's messages in order
whichever Rasa replica takes them. HAProxy checks every replica every two
seconds and re-sends a request only when the connection failed (never one a replica may have
started handling: the app's kept-message retry asks Rasa's tracker first, see
bot/web/relay.py). The supervisor restarts a replica that dies.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path
from urllib.parse import unquote, urlparse

from bot.settings import Settings

HAPROXY_PATHS = ("/usr/sbin/haproxy", "/usr/local/sbin/haproxy")


class ReplicaError(Exception):
    """Why the replicated set-up cannot start (Chinese, then English)."""


def haproxy_bin() -> str | None:
    found = shutil.which("haproxy")
    return found or next((p for p in HAPROXY_PATHS if Path(p).exists()), None)


def check(settings: Settings, replicas: int) -> str:
    """The HAProxy binary; raises ReplicaError when a requirement is missing."""
    if replicas < 1:
        raise ReplicaError("--replicas 至少为 1。\n--replicas must be at least 1.")
    if not settings.database_url.startswith("postgresql"):
        raise ReplicaError("多副本运行需要 PostgreSQL 案件库：请设置 DATABASE_URL=postgresql://…"
                           "（SQLite 只适合单机默认方式 make run）。\n"
                           "--replicas needs DATABASE_URL pointing at PostgreSQL.")
    if not settings.redis_url:
        raise ReplicaError("多副本运行需要 Redis（对话状态和会话锁）：请设置 REDIS_URL=redis://…。\n"
                           "--replicas needs REDIS_URL.")
    binary = haproxy_bin()
    if binary is None:
        raise ReplicaError("未找到负载均衡器 HAProxy：请以 root 运行 scripts/system_deps.sh"
                           "（apt-get install haproxy）。\n--replicas needs haproxy.")
    return binary


def ports(base: int, replicas: int) -> list[int]:
    """The replicas' own ports, just above the public one the balancer binds."""
    return [base + 1 + i for i in range(replicas)]


def redis_yaml(settings: Settings, tracker: bool = True) -> list[str]:
    """Rasa's lock store on REDIS_URL, and (`tracker`) its tracker store there too."""
    redis = urlparse(settings.redis_url)
    db = (redis.path or "/0").lstrip("/") or "0"
    common = [f'  url: "{redis.hostname or "127.0.0.1"}"', f"  port: {redis.port or 6379}",
              f"  db: {db}", '  key_prefix: "jianjian"']     # jianjian:lock:…, jianjian:tracker:…
    if redis.password:
        common.append(f'  password: "{unquote(redis.password)}"')
    if redis.scheme == "rediss":
        common.append("  use_ssl: true")
    lock = ["lock_store:", "  type: rasa_tools.lock_store.AtomicRedisLockStore", *common]
    if not tracker:
        return lock
    # a conversation's tracker goes TRACKER_KEEP_DAYS after its last message (as `bot trackers
    # purge --older-than` does for the SQL store): Redis does not keep residents' words forever
    days = float(os.environ.get("TRACKER_KEEP_DAYS") or 30)
    return ["tracker_store:", "  type: redis", *common, f"  record_exp: {int(days * 86400)}", *lock]


# A replica is taken out at its first refused connection (killed: the request goes to another
# one) or after three failed checks; a busy one that answers its check slowly stays in (a
# short check timeout marked a lone Rasa down under load, and every message got a 503).
SERVER_CHECK = ("check inter 2s downinter 500ms fall 3 rise 1 "
                "observe layer4 error-limit 1 on-error mark-down")


def haproxy_cfg(app_port: int, app_ports: list[int], rasa_port: int, rasa_ports: list[int],
                listen: str = "127.0.0.1") -> str:
    """Two HTTP frontends: the web app (public) and Rasa (for the app replicas)."""
    def backend(name: str, check: str, targets: list[int], server_timeout: str) -> list[str]:
        lines = [f"backend {name}", "  balance leastconn", f"  option httpchk GET {check}",
                 f"  timeout server {server_timeout}", "  timeout check 10s"]
        lines += [f"  server {name}{i + 1} 127.0.0.1:{port} {SERVER_CHECK}"
                  for i, port in enumerate(targets)]
        return lines

    lines = [
        "# Written by `bot run --replicas`; edit bot/replicas.py, not this file.",
        "global", "  maxconn 8192", "",
        "defaults", "  mode http", "  timeout connect 2s", "  timeout client 1h",
        "  timeout queue 30s", "  timeout http-request 15s", "  option redispatch",
        "  retries 3", "  retry-on conn-failure", "  option forwardfor", "",
        "frontend app", f"  bind {listen}:{app_port}", "  default_backend app", "",
        # SSE streams stay open: the app sends a keep-alive, so an hour is generous
        *backend("app", "/livez", app_ports, "1h"), "",
        "frontend rasa", f"  bind 127.0.0.1:{rasa_port}", "  default_backend rasa", "",
        *backend("rasa", "/status", rasa_ports, "60s"), "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """`python -m bot.replicas endpoints`: write var/rasa/endpoints.yml and credentials.yml
    for Rasa replicas (trackers and locks on REDIS_URL) from the environment; what the systemd
    units in deploy/ run before `rasa run`. Prints the two paths."""
    import sys

    from bot.run import write_rasa_config

    args = sys.argv[1:] if argv is None else argv
    if args != ["endpoints"]:
        print("usage: python -m bot.replicas endpoints", file=sys.stderr)
        return 2
    settings = Settings.from_env()
    if not settings.redis_url:
        print("错误：需要设置 REDIS_URL（Rasa 副本共用对话状态和会话锁）。", file=sys.stderr)
        return 2
    for path in write_rasa_config(settings, shared=True):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
