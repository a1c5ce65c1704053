"""Fixtures for the page tests: the API tests' app on a fresh database, and ``pages``.

``pages`` is the Flask test client with a cookie jar per user: ``pages.sign_in("rep_east")``
signs in through the real form (with its CSRF token), and ``pages.post(url, data)`` sends a
form with the token the last page carried, like a browser. CSRF protection stays on.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from html import unescape
from pathlib import Path

import pytest
from flask import Flask
from werkzeug.test import TestResponse


def _api_conftest():
    name = "trellis_tests_api_conftest"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            name, Path(__file__).parent.parent / "api" / "conftest.py"
        )
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


_api = _api_conftest()
app = _api.app
client = _api.client
api = _api.api
crm = _api.crm
PASSWORD = _api.PASSWORD

_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


class Pages:
    """A browser-like client: signs in through the form and posts forms with their token."""

    PASSWORD = PASSWORD

    def __init__(self, app: Flask):
        self.app = app
        self.client = app.test_client()
        self.token: str | None = None

    @property
    def runtime(self):
        return self.app.extensions["trellis"]

    def get(self, url: str, **kwargs) -> TestResponse:
        response = self.client.get(url, **kwargs)
        self._remember_token(response)
        return response

    def post(self, url: str, data: dict | None = None, **kwargs) -> TestResponse:
        if self.token is None:
            self.get("/sign-in")
        form = {"csrf_token": self.token, **(data or {})}
        response = self.client.post(url, data=form, **kwargs)
        self._remember_token(response)
        return response

    def sign_in(self, username: str, password: str = PASSWORD) -> TestResponse:
        self.get("/sign-in")
        response = self.post("/sign-in", {"username": username, "password": password})
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        # Signing in starts a new session (and CSRF token): land on the page, as a browser does.
        self.get(response.headers["Location"])
        return response

    def _remember_token(self, response: TestResponse) -> None:
        if response.mimetype == "text/html":
            found = _TOKEN.search(response.get_data(as_text=True))
            if found:
                self.token = unescape(found.group(1))


@pytest.fixture
def pages(app: Flask) -> Pages:
    return Pages(app)


@pytest.fixture
def signed_in(pages: Pages) -> Pages:
    """``pages`` signed in as rep_east (a sales rep in the east region)."""
    pages.sign_in("rep_east")
    return pages
