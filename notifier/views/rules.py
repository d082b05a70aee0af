"""Инструменты → «Email-уведомления»: the notification rules list."""
from __future__ import annotations

from flask import Blueprint, render_template
from sqlalchemy import func, select

from ..extensions import db
from ..models import Rule

bp = Blueprint("rules", __name__)


@bp.get("/")
def index():
    total = db.session.scalar(select(func.count(Rule.id)))
    return render_template("rules/index.html", total=total)
