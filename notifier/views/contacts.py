"""«Записная книжка клиентов» screen."""
from __future__ import annotations

from flask import Blueprint, render_template

bp = Blueprint("contacts", __name__, url_prefix="/contacts")


@bp.get("/")
def index():
    return render_template("section.html", title="Записная книжка клиентов")
