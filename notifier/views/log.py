"""«Журнал» screen."""
from __future__ import annotations

from flask import Blueprint, render_template

bp = Blueprint("log", __name__, url_prefix="/log")


@bp.get("/")
def index():
    return render_template("section.html", title="Журнал")
