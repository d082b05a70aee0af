"""/api/v1/events: the PBX webhook (events.md). Signed, so no bearer token."""
import json

from flask import current_app, request

from notifier.api import bp, token_exempt
from notifier.pipeline import intake


@bp.post("/events")
@token_exempt
def receive_event():
    answer = intake.receive(request)
    # What jsonify writes (compact, sorted, ASCII), without its per-call lookups.
    body = json.dumps(answer.body, separators=(",", ":"), sort_keys=True) + "\n"
    return current_app.response_class(body, answer.status, mimetype="application/json")
