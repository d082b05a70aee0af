"""queueing.enqueue_calls (the hot paths' enqueue, one pipeline) and the
reused Queue object; the shipped worker runs what it queues."""
from rq.job import Job

from notifier.extensions import db
from notifier.models import Setting
from notifier.pipeline.queueing import enqueue_calls, get_queue
from notifier.runtime.redis_conn import get_redis

from .jobs_for_tests import record_context

FUNC = "tests.jobs_for_tests.record_context"


def test_a_batch_goes_in_order_and_the_worker_runs_it(app, run_worker):
    enqueue_calls(get_queue(), [(FUNC, (f"k{i}",), f"job-{i}") for i in range(3)])
    assert get_queue().job_ids == ["job-0", "job-1", "job-2"]
    run_worker()
    assert {s.key for s in db.session.scalars(db.select(Setting))} == {"k0", "k1", "k2"}
    # Finished jobs are not kept (result_ttl=0): the database has what they did.
    assert Job.fetch_many([f"job-{i}" for i in range(3)], connection=get_redis()) == [None, None, None]


def test_the_queue_object_is_reused_until_the_redis_client_changes(app):
    first = get_queue()
    assert get_queue() is first
    app.extensions.pop("redis")
    assert get_queue() is not first
    assert get_queue().connection is get_redis()


assert record_context  # imported so the worker can import the job by name


def test_discard_job_whose_execution_record_expired(app):
    """A killed worker's job can list an execution whose record has expired;
    RQ's Job.delete raises then, discard_job still removes the job."""
    import time

    import pytest

    from notifier.pipeline.queueing import discard_job

    queue = get_queue()
    job = queue.enqueue_call(FUNC, args=("x",), job_id="abandoned")
    get_redis().zadd(job.execution_registry.key, {"gone-execution": time.time() + 60})
    with pytest.raises(ValueError):
        Job.fetch("abandoned", connection=get_redis()).delete()
    discard_job(Job.fetch("abandoned", connection=get_redis()))
    assert not get_redis().exists(job.key) and queue.job_ids == []
    enqueue_calls(queue, [(FUNC, ("again",), "abandoned")])
    assert queue.job_ids == ["abandoned"]
