"""The recording URL judge: where the client connects, and whether that is on the list."""
import pytest
import requests

from notifier.core.recording_url import NOT_LISTED, NOT_PLAIN, Origin, listed, origin, refusal

HOSTS = ["allowed.example", "files.example:8443", "10.0.0.5", "[fd00::5]:8080", "Upper.Example"]


@pytest.mark.parametrize("url, expected", [
    ("http://allowed.example/x.ogg", Origin("http", "allowed.example", 80)),
    ("https://allowed.example/x.ogg", Origin("https", "allowed.example", 443)),
    ("HTTP://Allowed.Example:8080/a?b#c", Origin("http", "allowed.example", 8080)),
    ("http://allowed.example", Origin("http", "allowed.example", 80)),
    ("http://allowed.example?x=@127.0.0.1", Origin("http", "allowed.example", 80)),
    ("http://allowed.example#@127.0.0.1", Origin("http", "allowed.example", 80)),
    ("http://allowed.example/%5C@127.0.0.1/", Origin("http", "allowed.example", 80)),
    ("http://pbx_1.office.example/x", Origin("http", "pbx_1.office.example", 80)),
    ("http://10.0.0.5:8080/x", Origin("http", "10.0.0.5", 8080)),
    ("http://[::1]:8080/x", Origin("http", "[::1]", 8080)),
    ("http://1.2.3.example/x", Origin("http", "1.2.3.example", 80)),
    # the attacks: another host behind user info, a backslash or an encoding
    ("http://127.0.0.1:8398\\@allowed.example/x", None),
    ("http://127.0.0.1:8398%5C@allowed.example/x", None),
    ("http://allowed.example\\@127.0.0.1/x", None),
    ("http://user@allowed.example/x", None),
    ("http://user:pw@allowed.example/x", None),
    ("http://@allowed.example/x", None),
    ("http://allowed.example/a\\b", None),
    ("http://allowed%2eexample/x", None),
    ("http://allowed.example%00.evil/x", None),
    # non-canonical hosts and ports
    ("http://allowed.example./x", None),
    ("http://allowed..example/x", None),
    ("http://-allowed.example/x", None),
    ("http://allowed.example:/x", None),
    ("http://allowed.example:0080/x", None),
    ("http://allowed.example:0/x", None),
    ("http://allowed.example:65536/x", None),
    ("http://allowed.example:99999/x", None),
    ("http://allowed.example:80:80/x", None),
    ("http://127.1/x", None),
    ("http://2130706433/x", None),
    ("http://0x7f.0.0.1/x", None),
    ("http://0177.0.0.1/x", None),
    ("http://127.000.000.001/x", None),
    ("http://[::ffff:127.0.0.1]/x", None),
    ("http://[0:0:0:0:0:0:0:1]/x", None),
    ("http://[fe80::1%25eth0]/x", None),
    ("http://[::1/x", None),
    ("http://a" + "a" * 63 + ".example/x", None),
    # IDNA, whitespace, controls
    ("http://аllowed.example/x", None),            # Cyrillic а
    ("http://ａllowed.example/x", None),           # full-width
    ("http://xn--llowed-3ve.example/x", Origin("http", "xn--llowed-3ve.example", 80)),
    (" http://allowed.example/x", None),
    ("http://allowed.example/x y", None),
    ("http://allowed.example\t/x", None),
    ("http://allowed.example/x\n", None),
    # not http(s), no host
    ("ftp://allowed.example/x", None),
    ("file:///etc/passwd", None),
    ("//allowed.example/x", None),
    ("http:///x", None),
    ("http:allowed.example/x", None),
    ("https:/allowed.example/x", None),
    ("", None),
    (None, None),
    ("http://allowed.example/" + "a" * 2100, None),
])
def test_origin(url, expected):
    assert origin(url) == expected


@pytest.mark.parametrize("target, ok", [
    (Origin("http", "allowed.example", 80), True),
    (Origin("https", "allowed.example", 443), True),
    (Origin("http", "allowed.example", 443), False),       # a listed host means its scheme's default port
    (Origin("http", "allowed.example", 8080), False),
    (Origin("https", "files.example", 8443), True),
    (Origin("http", "files.example", 8443), True),
    (Origin("https", "files.example", 443), False),
    (Origin("http", "10.0.0.5", 80), True),
    (Origin("http", "10.0.0.50", 80), False),
    (Origin("http", "[fd00::5]", 8080), True),
    (Origin("http", "[fd00::5]", 80), False),
    (Origin("http", "upper.example", 80), True),
    (Origin("http", "sub.allowed.example", 80), False),
    (Origin("http", "example", 80), False),
])
def test_listed(target, ok):
    assert listed(target, HOSTS) is ok


def test_unusable_list_entries_match_nothing():
    assert not listed(Origin("http", "a.example", 80), ["a.example:", "a.example:0080", "user@a.example", ""])


@pytest.mark.parametrize("url, reason", [
    ("https://allowed.example/vm/1.ogg", None),
    ("https://files.example:8443/vm/1.ogg", None),
    ("http://127.0.0.1:8398\\@allowed.example/x", NOT_PLAIN),
    ("http://allowed.example:8398/x", NOT_LISTED),
    ("http://other.example/x", NOT_LISTED),
    ("ftp://allowed.example/x", NOT_PLAIN),
])
def test_refusal(url, reason):
    assert refusal(url, HOSTS) == reason


@pytest.mark.parametrize("url", [
    "http://allowed.example/x.ogg", "HTTP://Allowed.Example:8080/a?b#c", "http://[::1]:8080/x",
    "http://allowed.example/%5C@127.0.0.1/", "http://allowed.example?x=@127.0.0.1",
])
def test_what_requests_will_connect_to_agrees(url):
    """The prepared URL (requests connects by it) has the same origin as the URL judged."""
    assert origin(requests.Request("GET", url).prepare().url) == origin(url) is not None
