"""The people service the admin pages write through (trellis.runtime.people_admin).

On the demo organisation of crm_standard, SQLite and PostgreSQL: creating, editing,
deactivating users and resetting passwords; the department tree's moves, with loops refused.
"""

from __future__ import annotations

import pytest

from trellis.runtime import auth, people, people_admin
from trellis.runtime.database import begin_write
from trellis.runtime.errors import Conflict, Invalid, NotFound, Unauthorized

ROLES = frozenset({"sales_rep", "sales_manager", "system_admin"})


def _new(**values) -> dict:
    return {
        "username": "rep_south",
        "password": "south-secret-1",
        "display_name": "华南销售代表",
        "department": "sales_east",
        "manager": "manager",
        "roles": ["sales_rep"],
        "time_zone": "Asia/Shanghai",
        **values,
    }


def _codes(exc) -> dict[str, str]:
    return {d["field"]: d["code"] for d in exc.value.details}


def test_a_created_user_signs_in_with_roles_department_and_phone_in_e164(runtime):
    with begin_write(runtime.engine) as conn:
        people_admin.create_user(
            conn, _new(phone="138 1234 5678", email="south@example.com"), known_roles=ROLES
        )
    with runtime.engine.begin() as conn:
        assert auth.check_password(conn, "rep_south", "south-secret-1")
        user = people_admin.user_detail(conn, "rep_south")
    assert user["phone"] == "+8613812345678" and user["department"] == "sales_east"
    assert user["roles"] == ["sales_rep"] and user["manager"] == "manager"
    assert runtime.context_for("rep_south").principal.roles == ("sales_rep",)


def test_bad_input_is_refused_field_by_field_and_nothing_is_written(runtime):
    with begin_write(runtime.engine) as conn, pytest.raises(Invalid) as refused:
        people_admin.create_user(
            conn,
            _new(
                username="<script>x</script>",
                password="short",
                display_name=" ",
                email="not-mail",
                phone="12",
                department="atlantis",
                manager="nobody",
                roles=["pirate"],
                time_zone="Mars/Base",
            ),
            known_roles=ROLES,
        )
    assert _codes(refused) == {
        "username": "bad_username",
        "password": "short_password",
        "display_name": "required",
        "email": "bad_email",
        "phone": "bad_phone",
        "department": "unknown_department",
        "manager": "unknown_user",
        "roles": "unknown_role",
        "time_zone": "bad_time_zone",
    }
    with runtime.engine.connect() as conn:
        assert people.user_id(conn, "<script>x</script>") is None


def test_the_same_username_twice_is_a_conflict_and_one_user(runtime):
    with begin_write(runtime.engine) as conn:
        people_admin.create_user(conn, _new(), known_roles=ROLES)
    with begin_write(runtime.engine) as conn, pytest.raises(Conflict) as twice:
        people_admin.create_user(conn, _new(), known_roles=ROLES)
    assert _codes(twice) == {"username": "username_taken"}
    with runtime.engine.connect() as conn:
        assert len(people_admin.list_users(conn, search="rep_south")) == 1


def test_search_and_filters_combine(runtime):
    with runtime.engine.connect() as conn:
        east = people_admin.list_users(conn, department="sales_east")
        reps = people_admin.list_users(conn, role="sales_rep")
        found = people_admin.list_users(conn, search="华北")
        literal = people_admin.list_users(conn, search="%")
    assert [u["username"] for u in east] == ["manager", "rep_east"]
    assert [u["username"] for u in reps] == ["rep_east", "rep_north"]
    assert {u["username"] for u in found} == {"manager_north", "rep_north"}
    assert literal == []  # a % in the search is a character, not a wildcard


def test_deactivated_users_cannot_sign_in_until_reactivated(runtime, crm):
    with begin_write(runtime.engine) as conn:
        people_admin.set_active(conn, "rep_east", False, by="admin")
    with runtime.engine.begin() as conn, pytest.raises(Unauthorized):
        auth.check_password(conn, "rep_east", crm.PASSWORD)
    with pytest.raises(Unauthorized):
        runtime.context_for("rep_east")
    with runtime.engine.connect() as conn:
        assert [u["username"] for u in people_admin.list_users(conn, active=False)] == ["rep_east"]
    with begin_write(runtime.engine) as conn:
        people_admin.set_active(conn, "rep_east", True, by="admin")
    assert runtime.context_for("rep_east").principal.username == "rep_east"


def test_an_admin_cannot_deactivate_themselves(runtime):
    with begin_write(runtime.engine) as conn, pytest.raises(Invalid) as refused:
        people_admin.set_active(conn, "admin", False, by="admin")
    assert _codes(refused) == {"username": "self_deactivate"}


def test_reset_password_replaces_the_old_one(runtime, crm):
    with begin_write(runtime.engine) as conn:
        people_admin.reset_password(conn, "rep_east", "brand-new-pass")
    with runtime.engine.begin() as conn:
        assert auth.check_password(conn, "rep_east", "brand-new-pass")
        with pytest.raises(Unauthorized):
            auth.check_password(conn, "rep_east", crm.PASSWORD)
    with begin_write(runtime.engine) as conn, pytest.raises(Invalid):
        people_admin.reset_password(conn, "rep_east", "short")


def test_a_manager_loop_is_refused(runtime):
    with begin_write(runtime.engine) as conn, pytest.raises(Invalid) as refused:
        user = people_admin.user_detail(conn, "vp")
        people_admin.update_user(
            conn,
            "vp",
            {**user, "manager": "rep_east", "roles": ["sales_vp"]},
            known_roles=ROLES | {"sales_vp"},
        )
    assert _codes(refused) == {"manager": "manager_cycle"}


def test_moving_a_department_moves_its_subtree_and_a_loop_is_refused(runtime):
    with begin_write(runtime.engine) as conn:
        people_admin.create_department(conn, "sales_south", "华南销售部", "Sales South", "sales")
        people_admin.move_department(conn, "sales_south", "sales_east")
        people_admin.move_department(conn, "sales_east", "hq")
    with runtime.engine.connect() as conn:
        parents = {d["api_name"]: d["parent"] for d in people_admin.departments(conn)}
    assert parents["sales_south"] == "sales_east" and parents["sales_east"] == "hq"
    with begin_write(runtime.engine) as conn, pytest.raises(Invalid) as loop:
        people_admin.move_department(conn, "sales_east", "sales_south")
    assert _codes(loop) == {"parent": "department_cycle"}
    with begin_write(runtime.engine) as conn, pytest.raises(Invalid):
        people_admin.move_department(conn, "hq", "hq")
    # The manager's "department and below" now reaches the moved sub-department.
    tree = runtime.context_for("manager").principal.department_tree
    with runtime.engine.connect() as conn:
        assert people.department_id(conn, "sales_south") in tree


def _children_of(conn, name: str | None) -> list[str]:
    def find(nodes):
        for node in nodes:
            if node["api_name"] == name:
                return node["children"]
            found = find(node["children"])
            if found is not None:
                return found
        return None

    nodes = people_admin.tree(conn)
    return [d["api_name"] for d in (nodes if name is None else find(nodes))]


def test_departments_keep_the_order_they_are_dragged_into(runtime):
    with begin_write(runtime.engine) as conn:
        for name, en in (("team_a", "A team"), ("team_b", "B team"), ("team_c", "C team")):
            people_admin.create_department(conn, name, en, en, "hq")
    with runtime.engine.connect() as conn:
        before = _children_of(conn, "hq")
    # Never placed: by English label. Put C first, then A at the end.
    assert [n for n in before if n.startswith("team_")] == ["team_a", "team_b", "team_c"]
    with begin_write(runtime.engine) as conn:
        people_admin.move_department(conn, "team_c", "hq", 0)
        people_admin.move_department(conn, "team_a", "hq", 99)
    with runtime.engine.connect() as conn:
        after = _children_of(conn, "hq")
    assert after[0] == "team_c" and after[-1] == "team_a"
    assert sorted(after) == sorted(before)
    # Moved under another parent without a place (the row's form): it goes last there.
    with begin_write(runtime.engine) as conn:
        people_admin.move_department(conn, "team_b", "team_c")
        people_admin.move_department(conn, "team_a", "team_c")
    with runtime.engine.connect() as conn:
        assert _children_of(conn, "team_c") == ["team_b", "team_a"]


def test_departments_refuse_taken_names_and_empty_labels_and_take_a_head(runtime):
    with begin_write(runtime.engine) as conn, pytest.raises(Conflict):
        people_admin.create_department(conn, "sales", "销售", "Sales", None)
    with begin_write(runtime.engine) as conn, pytest.raises(Invalid) as refused:
        people_admin.create_department(conn, "Bad Name", "", "", "nowhere")
    assert _codes(refused) == {
        "api_name": "bad_department_name",
        "label_zh": "required",
        "label_en": "required",
        "parent": "unknown_department",
    }
    with begin_write(runtime.engine) as conn:
        people_admin.rename_department(conn, "tech", "研发部", "R&D")
        people_admin.set_head(conn, "tech", "rep_east")
    with runtime.engine.connect() as conn:
        tech = next(d for d in people_admin.departments(conn) if d["api_name"] == "tech")
    assert (tech["label_zh"], tech["label_en"], tech["head"]) == ("研发部", "R&D", "rep_east")
    with begin_write(runtime.engine) as conn, pytest.raises(NotFound):
        people_admin.set_head(conn, "atlantis", "rep_east")
