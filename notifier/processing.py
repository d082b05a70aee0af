"""Turning a stored call event into decisions and deliveries (RQ job).

Entry point: ``process_event(event_pk)``; see issue 5.
"""
