"""Imports every API endpoint module so that they register on the blueprint."""
from notifier.api import contacts, event_log, events, missed_calls, pbx, rules, schedule, subscribers, telegram  # noqa: F401
