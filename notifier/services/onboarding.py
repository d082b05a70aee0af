"""Facts for the «С чего начать» checklist (notifier.core.onboarding): four small counts
and the channels' saved status."""
from __future__ import annotations

from sqlalchemy import func, select

from notifier.channels import checks
from notifier.core.onboarding import Facts, Step, steps
from notifier.extensions import db
from notifier.models import Event, Rule, Subscriber
from notifier.services import settings


def _count(model) -> int:
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def facts() -> Facts:
    return Facts(
        employees=_count(Subscriber),
        rules=_count(Rule),
        mail=checks.status(checks.MAIL, settings.mail().configured).state,
        telegram=checks.status(checks.TELEGRAM, settings.telegram().configured).state,
        events=_count(Event),
    )


def checklist() -> list[Step]:
    return steps(facts())
