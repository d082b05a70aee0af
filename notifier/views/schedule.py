"""«Рабочее время» screen."""
from __future__ import annotations

from flask import Blueprint, render_template

bp = Blueprint("schedule", __name__, url_prefix="/schedule")


@bp.get("/")
def index():
    return render_template("section.html", title="Рабочее время")
