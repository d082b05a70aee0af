"""«Абоненты» screen."""
from __future__ import annotations

from flask import Blueprint, render_template

bp = Blueprint("subscribers", __name__, url_prefix="/subscribers")


@bp.get("/")
def index():
    return render_template("section.html", title="Абоненты")
