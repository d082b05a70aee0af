"""RQ job functions. Jobs take ids, never objects, and run in an app context
(notifier.queueing.AppJob)."""
