"""Sending one notification of one event to one employee on one channel.

Interface used by processing, the sweep and the «Журнал» page:
``enqueue(delivery_ids)``, ``deliver(delivery_id)`` (the RQ job),
``retry(delivery_id)`` and ``requeue_stale()``; see issue 5.
"""
