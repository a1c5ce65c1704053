"""Fixtures for the REST API tests: the Flask app on a database with the standard CRM.

The database is prepared exactly as for the runtime tests (``tests/runtime/conftest.py``,
which ``tests/conftest.py`` loads by path: ``--import-mode=importlib`` puts no test folder
on ``sys.path``); the app then builds its own ``Runtime`` from ``DATABASE_URL``, as in production.

``api`` signs users in through ``POST /api/v1/auth/token`` and sends requests with their
token: ``api.get("/objects", as_="rep_east")``. Every response that is an error is checked to
be the JSON error shape, with no traceback, before the test sees it.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from trellis.runtime.app import create_app

_runtime = sys.modules["trellis_tests_runtime_conftest"]  # loaded by tests/conftest.py
Crm = _runtime.Crm
PASSWORD = _runtime.PASSWORD
PREFIX = "/api/v1"


def check_error_shape(response: TestResponse) -> None:
    """An error answer is JSON ``{"error": {"code", "message", "details"}}``, no traceback."""
    assert "Traceback" not in response.get_data(as_text=True)
    assert response.is_json, (response.status_code, response.get_data(as_text=True)[:300])
    body = response.get_json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert isinstance(error["code"], str) and error["code"]
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["details"], list)


class Api:
    """The test client with tokens per user and the /api/v1 prefix."""

    def __init__(self, client: FlaskClient, app: Flask):
        self.client = client
        self.app = app
        self._tokens: dict[str, str] = {}

    @property
    def runtime(self):
        return self.app.extensions["trellis"]

    def token(self, username: str) -> str:
        if username not in self._tokens:
            response = self.client.post(
                f"{PREFIX}/auth/token", json={"username": username, "password": PASSWORD}
            )
            assert response.status_code == 201, response.get_json()
            self._tokens[username] = response.get_json()["token"]
        return self._tokens[username]

    def request(
        self, method: str, path: str, *, as_: str | None = "rep_east", headers=None, **kwargs
    ) -> TestResponse:
        headers = dict(headers or {})
        if as_ is not None:
            headers.setdefault("Authorization", f"Bearer {self.token(as_)}")
        url = path if path.startswith(PREFIX) or path == "/" else PREFIX + path
        response = self.client.open(url, method=method, headers=headers, **kwargs)
        if response.status_code >= 400:
            check_error_shape(response)
        return response

    def get(self, path: str, **kwargs) -> TestResponse:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs) -> TestResponse:
        return self.request("POST", path, **kwargs)

    def patch(self, path: str, **kwargs) -> TestResponse:
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs) -> TestResponse:
        return self.request("DELETE", path, **kwargs)

    def create(self, object_name: str, data: dict[str, Any], as_: str = "rep_east") -> dict:
        response = self.post(f"/objects/{object_name}/records", json=data, as_=as_)
        assert response.status_code == 201, response.get_json()
        return response.get_json()["record"]


@pytest.fixture
def app(database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Flask]:
    _runtime.cheap_password_hashes(monkeypatch)
    # Nothing may land in the repository's instance/ folder.
    monkeypatch.setenv("TRELLIS_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setenv("TRELLIS_SECRET_KEY", "tests-only-secret")
    _runtime.prepare_database(database_url).dispose()
    flask_app = create_app({"DATABASE_URL": database_url})
    try:
        yield flask_app
    finally:
        flask_app.extensions["trellis"].dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def api(client: FlaskClient, app: Flask) -> Api:
    return Api(client, app)


@pytest.fixture
def crm(app: Flask) -> Crm:
    """Factories on the app's own runtime, for setting up data without HTTP."""
    return Crm(app.extensions["trellis"])
