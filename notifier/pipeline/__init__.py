"""The way of an event: intake (verify, store, queue) → processing (decide who
is notified) → delivery (send on each channel, retry) ; the outbox sweep
re-queues whatever was stored but not queued; worker runs the jobs."""
