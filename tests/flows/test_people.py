"""The people resolver: every people type, levels of a manager chain, deactivated users left
out, on SQLite and PostgreSQL with the demo organisation."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from trellis.expressions import ExprType, compile_expression
from trellis.flows import people
from trellis.metadata.flow_definitions import PeopleDef
from trellis.runtime.errors import Invalid
from trellis.runtime.system_tables import user_table


@pytest.fixture
def who(crm):
    """``who(specs, record=None, submitter="rep_east")`` → usernames by level."""
    names = {}

    def resolve(specs, record=None, submitter="rep_east", default_of="submitter"):
        with crm.rt.engine.connect() as conn:
            compiled = crm.rt.cache.get(conn)
            levels = people.resolve_levels(
                conn,
                compiled,
                specs,
                record,
                submitter_id=crm.user_id(submitter) if submitter else None,
                default_of=default_of,
            )
            if not names:
                names.update({r.id: r.username for r in conn.execute(sa.select(user_table))})
        return [[names[u] for u in level] for level in levels]

    return resolve


def test_named_users_roles_and_department_heads(who, crm):
    assert who([PeopleDef("user", users=("vp", "finance", "nobody"))]) == [["vp", "finance"]]
    assert who([PeopleDef("role", role="sales_manager")]) == [["manager", "manager_north"]]
    assert who([PeopleDef("department_head", department="tech")]) == [["tech_lead"]]
    assert who([PeopleDef("department_head")]) == [["manager"]]  # the submitter's department
    owner = {"owner": crm.user_id("rep_north")}
    assert who([PeopleDef("department_head", of="owner")], owner) == [["manager_north"]]


def test_managers_and_manager_chains(who, crm):
    assert who([PeopleDef("manager")]) == [["manager"]]
    assert who([PeopleDef("manager", of="owner")], {"owner": crm.user_id("rep_north")}) == [
        ["manager_north"]
    ]
    assert who([PeopleDef("manager_chain", levels=2)]) == [["manager"], ["vp"]]
    assert who([PeopleDef("manager_chain", levels=9)]) == [["manager"], ["vp"], ["admin"]]
    assert who([PeopleDef("manager_chain", until_role="sales_vp")]) == [["manager"], ["vp"]]
    # Other specs join the first level; each person appears once.
    assert who(
        [PeopleDef("manager_chain", levels=2), PeopleDef("user", users=("finance", "vp"))]
    ) == [["manager", "finance", "vp"]]


def test_record_people_owner_field_submitter_and_formula(who, crm):
    record = {"owner": crm.user_id("rep_north"), "checker": crm.user_id("finance")}
    assert who([PeopleDef("owner")], record) == [["rep_north"]]
    assert who([PeopleDef("field", field="checker")], record) == [["finance"]]
    assert who([PeopleDef("submitter")], record, submitter="rep_east") == [["rep_east"]]
    names = {"amount": ExprType.NUMBER}
    formula = compile_expression("IF(amount > 100000, 'vp,finance', 'manager')", names)
    assert who([PeopleDef("formula", formula=formula)], {"amount": 200000}) == [["vp", "finance"]]
    assert who([PeopleDef("formula", formula=formula)], {"amount": 5}) == [["manager"]]
    by_id = compile_expression("amount", names)
    assert who([PeopleDef("formula", formula=by_id)], {"amount": crm.user_id("vp")}) == [["vp"]]


def test_deactivated_users_are_left_out(who, crm):
    with crm.rt.engine.begin() as conn:
        conn.execute(
            sa.update(user_table).where(user_table.c.username == "manager").values(is_active=False)
        )
    assert who([PeopleDef("role", role="sales_manager")]) == [["manager_north"]]
    # A chain skips the level of a deactivated manager and goes on above them.
    assert who([PeopleDef("manager_chain", levels=2)]) == [["vp"]]
    assert who([PeopleDef("manager")]) == []


def test_unknown_types_are_refused(who):
    with pytest.raises(Invalid, match="unknown people type"):
        who([PeopleDef("astrologer")])


def test_flattened_and_grouped_by_language(crm):
    with crm.rt.engine.connect() as conn:
        compiled = crm.rt.cache.get(conn)
        ids = people.resolve(
            conn,
            compiled,
            [PeopleDef("manager_chain", levels=2), PeopleDef("role", role="finance")],
            None,
            submitter_id=crm.user_id("rep_east"),
        )
        assert ids == [crm.user_id(u) for u in ("manager", "finance", "vp")]
        assert people.by_locale(conn, ids) == {"zh-CN": ids}
        assert people.admins(conn, compiled) == [crm.user_id("admin")]
