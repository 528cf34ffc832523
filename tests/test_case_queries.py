"""The console's read side: queues, order, filters, search, paging and scope, on real databases."""
from __future__ import annotations

from datetime import date

import pytest

from bot.cases import CaseNotFound, InvalidInput, OpenCase, Rating
from bot.cases.queries import QUEUES, CaseFilter, CaseQueries
from bot.staff.principal import Role, Staff
from tests.helpers import open_case

SUPERVISOR = Staff(1, "boss", Role.SUPERVISOR)
ECOLOGY = Staff(2, "sthj", Role.BODY, body_code="B-SthJ")       # env.noise goes there
LABOR = Staff(3, "ldjc", Role.BODY, body_code="B-LDJC")         # labor.wage_arrears
AGENT = Staff(4, "wangxj", Role.AGENT, agent_code="A-S1P1")     # 文化路社区 (S1P1 and its grids)
OPERATOR = Staff(5, "op1", Role.OPERATOR)


@pytest.fixture
def queries(container):
    assert isinstance(container.queries, CaseQueries)
    return container.queries


def numbers(result: dict) -> list[str]:
    return [item["number"] for item in result["items"]]


def page(queries, staff=SUPERVISOR, **criteria) -> dict:
    return queries.page(staff, CaseFilter(**criteria))


def test_a_body_never_sees_another_bodys_cases(service, queries):
    noise = open_case(service, text="楼下烧烤店噪音扰民")
    wages = open_case(service, text="老板拖欠工资三个月", category="labor.wage_arrears")
    assert numbers(page(queries, ECOLOGY)) == [noise]
    assert numbers(page(queries, LABOR)) == [wages]
    assert page(queries, ECOLOGY)["counts"]["all"] == 1
    assert numbers(page(queries, ECOLOGY, q="工资")) == []
    assert numbers(page(queries, ECOLOGY, q=wages)) == []
    assert queries.case(ECOLOGY, noise).number == noise
    with pytest.raises(CaseNotFound) as other:
        queries.case(ECOLOGY, wages)
    with pytest.raises(CaseNotFound) as missing:
        queries.case(ECOLOGY, "20991231-9999")
    assert type(other.value) is type(missing.value)
    assert other.value.zh.replace(wages, "N") == missing.value.zh.replace("20991231-9999", "N")


def test_an_agent_sees_their_point_and_an_operator_what_they_opened(service, queries):
    mine = open_case(service, area="S1P1G2")
    elsewhere = open_case(service, area="S2P1G1")
    typed = service.open_case(OpenCase(text="来电反映路灯不亮", category="urban.municipal_facility",
                                       area="S2P1G1", actor=OPERATOR.actor)).number
    assert numbers(page(queries, AGENT)) == [mine]
    assert numbers(page(queries, OPERATOR)) == [typed]
    assert set(numbers(page(queries))) == {mine, elsewhere, typed}
    assert queries.case(OPERATOR, typed).number == typed
    with pytest.raises(CaseNotFound):
        queries.case(OPERATOR, elsewhere)
    admin = Staff(6, "root", Role.ADMIN)
    assert page(queries, admin)["counts"] == dict.fromkeys(QUEUES, 0)


def test_queues_follow_signing_deadlines_and_ratings(service, queries, clock):
    unsigned = open_case(service)
    signed = open_case(service)
    service.act(signed, "accept")
    done = open_case(service)
    for action, kwargs in (("accept", {}), ("resolve", {"text": "已整改"})):
        service.act(done, action, **kwargs)
    counts = page(queries)["counts"]
    assert counts == {"pending_sign": 1, "working": 1, "due_soon": 0, "overdue": 0,
                      "to_rate": 1, "all": 3}
    assert numbers(page(queries, queue="pending_sign")) == [unsigned]
    assert numbers(page(queries, queue="working")) == [signed]
    assert numbers(page(queries, queue="to_rate")) == [done]

    clock.advance(hours=3)     # the 4-hour sign deadline is less than SIGN_SOON_HOURS away
    assert numbers(page(queries, queue="due_soon")) == [unsigned]
    clock.advance(hours=2)     # now past it
    assert numbers(page(queries, queue="overdue")) == [unsigned]
    assert numbers(page(queries, queue="due_soon")) == []
    item = page(queries, queue="overdue")["items"][0]
    assert item["overdue"] and item["sign_overdue"] and not item["due_overdue"]

    service.act(done, "rate", actor="resident", rating=Rating(solved=True, satisfaction="满意"))
    assert numbers(page(queries, queue="to_rate")) == []
    service.act(done, "reopen")
    service.act(done, "resolve", text="再次整改")
    assert numbers(page(queries, queue="to_rate")) == [done]   # rated before, not since


def test_due_soon_is_the_last_working_day_and_overdue_is_past_the_due_date(service, queries, clock):
    number = open_case(service)             # 5 working days: due Monday 30 Nov, 23:59 local
    service.act(number, "accept")
    clock.advance(days=5)                   # Saturday: next working day is the due day
    assert numbers(page(queries, queue="due_soon")) == [number]
    clock.advance(days=3)                   # Tuesday
    assert numbers(page(queries, queue="overdue")) == [number]
    item = page(queries, queue="overdue")["items"][0]
    assert item["due_overdue"] and not item["sign_overdue"] and item["contact_overdue"]


def test_overdue_first_then_nearest_deadline_then_finished_newest_first(service, queries, clock):
    slow = open_case(service, category="env.noise")                    # 5 working days
    service.act(slow, "accept")
    urgent = open_case(service, category="urban.water_supply")         # 24 hours
    service.act(urgent, "accept")
    closed_old = open_case(service)
    service.act(closed_old, "withdraw", text="不需要了")
    closed_new = open_case(service)
    service.act(closed_new, "withdraw", text="已自行解决")
    clock.advance(hours=1)
    late = open_case(service)                                           # unsigned, sign in 4 h
    clock.advance(hours=25)                                             # urgent is overdue now
    order = numbers(page(queries))
    assert order == [late, urgent, slow, closed_new, closed_old]
    # the unsigned one's sign deadline passed first, so it leads the overdue ones


def test_paging_walks_every_case_once_across_open_and_finished(service, queries):
    made = [open_case(service) for _ in range(5)]
    for number in made[:2]:
        service.act(number, "withdraw", text="不需要了")
    seen = []
    for n in (1, 2, 3):
        result = page(queries, page=n, per_page=2)
        assert result["total"] == 5 and result["page"] == n and result["per_page"] == 2
        seen += numbers(result)
    assert sorted(seen) == sorted(made) and len(seen) == 5
    assert numbers(page(queries, page=4, per_page=2)) == []
    for bad in (dict(per_page=101), dict(per_page=0), dict(page=0), dict(queue="mine"),
                dict(state="lost"), dict(type="闲聊"), dict(q="字" * 101)):
        with pytest.raises(InvalidInput):
            page(queries, **bad)


def test_filters(service, queries, clock):
    noise = open_case(service, area="S1P1G1", channel="telegram")
    wages = open_case(service, category="labor.wage_arrears", area="S2P1G1", channel="webchat",
                      address="w1", case_type="求助")
    clock.advance(days=2)
    later = open_case(service, category="urban.property", area="S1P2G1")
    service.act(later, "accept")
    assert numbers(page(queries, state="accepted")) == [later]
    assert numbers(page(queries, category="labor.wage_arrears")) == [wages]
    assert numbers(page(queries, level1="城乡建设")) == [later]
    assert numbers(page(queries, level1="没有这一类")) == []
    assert set(numbers(page(queries, area="S1"))) == {noise, later}     # the station and below
    assert numbers(page(queries, area="S2P1")) == [wages]
    assert numbers(page(queries, body="B-LDJC")) == [wages]
    assert numbers(page(queries, channel="webchat")) == [wages]
    assert numbers(page(queries, type="求助")) == [wages]
    assert set(numbers(page(queries, until=date(2026, 11, 23)))) == {noise, wages}
    assert numbers(page(queries, since=date(2026, 11, 24))) == [later]
    assert page(queries, since=date(2026, 11, 24))["counts"]["all"] == 1


def test_search_by_number_and_words_takes_wildcards_literally(service, queries):
    first = open_case(service, text="噪音100%超标，晚上睡不着")
    second = open_case(service, text="楼下KTV_包厢通宵唱歌")
    third = open_case(service, text="广场舞音响太大声")
    assert numbers(page(queries, q=first)) == [first]
    assert set(numbers(page(queries, q=first[:9]))) == {first, second, third}   # date prefix
    assert numbers(page(queries, q="通宵")) == [second]
    assert numbers(page(queries, q="%")) == [first]
    assert numbers(page(queries, q="_")) == [second]
    assert numbers(page(queries, q="KTV_包")) == [second]
    assert numbers(page(queries, q="100%超")) == [first]
    assert numbers(page(queries, q="'; drop table cases; --")) == []
    assert numbers(page(queries, q="ktv")) == []          # case-sensitive on both databases
    assert page(queries)["counts"]["all"] == 3



def test_counts_with_a_search_agree_with_the_counts_without_one(service, queries, clock):
    """A search counts in one pass over the matches; the queues must come out the same as
    the narrow reads give (here every case but the wage one says 噪音)."""
    unsigned, signed, done, rated = (open_case(service, text=f"噪音扰民第{i}起") for i in range(4))
    service.act(signed, "accept")
    for number in (done, rated):
        service.act(number, "accept")
        service.act(number, "resolve", text="已整改")
    service.act(rated, "rate", actor="resident", rating=Rating(solved=True, satisfaction="满意"))
    open_case(service, text="老板拖欠工资三个月", category="labor.wage_arrears")
    clock.advance(hours=3)                 # the unsigned one is nearly past its sign deadline
    for staff in (SUPERVISOR, ECOLOGY, AGENT):
        expected = page(queries, staff, category="env.noise")["counts"]
        assert page(queries, staff, q="噪音")["counts"] == expected, staff.role
    assert page(queries, q="噪音")["counts"] == {"pending_sign": 1, "working": 1, "due_soon": 1,
                                               "overdue": 0, "to_rate": 1, "all": 4}
    clock.advance(hours=2)
    assert page(queries, q="噪音", queue="overdue")["total"] == 1
    assert numbers(page(queries, q="噪音", queue="overdue")) == [unsigned]
    assert page(queries, q="噪音")["counts"] == page(queries, category="env.noise")["counts"]

def test_items_carry_deadlines_names_and_masked_text(service, queries):
    number = open_case(service, text="烧烤店噪音，我电话13912345678，身份证110101199003071233")
    item = page(queries)["items"][0]
    assert item["number"] == number and item["state"] == "assigned"
    assert item["state_label"] == "已派单" and item["type"]
    assert item["category"] == {"code": "env.noise", "level1": "环境保护", "level2": "噪声扰民"}
    assert item["area"]["code"] == "S1P1G1" and item["body"]["code"] == "B-SthJ"
    assert item["agent"]["code"] == "A-S1P1" and item["channel"] == "telegram"
    assert all(item[k] for k in ("created_at", "sign_due_at", "contact_due_at", "due_at"))
    assert "13912345678" not in str(item) and "110101199003071233" not in str(item)
    assert not (item["overdue"] or item["sign_overdue"] or item["due_overdue"]
                or item["contact_overdue"])
    service.act(number, "reply", text="已联系商户")
    assert page(queries)["items"][0]["contacted_at"]


def test_a_queue_read_takes_no_write_lock_on_sqlite(sqlite_url):
    """Console reads begin DEFERRED: a writer commits while a read is open (an ordinary
    session, which begins IMMEDIATE, would make it wait)."""
    from sqlalchemy import text
    from sqlalchemy.exc import OperationalError

    from bot.db import make_engine, make_read_session_factory, make_session_factory

    engine = make_engine(sqlite_url, busy_timeout=0.2)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
    with make_read_session_factory(engine)() as reader:
        assert reader.execute(text("SELECT count(*) FROM t")).scalar() == 0
        with make_session_factory(engine)() as writer, writer.begin():
            writer.execute(text("INSERT INTO t VALUES (1)"))
    with make_session_factory(engine)() as holder:
        holder.execute(text("SELECT count(*) FROM t"))
        with pytest.raises(OperationalError), make_session_factory(engine)() as writer, \
                writer.begin():
            writer.execute(text("INSERT INTO t VALUES (2)"))
    engine.dispose()


def test_lists_and_can_view_never_disagree(service, queries):
    """The SQL scope of the queues and the policy's can_view, case by case, for every role."""
    from bot.staff import policy

    made = [open_case(service, area=area, category=category)
            for area in ("S1P1G1", "S1P1", "S1P2G1", "S2P1G2", None)
            for category in ("env.noise", "labor.wage_arrears")]
    service.act(made[0], "escalate", text="群众多次反映")          # to the station, area kept
    made.append(open_case(service, auto_assign=False))             # received, no owner yet
    made.append(service.open_case(OpenCase(text="来电：路灯不亮", category="env.noise",
                                           actor=OPERATOR.actor)).number)
    people = [SUPERVISOR, ECOLOGY, LABOR, AGENT, OPERATOR, Staff(6, "root", Role.ADMIN),
              Staff(7, "lihm", Role.AGENT, agent_code="A-S1"),
              Staff(8, "zhoujg", Role.AGENT, agent_code="A-C"),
              Staff(9, "op2", Role.OPERATOR)]
    for staff in people:
        listed = set(numbers(page(queries, staff, per_page=100)))
        allowed = {n for n in made if policy.can_view(staff, service.get(n), service.catalog)}
        assert listed == allowed, staff.username
    assert set(numbers(page(queries, per_page=100))) == set(made)


def test_postgresql_connections_run_without_jit(container):
    """JIT compiling cost hundreds of ms on a console count at 100,000 cases (bot.db)."""
    from sqlalchemy import text

    if container.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only")
    with container.engine.connect() as conn:
        assert conn.execute(text("SHOW jit")).scalar() == "off"

