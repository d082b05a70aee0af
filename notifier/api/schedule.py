"""/api/v1/schedule: the company's working hours (api.md "Working hours")."""
from __future__ import annotations

from notifier.services import settings
from notifier.core.workhours import Schedule, ScheduleError
from notifier.extensions import db
from notifier.api import ApiError, bp, json_body


@bp.get("/schedule")
def get_schedule():
    return settings.schedule().to_json()


@bp.put("/schedule")
def put_schedule():
    try:
        schedule = Schedule.from_json(json_body())
    except ScheduleError as exc:
        raise ApiError(422, errors=exc.errors) from None
    settings.put(settings.SCHEDULE_KEY, schedule.to_json())
    db.session.commit()
    return schedule.to_json()
