"""Reading the pager's links (templates/_pager.html) out of a rendered list, to follow them as a browser would."""
from __future__ import annotations

import html as html_lib
import re


def page_link(html: str, rel: str = "next") -> str:
    """The href of the «rel» page link; its hx-get, if any, is the same address."""
    tag = re.search(rf'<a class="button small-button" rel="{rel}"[^>]*>', html)
    assert tag, f"no {rel} page link"
    href = html_lib.unescape(re.search(r' href="([^"]*)"', tag.group(0)).group(1))
    hx_get = re.search(r' hx-get="([^"]*)"', tag.group(0))
    assert hx_get is None or html_lib.unescape(hx_get.group(1)) == href
    return href
