"""Notifications over REST (each user their own) and the job queue for administrators."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from trellis.flows import jobs
from trellis.flows.tables import job_table
from trellis.runtime.database import begin_write

T = dt.datetime(2026, 3, 10, 2, 30, tzinfo=dt.UTC)


def notify(crm, username, title, body="正文"):
    with begin_write(crm.rt.engine) as conn:
        ctx = crm.rt.flows.context(conn, None, T, cause="test")
        crm.rt.flows.notifications.send(
            conn, ctx, [crm.user_id(username)], title, body, object_name="lead", record_id=3
        )


def test_a_user_lists_counts_and_reads_their_notifications(api, crm):
    notify(crm, "rep_east", "线索已分配给您")
    notify(crm, "rep_east", "报价已通过")
    notify(crm, "manager", "待审批")

    listed = api.get("/notifications").get_json()
    assert [n["title"] for n in listed["notifications"]] == ["报价已通过", "线索已分配给您"]
    assert listed["next_cursor"] is None
    assert api.get("/notifications/unread-count").get_json() == {"unread": 2}

    newest = listed["notifications"][0]
    read = api.post(f"/notifications/{newest['id']}/read")
    assert read.status_code == 200
    assert read.get_json()["notification"]["read"] is True
    assert api.get("/notifications/unread-count").get_json() == {"unread": 1}
    unread = api.get("/notifications?unread=true").get_json()["notifications"]
    assert [n["title"] for n in unread] == ["线索已分配给您"]

    assert api.post("/notifications/read-all").get_json() == {"marked": 1}
    assert api.get("/notifications/unread-count").get_json() == {"unread": 0}
    assert api.get("/notifications/unread-count", as_="manager").get_json() == {"unread": 1}


def test_someone_else_s_notification_is_not_found(api, crm):
    notify(crm, "manager", "待审批")
    theirs = api.get("/notifications", as_="manager").get_json()["notifications"][0]
    response = api.post(f"/notifications/{theirs['id']}/read", as_="rep_east")
    assert response.status_code == 404
    assert api.post("/notifications/999999/read").status_code == 404
    assert api.get("/notifications/unread-count", as_="manager").get_json() == {"unread": 1}


def test_the_list_pages_and_refuses_bad_parameters(api, crm):
    for n in range(3):
        notify(crm, "rep_east", f"n{n}")
    first = api.get("/notifications?limit=2").get_json()
    assert [n["title"] for n in first["notifications"]] == ["n2", "n1"]
    rest = api.get(f"/notifications?limit=2&cursor={first['next_cursor']}").get_json()
    assert [n["title"] for n in rest["notifications"]] == ["n0"]
    for query in ("limit=0", "limit=x", "unread=maybe", "cursor=abc", "sort=id"):
        assert api.get(f"/notifications?{query}").status_code == 400, query


def test_notifications_need_a_signed_in_user(api):
    assert api.get("/notifications", as_=None).status_code == 401


# -- jobs: the dead-letter list ----------------------------------------------------------------


@pytest.fixture
def dead_job(crm):
    with begin_write(crm.rt.engine) as conn:
        job_id = jobs.schedule(conn, "deliver_webhook", {"key": "k"}, T, now=T)
        conn.execute(
            sa.update(job_table)
            .where(job_table.c.id == job_id)
            .values(status="dead", attempts=5, last_error="DeliveryError: answered HTTP 500")
        )
        jobs.schedule(conn, "deliver_email", {"key": "e"}, T, now=T)
    return job_id


def test_admins_list_dead_jobs_and_retry_them(api, dead_job):
    listed = api.get("/jobs?status=dead", as_="admin").get_json()
    (job,) = listed["jobs"]
    assert job["id"] == dead_job and job["kind"] == "deliver_webhook"
    assert job["last_error"] == "DeliveryError: answered HTTP 500"
    assert job["attempts"] == 5 and job["due_at"] == "2026-03-10T02:30:00+00:00"
    # Every status: these two, and the catch-up sweeps the pack's timed automations queued.
    kinds = [j["kind"] for j in api.get("/jobs", as_="admin").get_json()["jobs"]]
    assert kinds.count("deliver_webhook") == 1 and kinds.count("deliver_email") == 1
    assert set(kinds) <= {"deliver_webhook", "deliver_email", "automation_sweep"}

    retried = api.post(f"/jobs/{dead_job}/retry", as_="admin")
    assert retried.status_code == 200
    assert retried.get_json()["job"]["status"] == "pending"
    assert retried.get_json()["job"]["attempts"] == 0
    assert api.get("/jobs?status=dead", as_="admin").get_json()["jobs"] == []

    again = api.post(f"/jobs/{dead_job}/retry", as_="admin")
    assert again.status_code == 409
    assert "only dead jobs can be retried" in again.get_json()["error"]["message"]
    assert api.post("/jobs/999999/retry", as_="admin").status_code == 404
    assert api.get("/jobs?status=lost", as_="admin").status_code == 400


@pytest.mark.parametrize("who", ["rep_east", "vp"])
def test_only_admins_see_or_retry_jobs(api, dead_job, who):
    response = api.get("/jobs?status=dead", as_=who)
    assert response.status_code == 403
    assert "administrators" in response.get_json()["error"]["message"]
    assert api.post(f"/jobs/{dead_job}/retry", as_=who).status_code == 403
    with api.runtime.engine.connect() as conn:
        assert jobs.get(conn, dead_job)["status"] == "dead"
