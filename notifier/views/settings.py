"""«Настройки» screen."""
from __future__ import annotations

from flask import Blueprint, render_template

bp = Blueprint("settings", __name__, url_prefix="/settings")


@bp.get("/")
def index():
    return render_template("section.html", title="Настройки")
