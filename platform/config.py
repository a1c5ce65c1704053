"""Configuration: defaults that work with no settings, then the instance
folder's ``trellis.cfg`` (``KEY = value`` lines, read by Flask's
``Config.from_pyfile``), then environment variables, which win.

- ``TRELLIS_DATABASE_URL``: SQLite file in the instance folder by default;
  ``postgresql://user@host/db`` for production.
- ``TRELLIS_SECRET_KEY``: otherwise a random key kept in the instance folder.
- ``TRELLIS_INSTANCE_PATH``: where the instance folder is (default ``./instance``).

Deliveries of the flow engine (read by the worker, see ``trellis.flows.delivery``):

- ``SMTP_HOST`` / ``TRELLIS_SMTP_HOST``: mail server; unset, email notifications
  are skipped (the job ends done with a note). ``SMTP_PORT`` (25),
  ``SMTP_FROM`` (``Trellis <trellis@localhost>``), ``SMTP_USER``,
  ``SMTP_PASSWORD``, ``SMTP_STARTTLS`` (``true``/``false``, default false),
  each also as ``TRELLIS_<KEY>``.
- ``WECOM_ROBOTS``: ``{"sales": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=..."}``,
  the WeCom group robots a notify action names; ``TRELLIS_WECOM_ROBOTS`` as JSON.
- ``WEBHOOK_SECRETS``: ``{"erp": "..."}``, the secrets outbound webhooks are signed
  with, by name; ``TRELLIS_WEBHOOK_SECRETS`` as JSON.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any

from flask import Config

CONFIG_FILE = "trellis.cfg"

#: The keys the flow engine reads (``FlowEngine.config``), with their defaults.
FLOW_DEFAULTS: dict[str, Any] = {
    "SMTP_HOST": None,
    "SMTP_PORT": 25,
    "SMTP_FROM": "Trellis <trellis@localhost>",
    "SMTP_USER": None,
    "SMTP_PASSWORD": None,
    "SMTP_STARTTLS": False,
    "WECOM_ROBOTS": {},
    "WEBHOOK_SECRETS": {},
}
_JSON_KEYS = {"WECOM_ROBOTS": "{name: url}", "WEBHOOK_SECRETS": "{name: secret}"}


def instance_path(default: str) -> str:
    return os.environ.get("TRELLIS_INSTANCE_PATH") or default


def load_config(instance_folder: str) -> dict[str, Any]:
    folder = Path(instance_folder)
    config = Config(str(folder))
    config["DATABASE_URL"] = f"sqlite:///{folder / 'trellis.db'}"
    config.from_pyfile(CONFIG_FILE, silent=True)
    if os.environ.get("TRELLIS_DATABASE_URL"):
        config["DATABASE_URL"] = os.environ["TRELLIS_DATABASE_URL"]
    if os.environ.get("TRELLIS_SECRET_KEY"):
        config["SECRET_KEY"] = os.environ["TRELLIS_SECRET_KEY"]
    if "SECRET_KEY" not in config:
        config["SECRET_KEY"] = _instance_secret(folder)
    _read_flow_settings(config)
    if config["DATABASE_URL"].startswith("sqlite:///"):
        Path(config["DATABASE_URL"][len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)
    return dict(config)


def _read_flow_settings(config: dict[str, Any]) -> None:
    """Delivery settings from ``TRELLIS_<KEY>`` variables (they win), checked and typed."""
    for key, default in FLOW_DEFAULTS.items():
        raw = os.environ.get(f"TRELLIS_{key}")
        if raw:  # an empty variable means "not set"
            config[key] = _parse_env(key, raw)
        config.setdefault(key, default)
    try:
        config["SMTP_PORT"] = int(config["SMTP_PORT"])
    except (TypeError, ValueError):
        raise ValueError(f"SMTP_PORT must be a port number, not {config['SMTP_PORT']!r}") from None
    for key, shape in _JSON_KEYS.items():
        value = config[key]
        if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        ):
            raise ValueError(f"{key} must map names to text, {shape}")


def _parse_env(key: str, raw: str) -> Any:
    if key in _JSON_KEYS:
        try:
            return json.loads(raw)
        except json.JSONDecodeError:
            raise ValueError(
                f"TRELLIS_{key} must be a JSON object {_JSON_KEYS[key]}, "
                f'e.g. \'{{"sales": "..."}}\''
            ) from None
    if key == "SMTP_STARTTLS":
        if raw.strip().lower() not in ("true", "false", "1", "0", "yes", "no", ""):
            raise ValueError("TRELLIS_SMTP_STARTTLS must be true or false")
        return raw.strip().lower() in ("true", "1", "yes")
    return raw


def flow_settings(config: dict[str, Any]) -> dict[str, Any]:
    """The part of the app's configuration the flow engine reads (``FlowEngine.config``)."""
    return {key: config.get(key, default) for key, default in FLOW_DEFAULTS.items()}


def _instance_secret(folder: Path) -> str:
    """A secret kept in the instance folder, made on first start, so sessions survive restarts."""
    path = folder / "secret_key"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()
