"""A real Celery worker on real brokers (Redis and RabbitMQ) runs a write-back against a local API.

The example connector's ``add_note`` posts to the scripted HTTP server of the
connector tests: the first attempt gets a 503, the session retries with the
same Idempotency-Key, and a second delivery of the job sends nothing.
"""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy.orm import Session

from hub import tasks
from hub.models import WriteBack, WriteBackStatus
from hub.sync.writeback import request_write_back
from tests.jobs.conftest import WORKER, add_connection, sending_to, wait_for


def status_of(engine, write_back_id: uuid.UUID) -> WriteBack:
    with Session(engine) as session:
        return session.get_one(WriteBack, write_back_id)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_worker_runs_a_write_back_once(engine, settings, api, broker_url, queue,
                                         start_worker):
    ns = f"wb{uuid.uuid4().hex[:10]}"
    api.route("POST", f"/{ns}/notes", [(503, {}, {"error": "try again"}),
                                       (201, {}, {"id": "n1", "contact_id": "c1"})])
    connection_id = add_connection(engine, ns, f"{api.url}/{ns}")
    with Session(engine) as session, session.begin():
        write_back_id = request_write_back(session, connection_id, "add_note",
                                           {"contact_id": "c1", "body": "Called back."},
                                           f"{ns}-note")
    worker = start_worker(*WORKER)
    with sending_to(settings, broker_url, queue):
        tasks.enqueue("run_write_back", write_back_id=str(write_back_id))
        wait_for(lambda: status_of(engine, write_back_id).status == WriteBackStatus.DONE, 30,
                 "the write-back job", diagnose=worker.output)
        tasks.enqueue("run_write_back", write_back_id=str(write_back_id))  # delivered again
        wait_for(lambda: worker.output().count("crmhub.run_write_back[") >= 4, 30,
                 "the second delivery", diagnose=worker.output)

    posts = [seen for seen in api.seen if seen.method == "POST"]
    assert [(p.path, p.json(), p.headers.get("Idempotency-Key")) for p in posts] == [
        (f"/{ns}/notes", {"contact_id": "c1", "body": "Called back."}, f"{ns}-note")] * 2
    done = status_of(engine, write_back_id)
    assert (done.attempts, done.result) == (1, {"id": "n1", "contact_id": "c1"})
    assert "'DONE'" in worker.output()
