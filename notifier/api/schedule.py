"""/api/v1/schedule: the company's working hours (api.md "Working hours").
An invalid schedule raises FieldErrors, answered 422 by the API's error handler."""
from __future__ import annotations

from notifier.api import bp, json_body
from notifier.core.workhours import Schedule
from notifier.services import settings


@bp.get("/schedule")
def get_schedule():
    return settings.schedule().to_json()


@bp.put("/schedule")
def put_schedule():
    schedule = Schedule.from_json(json_body())
    settings.save_schedule(schedule)
    return schedule.to_json()
