"""The conversation lock store of `bot run` with REDIS_URL (rasa_tools/lock_store.py), loaded by
Rasa itself from the endpoints `bot run` writes, on the real Redis: exclusive across processes
(Rasa's own Redis lock store is not: two replicas both took a resident's conversation and one
message was lost), served in ticket order, and not blocked for ever by a holder that died."""
from __future__ import annotations

import json
import subprocess
import uuid

import pytest

from bot.nlu.rasa import RASA_PYTHON
from bot.run import endpoints_yaml
from bot.settings import Settings
from tests.web_support import redis_url_or_skip

pytestmark = [pytest.mark.rasa]

PROBE = r"""
import asyncio, json, multiprocessing, sys, time
import redis
from rasa.core.lock_store import LockStore
from rasa.utils.endpoints import read_endpoint_config

endpoints, redis_url, conversation = sys.argv[1], sys.argv[2], sys.argv[3]
counter_key = "probe:" + conversation

def store():
    return LockStore.create(read_endpoint_config(endpoints, "lock_store"))

async def bump(lock_store, times):
    plain = redis.Redis.from_url(redis_url)
    for _ in range(times):
        async with lock_store.lock(conversation):
            value = int(plain.get(counter_key) or 0)   # read, wait, write: lost without the lock
            await asyncio.sleep(0.002)
            plain.set(counter_key, value + 1)

def worker(times):
    async def main():
        lock_store = store()
        await asyncio.gather(*(bump(lock_store, times) for _ in range(3)))
    asyncio.run(main())

async def in_order():
    lock_store, served = store(), []
    async def one(i):
        async with lock_store.lock(conversation + ":order"):
            served.append(i)
            await asyncio.sleep(0.01)
    tasks = []
    for i in range(6):
        tasks.append(asyncio.create_task(one(i)))
        await asyncio.sleep(0.005)                     # tickets issued 0, 1, 2 … in turn
    await asyncio.gather(*tasks)
    return served

async def dead_holder():
    lock_store = store()
    counter, queue, tickets = lock_store._keys(conversation + ":dead")
    await lock_store._issue(keys=[counter, queue, tickets], args=[300])   # never released
    started = time.monotonic()
    async with lock_store.lock(conversation + ":dead"):
        return time.monotonic() - started

if __name__ == "__main__":
    processes = [multiprocessing.Process(target=worker, args=(10,)) for _ in range(4)]
    for p in processes: p.start()
    for p in processes: p.join()
    plain = redis.Redis.from_url(redis_url)
    print(json.dumps({
        "type": type(store()).__name__,
        "count": int(plain.get(counter_key) or 0),
        "order": asyncio.run(in_order()),
        "waited_for_dead": asyncio.run(dead_holder()),
        "kept_for_ever": sorted(k.decode() for k in plain.scan_iter(f"*{conversation}*")
                                if not k.decode().startswith("probe:") and plain.ttl(k) < 0),
    }))
"""


def test_conversation_lock_is_exclusive_ordered_and_survives_a_dead_holder(tmp_path):
    redis_url = redis_url_or_skip()
    settings = Settings.from_env({"BOT_VAR_DIR": str(tmp_path / "var"), "REDIS_URL": redis_url})
    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text(endpoints_yaml(settings), encoding="utf-8")
    conversation = f"lock-{uuid.uuid4().hex[:8]}"
    result = subprocess.run([str(RASA_PYTHON), "-c", PROBE, str(endpoints), redis_url, conversation],
                            capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr[-3000:]
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["type"] == "AtomicRedisLockStore"
    assert seen["count"] == 4 * 3 * 10                 # 4 processes × 3 tasks × 10: none lost
    assert seen["order"] == list(range(6))
    assert seen["waited_for_dead"] < 30                # the dead ticket expired (300 ms lifetime)
    assert seen["kept_for_ever"] == [], "every lock key must expire"
