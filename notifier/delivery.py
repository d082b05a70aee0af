"""Sending one notification of one event to one employee on one channel.

Interface used by processing, the sweep and the «Журнал» page:
``enqueue(delivery_ids)``, ``deliver(delivery_id)`` (the RQ job),
``retry(delivery_id)`` and ``requeue_stale()``; see issue 5.
"""

from .queueing import get_queue


def enqueue(delivery_ids: list[int]) -> None:
    """One RQ job per delivery (placeholder until the delivery half lands)."""
    queue = get_queue()
    for delivery_id in delivery_ids:
        queue.enqueue("notifier.delivery.deliver", delivery_id, job_id=f"delivery-{delivery_id}")
