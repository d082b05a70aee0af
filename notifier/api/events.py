"""/api/v1/events: the PBX webhook (events.md). Signed, so no bearer token."""
from flask import jsonify, request

from .. import intake
from . import bp, token_exempt


@bp.post("/events")
@token_exempt
def receive_event():
    answer = intake.receive(request)
    return jsonify(answer.body), answer.status
