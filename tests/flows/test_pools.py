"""Pools (公海池): moving records in, claiming, releasing, limits, races, listing.

Pools are defined through the metadata API as an admin would; the records are the
standard CRM's leads. ``east`` takes East China leads, ``general`` every lead.
"""

from __future__ import annotations

import datetime as dt
import threading

import pytest
import sqlalchemy as sa

from trellis.flows.tables import pool_claim_table, pool_entry_table
from trellis.runtime.errors import Conflict, Forbidden, Invalid, NotFound

LABEL = {"zh-CN": "公海", "en": "Pool"}


def define_pool(runtime, api_name: str, **extra) -> None:
    definition = {
        "api_name": api_name,
        "object": "lead",
        "label": LABEL,
        "members": [{"type": "role", "role": "sales_rep"}],
        **extra,
    }
    runtime.metadata.define("admin", "pool", definition)


def without_pack_pools(runtime) -> None:
    """Switch off the pools the standard pack ships: these tests define their own."""
    with runtime.engine.connect() as conn:
        shipped = list(runtime.cache.get(conn).definitions.pools)
    for key in shipped:
        runtime.metadata.patch("admin", f"pool:{key}", {"active": False})


@pytest.fixture
def pools(runtime):
    """Two lead pools; the general one sorts first but takes only what ``east`` does not."""
    without_pack_pools(runtime)
    define_pool(runtime, "east", condition="region == 'east'", claims_per_day=3)
    define_pool(
        runtime,
        "general",
        members=[{"type": "role", "role": "sales_rep"}, {"type": "role", "role": "sales_manager"}],
    )
    return runtime.flows.pools


def recycler(crm, now=None):
    """The context a recycle automation acts in."""
    return crm.ctx("admin", **({"now": now} if now else {})).acting_for("automation:lead.recycle")


def entry(crm, record_id: int):
    with crm.rt.engine.connect() as conn:
        row = conn.execute(
            sa.select(pool_entry_table).where(pool_entry_table.c.record_id == record_id)
        ).first()
        return row._asdict() if row else None


def pooled(crm, pools, region="east", owner="rep_east") -> int:
    lead = crm.lead(owner, region=region)
    pools.move(recycler(crm), "lead", lead["id"], reason="recycled")
    return lead["id"]


# -- into a pool --------------------------------------------------------------------


def test_move_takes_the_owner_away_and_remembers_who_had_it(crm, pools):
    lead = crm.lead("rep_east", region="east")

    pool = pools.move(recycler(crm), "lead", lead["id"], reason="recycled")

    assert pool == "east"  # a pool with a condition comes before the catch-all
    assert crm.raw("lead", lead["id"])["owner"] is None
    assert crm.raw("lead", lead["id"])["department"] is None
    row = entry(crm, lead["id"])
    assert row["pool"] == "east"
    assert row["previous_owner"] == crm.user_id("rep_east")
    assert row["reason"] == "recycled"


def test_a_record_no_conditional_pool_takes_goes_to_the_catch_all(crm, pools):
    lead = crm.lead("rep_north", region="north")
    assert pools.move(recycler(crm), "lead", lead["id"]) == "general"
    assert entry(crm, lead["id"])["reason"] == "moved"


def test_a_named_pool_must_accept_the_record(crm, pools):
    lead = crm.lead("rep_north", region="north")
    with pytest.raises(Invalid, match="pool lead.east does not take this lead"):
        pools.move(recycler(crm), "lead", lead["id"], pool="east")
    assert crm.raw("lead", lead["id"])["owner"] == crm.user_id("rep_north")


def test_without_an_accepting_pool_the_move_says_so(crm, runtime):
    without_pack_pools(runtime)
    define_pool(runtime, "east", condition="region == 'east'")
    lead = crm.lead("rep_north", region="north")
    with pytest.raises(Invalid, match="no active pool of lead takes lead"):
        runtime.flows.pools.move(recycler(crm), "lead", lead["id"])
    with pytest.raises(NotFound, match="no active pool lead.nowhere"):
        runtime.flows.pools.move(recycler(crm), "lead", lead["id"], pool="nowhere")


def test_a_user_moves_only_records_they_may_edit(crm, pools):
    lead = crm.lead("rep_east", region="east")
    with pytest.raises(NotFound):
        pools.move(crm.ctx("rep_north"), "lead", lead["id"])
    assert pools.move(crm.ctx("rep_east"), "lead", lead["id"]) == "east"


def test_moving_inside_an_open_transaction_commits_with_it(crm, pools, runtime):
    lead = crm.lead("rep_east", region="east")
    with pytest.raises(RuntimeError):
        with runtime.engine.begin() as conn:
            pools.move(recycler(crm).on(conn), "lead", lead["id"])
            raise RuntimeError("the surrounding work failed")
    assert crm.raw("lead", lead["id"])["owner"] == crm.user_id("rep_east")
    assert entry(crm, lead["id"]) is None


# -- claiming -----------------------------------------------------------------------


def test_a_member_claims_a_record(crm, pools):
    lead_id = pooled(crm, pools)

    record = pools.claim(crm.ctx("rep_north"), "lead", "east", lead_id)

    assert record["owner"] == crm.user_id("rep_north")
    assert crm.raw("lead", lead_id)["department"] is not None  # follows the new owner
    assert entry(crm, lead_id) is None
    assert pools.records(crm.ctx("rep_east"), "lead", "east")["entries"] == []


def test_the_second_claimer_hears_who_was_first(crm, pools):
    lead_id = pooled(crm, pools)
    pools.claim(crm.ctx("rep_north"), "lead", "east", lead_id)
    with pytest.raises(Conflict, match="already claimed by 华北销售代表"):
        pools.claim(crm.ctx("rep_east"), "lead", "east", lead_id)


def test_a_record_not_in_the_pool_cannot_be_claimed(crm, pools):
    own = crm.lead("rep_east", region="east")
    with pytest.raises(NotFound, match=f"no lead {own['id']} in pool lead.east"):
        pools.claim(crm.ctx("rep_north"), "lead", "east", own["id"])
    general = pooled(crm, pools, region="north")
    with pytest.raises(NotFound, match="in pool lead.east"):
        pools.claim(crm.ctx("rep_north"), "lead", "east", general)
    with pytest.raises(NotFound):
        pools.claim(crm.ctx("rep_north"), "lead", "east", "not-a-number")


def test_non_members_neither_see_nor_claim(crm, pools):
    lead_id = pooled(crm, pools)
    manager = crm.ctx("manager")  # a member of general, not of east
    with pytest.raises(NotFound, match="no pool lead.east that you are a member of"):
        pools.records(manager, "lead", "east")
    with pytest.raises(NotFound, match="no pool lead.east that you are a member of"):
        pools.claim(manager, "lead", "east", lead_id)
    assert [p["key"] for p in pools.pools(manager)] == ["lead.general"]
    assert pools.pools(crm.ctx("tech_lead")) == []


def test_claims_per_day_count_in_the_users_time_zone(crm, pools):
    ids = [pooled(crm, pools) for _ in range(5)]
    # 23:00 in Shanghai on 10 March; 01:00 on 11 March is two hours later.
    evening = dt.datetime(2026, 3, 10, 15, 0, tzinfo=dt.UTC)
    for record_id in ids[:3]:
        pools.claim(crm.ctx("rep_east", now=evening), "lead", "east", record_id)
    with pytest.raises(Invalid, match="claimed 3 lead record.* today, its daily limit of 3"):
        pools.claim(crm.ctx("rep_east", now=evening), "lead", "east", ids[3])
    assert entry(crm, ids[3]) is not None  # a refused claim leaves the pool as it was
    after_midnight = evening + dt.timedelta(hours=2)
    pools.claim(crm.ctx("rep_east", now=after_midnight), "lead", "east", ids[3])
    listed = {p["key"]: p for p in pools.pools(crm.ctx("rep_east", now=after_midnight))}
    assert listed["lead.east"]["claimed_today"] == 1
    assert listed["lead.east"]["records"] == 1


def test_max_held_counts_every_record_the_user_owns(crm, runtime):
    without_pack_pools(runtime)
    define_pool(runtime, "capped", max_held=3)
    pools = runtime.flows.pools
    crm.lead("rep_north")
    crm.lead("rep_north")
    first, second = pooled(crm, pools), pooled(crm, pools)
    pools.claim(crm.ctx("rep_north"), "lead", "capped", first)
    with pytest.raises(Invalid, match=r"you own 3 lead record\(s\), the most pool lead.capped"):
        pools.claim(crm.ctx("rep_north"), "lead", "capped", second)
    pools.release(crm.ctx("rep_north"), "lead", first)
    pools.claim(crm.ctx("rep_north"), "lead", "capped", second)


def test_two_claims_at_once_have_exactly_one_winner(crm, pools):
    """20 times, rep_east and rep_north claim the same record at the same moment."""
    for _ in range(20):
        lead_id = pooled(crm, pools, region="north")
        barrier = threading.Barrier(2)
        outcomes: dict[str, object] = {}

        def claim(who: str, lead_id=lead_id, barrier=barrier, outcomes=outcomes) -> None:
            ctx = crm.ctx(who)
            barrier.wait()
            try:
                outcomes[who] = pools.claim(ctx, "lead", "general", lead_id)["owner"]
            except Conflict as exc:
                outcomes[who] = exc

        threads = [threading.Thread(target=claim, args=(w,)) for w in ("rep_east", "rep_north")]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        winners = [w for w, o in outcomes.items() if isinstance(o, int)]
        losers = [o for o in outcomes.values() if isinstance(o, Conflict)]
        assert len(winners) == 1 and len(losers) == 1, outcomes
        assert crm.raw("lead", lead_id)["owner"] == crm.user_id(winners[0])
        assert "already claimed by" in str(losers[0])
        with crm.rt.engine.connect() as conn:
            claims = conn.execute(
                sa.select(sa.func.count()).where(pool_claim_table.c.record_id == lead_id)
            ).scalar_one()
        assert claims == 1


# -- releasing ------------------------------------------------------------------------


def test_the_owner_releases_a_record(crm, pools):
    lead = crm.lead("rep_east", region="east")

    assert pools.release(crm.ctx("rep_east"), "lead", lead["id"]) == "east"

    row = entry(crm, lead["id"])
    assert row["reason"] == "released"
    assert row["previous_owner"] == crm.user_id("rep_east")
    assert crm.raw("lead", lead["id"])["owner"] is None
    with pytest.raises(Conflict, match="in a pool already"):
        pools.release(crm.ctx("admin"), "lead", lead["id"])


def test_only_the_owner_or_an_admin_releases(crm, pools):
    lead = crm.lead("rep_east", region="east")
    with pytest.raises(NotFound):  # rep_north cannot even see it
        pools.release(crm.ctx("rep_north"), "lead", lead["id"])
    with pytest.raises(Forbidden, match="only the owner"):  # the manager sees it
        pools.release(crm.ctx("manager"), "lead", lead["id"])
    assert pools.release(crm.ctx("admin"), "lead", lead["id"], pool="general") == "general"


# -- leaving a pool by other paths ------------------------------------------------------


def test_an_owner_given_by_any_path_takes_the_record_out_of_its_pool(crm, pools):
    lead_id = pooled(crm, pools)
    crm.records.transfer(crm.ctx("admin"), "lead", lead_id, crm.user_id("rep_north"))
    assert entry(crm, lead_id) is None
    assert pools.records(crm.ctx("rep_east"), "lead", "east")["entries"] == []


def test_a_deleted_record_leaves_its_pool(crm, pools):
    lead_id = pooled(crm, pools)
    crm.records.delete(crm.ctx("admin"), "lead", lead_id)
    assert entry(crm, lead_id) is None


def test_moving_between_pools_keeps_the_last_owner(crm, pools):
    lead_id = pooled(crm, pools)
    assert pools.move(recycler(crm), "lead", lead_id, pool="general") == "general"
    row = entry(crm, lead_id)
    assert (row["pool"], row["previous_owner"]) == ("general", crm.user_id("rep_east"))


# -- listing ------------------------------------------------------------------------


def test_members_list_a_pool_beyond_their_data_scope(crm, pools):
    first, second = (crm.lead("rep_east", region="east")["id"] for _ in range(2))
    pools.move(recycler(crm, now=crm.NOW), "lead", first, reason="recycled")
    later = crm.NOW + dt.timedelta(hours=1)
    pools.move(recycler(crm, now=later), "lead", second, reason="recycled")

    page = pools.records(crm.ctx("rep_north"), "lead", "east")

    assert [e["record"]["id"] for e in page["entries"]] == [second, first]  # newest first
    newest = page["entries"][0]
    assert newest["entered_at"] == "2026-03-10T11:30:00+08:00"  # the reader's time zone
    assert newest["previous_owner"] == {
        "id": crm.user_id("rep_east"),
        "display_name": "华东销售代表",
    }
    assert newest["reason"] == "recycled"
    assert "score" in newest["record"]
    # Reading one pooled record through the records service keeps the data scope.
    with pytest.raises(NotFound):
        crm.records.get(crm.ctx("rep_north"), "lead", first)


def test_the_pool_list_pages_by_cursor(crm, pools):
    ids = [pooled(crm, pools) for _ in range(5)]
    ctx = crm.ctx("rep_north")
    seen, cursor = [], None
    while True:
        page = pools.records(ctx, "lead", "east", limit=2, cursor=cursor)
        seen += [e["record"]["id"] for e in page["entries"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(ids) and len(seen) == 5


def test_my_pools_with_counts(crm, pools):
    pooled(crm, pools)
    pooled(crm, pools)
    pooled(crm, pools, region="north")
    listed = pools.pools(crm.ctx("rep_east"))
    assert [(p["key"], p["records"]) for p in listed] == [("lead.east", 2), ("lead.general", 1)]
    assert listed[0]["label"] == LABEL
    assert listed[0]["claims_per_day"] == 3 and listed[0]["max_held"] is None
