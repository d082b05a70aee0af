"""queueing.enqueue_calls (the hot paths' enqueue) stores jobs exactly as RQ's
own Queue.enqueue_call does, and the shipped worker runs them."""
from rq.job import Job

from notifier.extensions import db
from notifier.models import Setting
from notifier.queueing import enqueue_calls, get_queue
from notifier.redis_conn import get_redis

from .jobs_for_tests import record_context

FUNC = "tests.jobs_for_tests.record_context"
TIMES = {b"created_at", b"enqueued_at"}


def _stored(job_id: str) -> dict:
    return {k: v for k, v in get_redis().hgetall(f"rq:job:{job_id}").items() if k not in TIMES}


def test_same_redis_state_as_rq_enqueue_call(app):
    with app.app_context():
        queue = get_queue()
        queue.enqueue_call(FUNC, args=("by-rq",), job_id="by-rq")
        enqueue_calls(queue, [(FUNC, ("by-us",), "by-us")])
        ours, theirs = _stored("by-us"), _stored("by-rq")
        assert ours.keys() == theirs.keys()
        same = lambda fields: {k: v for k, v in fields.items() if k not in (b"data", b"description")}  # noqa: E731
        assert same(ours) == same(theirs)
        assert ours[b"description"] == theirs[b"description"].replace(b"by-rq", b"by-us")
        assert Job.fetch("by-us", connection=get_redis()).args == ("by-us",)
        assert queue.job_ids == ["by-rq", "by-us"]
        assert get_redis().smembers(queue.redis_queues_keys) == {queue.key.encode()}
        assert get_redis().ttl("rq:job:by-us") == get_redis().ttl("rq:job:by-rq") == -1


def test_same_data_and_description_for_the_same_call(app):
    with app.app_context():
        queue = get_queue()
        queue.enqueue_call("notifier.processing.process_event", args=(7,), job_id="rq-7")
        enqueue_calls(queue, [("notifier.processing.process_event", (7,), "us-7")])
        raw = get_redis()
        for field in ("data", "description"):
            assert raw.hget("rq:job:us-7", field) == raw.hget("rq:job:rq-7", field)
        job = Job.fetch("us-7", connection=raw)
        assert (job.func_name, job.args, job.kwargs) == ("notifier.processing.process_event", (7,), {})
        assert job.created_at is not None and job.enqueued_at is not None


def test_a_batch_goes_in_order_and_the_worker_runs_it(app, run_worker):
    with app.app_context():
        enqueue_calls(get_queue(), [(FUNC, (f"k{i}",), f"job-{i}") for i in range(3)])
        assert get_queue().job_ids == ["job-0", "job-1", "job-2"]
    run_worker()
    with app.app_context():
        assert {s.key for s in db.session.scalars(db.select(Setting))} == {"k0", "k1", "k2"}
        assert all(Job.fetch(f"job-{i}", connection=get_redis()).get_status() == "finished" for i in range(3))


def test_the_queue_object_is_reused_until_the_redis_client_changes(app):
    with app.app_context():
        first = get_queue()
        assert get_queue() is first
        app.extensions.pop("redis")
        assert get_queue() is not first
        assert get_queue().connection is get_redis()


def test_a_script_lost_by_redis_is_loaded_again(app):
    with app.app_context():
        enqueue_calls(get_queue(), [(FUNC, ("a",), "a")])
        get_redis().script_flush()
        enqueue_calls(get_queue(), [(FUNC, ("b",), "b")])
        enqueue_calls(get_queue(), [(FUNC, ("c",), "c"), (FUNC, ("d",), "d")])
        assert get_queue().job_ids == ["a", "b", "c", "d"]


assert record_context  # imported so the work horse can import the job by name
