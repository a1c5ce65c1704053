"""A process killed in the middle of an import: the next run resumes without duplicates.

The chunk loop runs in a real child process that is killed with SIGKILL (no clean-up, no
rollback by Python) while it writes its third chunk; the database's own crash recovery
throws that chunk away, and a new run continues from the last committed checkpoint.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import sqlalchemy as sa

_CHILD = textwrap.dedent(
    """
    import sys
    from trellis.runtime.platform_runtime import Runtime
    from trellis.tabular import imports_for

    runtime = Runtime(sys.argv[1])
    ctx = runtime.context_for("rep_east")
    imports_for(runtime).run(
        ctx, int(sys.argv[2]), on_chunk=lambda s: print(s.processed_rows, flush=True)
    )
    print("finished", flush=True)
    """
)


def test_a_killed_import_resumes_after_its_last_committed_chunk(imports, crm, files, database_url):
    rows = [["公司名称", "手机"]] + [[f"公司{i}", "13812345678"] for i in range(1000)]
    ctx = crm.ctx("rep_east")
    path = files.csv("leads.csv", rows, encoding="gbk")
    state = imports.upload(ctx, "lead", path.read_bytes(), path.name)
    imports.start(ctx, state.id, background=False)

    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, database_url, str(state.id)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert child.stdout.readline().strip() == "200"
        assert child.stdout.readline().strip() == "400"
        os.kill(child.pid, signal.SIGKILL)  # while it writes the third chunk
    finally:
        child.wait(timeout=60)
        child.stdout.close()
    assert child.returncode == -signal.SIGKILL

    interrupted = imports.get(ctx, state.id)
    assert interrupted.status == "running"
    assert interrupted.processed_rows in (400, 600)  # the third chunk may have committed
    assert crm.count("lead") == interrupted.created

    done = imports.run(ctx, state.id)
    assert (done.status, done.created, done.failed) == ("done", 1000, 0)
    with crm.rt.engine.connect() as conn:
        distinct = conn.execute(sa.text("SELECT COUNT(DISTINCT company_name) FROM rec_lead"))
        assert distinct.scalar() == crm.count("lead") == 1000
