"""notifier.web.htmx: what an htmx request asks for, the headers of the answer, and Vary."""
import json

import pytest

from notifier.web import htmx

LIST = {"HX-Request": "true", "HX-Target": "contact-results", "HX-Trigger": "contact-q"}


@pytest.mark.parametrize("headers, is_request, target, triggered_by", [
    ({}, False, None, None),
    ({"HX-Target": "contact-results"}, False, None, None),  # not sent by htmx
    ({"HX-Request": "true"}, True, None, None),
    (LIST, True, "contact-results", "contact-q"),
    ({**LIST, "HX-Boosted": "true"}, True, "contact-results", "contact-q"),  # nothing is boosted: ignored
    ({**LIST, "HX-History-Restore-Request": "true"}, False, None, None),  # a restore wants the whole page
])
def test_what_the_request_asks_for(app, headers, is_request, target, triggered_by):
    with app.test_request_context("/contacts/", headers=headers):
        assert (htmx.is_request(), htmx.target(), htmx.triggered_by()) == (is_request, target, triggered_by)


def test_answer_headers():
    assert htmx.headers() == {}
    assert htmx.headers(trigger="telegram-link-changed") == {"HX-Trigger": "telegram-link-changed"}
    out = htmx.headers(trigger={"rules-changed": {"message": "Правило «А» удалено."}, "rule-dialog-close": True},
                       reswap="none", push_url="/log/?caller=101", redirect="/login")
    assert json.loads(out["HX-Trigger"]) == {"rules-changed": {"message": "Правило «А» удалено."},
                                             "rule-dialog-close": True}
    out["HX-Trigger"].encode("latin-1")  # a header value: ASCII JSON
    assert (out["HX-Reswap"], out["HX-Push-Url"], out["HX-Redirect"]) == ("none", "/log/?caller=101", "/login")


def test_partial_answers_vary_on_the_headers_they_read(auth_client):
    resp = auth_client.get("/contacts/", headers=LIST)
    assert resp.get_data(as_text=True).lstrip().startswith('<div id="contact-results"')
    assert {"HX-Request", "HX-Target", "HX-History-Restore-Request"} <= set(resp.vary)
    assert "HX-Request" in auth_client.get("/contacts/").vary


def test_logged_out_htmx_request_is_sent_to_the_login_page(client):
    resp = client.get("/contacts/?page=2", headers=LIST)
    assert resp.status_code == 401 and resp.headers["HX-Redirect"].startswith("/login?next=")
    # A history restore swaps in whatever page comes back: the login page.
    restore = client.get("/contacts/", headers={**LIST, "HX-History-Restore-Request": "true"})
    assert restore.status_code == 302 and "/login" in restore.location
