"""A small stand-in for 3CX's CRM template engine, to turn the template the app
ships into the HTTP requests 3CX makes from it.

It does what the template uses of the engine, as the format is documented
(https://www.3cx.com/docs/server-side-crm-template-xml-description/, sections
"Parameters element", "Authentication element", "Request element",
"Expressions", "Call Journaling"): parameters' defaults as variables,
``[Name]`` substitution, ``Passes`` (how often a value is evaluated), method
invocation ``[[CallStartTimeUTC].ToString("yyyy-MM-ddTHH:mm:ssZ")]`` for
that one format, Basic authentication from ``<Authentication Type="Basic">``,
``<PostValues>`` as a JSON object. A variable the call does not set stays as
``[Name]``, the way the engine leaves unknown variables (which is what
the adapter must survive).

    req = ReportCall(template_xml, CallType="Missed", Number="+79023855270", Agent="102", ...)
    client.post(req.path, json=req.body, headers=req.headers)
"""
from __future__ import annotations

import base64
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote, urlsplit

_VAR = re.compile(r"\[([A-Za-z][A-Za-z0-9]*)\]")
_TO_STRING = re.compile(r'\[\[([A-Za-z]+)\]\.ToString\("([^"]*)"\)\]')
_NET_FORMATS = {"yyyy-MM-ddTHH:mm:ssZ": "%Y-%m-%dT%H:%M:%SZ"}


@dataclass
class Request:
    method: str
    url: str
    headers: dict
    body: dict | None

    @property
    def path(self) -> str:
        """The URL without scheme and host, for a Flask test client."""
        parts = urlsplit(self.url)
        return parts.path + (f"?{parts.query}" if parts.query else "")


def _expand(text: str, variables: dict, passes: int) -> str:
    for _ in range(passes):
        def call(m):
            value = variables.get(m.group(1))
            if not isinstance(value, datetime):
                return m.group(0)
            return value.strftime(_NET_FORMATS[m.group(2)])

        text = _TO_STRING.sub(call, text)
        text = _VAR.sub(lambda m: str(variables[m.group(1)]) if m.group(1) in variables
                        and not isinstance(variables[m.group(1)], datetime) else m.group(0), text)
    return text


class Engine:
    def __init__(self, template_xml: str):
        self.root = ET.fromstring(template_xml.encode("utf-8"))
        self.parameters = {p.get("Name"): p.get("Default") or "" for p in self.root.iter("Parameter")}

    def _scenario(self, scenario_id: str) -> ET.Element:
        for scenario in self.root.iter("Scenario"):
            if (scenario.get("Id") or "") == scenario_id:
                return scenario
        raise KeyError(scenario_id)

    def _headers(self, variables: dict) -> dict:
        auth = self.root.find("Authentication")
        if auth is None or auth.get("Type") != "Basic":
            return {}
        credentials = _expand(auth.find("Value").text, variables, 1)
        return {"Authorization": "Basic " + base64.b64encode(credentials.encode()).decode()}

    def request(self, scenario_id: str, **call) -> Request:
        """The request 3CX makes for a scenario, given the call's predefined variables."""
        variables = {**self.parameters, **call}
        req = self._scenario(scenario_id).find("Request")
        url_vars = {k: (quote(str(v), safe="") if k not in self.parameters and not isinstance(v, datetime) else v)
                    for k, v in variables.items()}
        url = _expand(req.get("Url"), url_vars, 1)
        body = None
        post = req.find("PostValues")
        if post is not None:
            body = {v.get("Key"): _expand(v.text or "", variables, int(v.get("Passes") or 0))
                    for v in post.findall("Value")}
        headers = self._headers(variables)
        if req.get("RequestContentType"):
            headers["Content-Type"] = req.get("RequestContentType")
        return Request(req.get("RequestType").upper(), url, headers, body)


def report_call(template_xml: str, **call) -> Request:
    return Engine(template_xml).request("ReportCall", **call)


def lookup(template_xml: str, number: str) -> Request:
    return Engine(template_xml).request("", Number=number)
