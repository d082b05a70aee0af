"""Bearer-token authentication of the JSON API."""
import pytest

from notifier.extensions import db
from notifier.models import ApiToken, utcnow
from notifier.web.security import token_digest


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer wrong-token", "Basic dXNlcjpwYXNz", "bearer "])
def test_missing_or_wrong_token_is_401(client, header):
    headers = {"Authorization": header} if header else {}
    resp = client.get("/api/v1/status", headers=headers)
    assert resp.status_code == 401
    assert "error" in resp.get_json()
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")


def test_environment_token(client, api_headers):
    assert client.get("/api/v1/status", headers=api_headers).get_json() == {"status": "ok"}


def test_ui_created_token_and_revocation(app, client):
    row = ApiToken(name="provisioning", token_hash=token_digest("ui-token-abc"), prefix="ui-tok")
    db.session.add(row)
    db.session.commit()
    row_id = row.id
    headers = {"Authorization": "Bearer ui-token-abc"}
    assert client.get("/api/v1/status", headers=headers).status_code == 200
    row = db.session.get(ApiToken, row_id)
    assert row.last_used_at is not None
    row.revoked_at = utcnow()
    db.session.commit()
    assert client.get("/api/v1/status", headers=headers).status_code == 401


def test_api_is_csrf_exempt_but_ui_is_not(client, api_headers):
    # A POST to an unknown API path is a JSON 404, not a CSRF 400.
    resp = client.post("/api/v1/nothing-here", headers=api_headers, json={})
    assert resp.status_code == 404 and resp.is_json


def test_api_errors_are_json(client, api_headers):
    resp = client.delete("/api/v1/status", headers=api_headers)
    assert resp.status_code == 405 and resp.is_json
