"""The sweep as a Celery job: a real broker, a real Celery worker process, a real receiver."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid

from sqlalchemy.orm import Session

from hub import tasks
from hub.events.outbox import emit
from tests.events.conftest import KEYS, hook_settings_for, subscribe
from tests.jobs.conftest import (  # noqa: F401 - broker_url and queue are fixtures
    ROOT,
    Worker,
    broker_url,
    queue,
    wait_for,
    worker_env,
)


def test_a_worker_delivers_what_the_queue_asks(quiet, database_url, broker_url, queue,  # noqa: F811
                                               receiver, tmp_path):
    settings = hook_settings_for(database_url)
    path = f"/celery/{uuid.uuid4().hex[:12]}"
    subscribe(quiet, settings, receiver, path, ["feedback.created"])
    with Session(quiet) as session, session.begin():
        event_id = emit(session, "feedback.created", {"score": 10})

    env = worker_env(database_url, broker_url, queue, CRMHUB_SECRET_KEYS=KEYS[0],
                     CRMHUB_WEBHOOKS__ALLOW_HTTP="true",
                     CRMHUB_WEBHOOKS__ALLOWED_NETWORKS=json.dumps(["127.0.0.1/32"]))
    log = tmp_path / "worker.log"
    with log.open("wb") as handle:
        # The Celery app `crmhub worker` runs, under a node name of its own: a RabbitMQ
        # broker shared with other workers refuses a second `celery@<host>` control queue.
        worker = Worker(subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "hub.tasks", "worker", "--pool", "solo",
             "--queues", queue, "--hostname", f"webhooks-{uuid.uuid4().hex[:8]}@%h",
             "--without-mingle", "--without-gossip", "--loglevel", "info"],
            cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True),
            log)
    queued = settings.model_copy(update={"jobs": settings.jobs.model_copy(
        update={"broker_url": broker_url, "queue": queue})})
    try:
        tasks.configure(queued)
        tasks.enqueue("deliver_webhooks")
        wait_for(lambda: receiver.at(path), 60, "the worker's delivery",
                 lambda: worker.output()[-3000:])
    finally:
        tasks.shutdown()
        worker.kill()  # the whole process group: the worker and its pool
    [message] = receiver.at(path)
    assert message.verified and message.headers["webhook-id"] == str(event_id)
