"""Configuration: defaults that work with no settings, then the instance
folder's ``trellis.cfg`` (``KEY = value`` lines, read by Flask's
``Config.from_pyfile``), then environment variables, which win.

- ``TRELLIS_DATABASE_URL``: SQLite file in the instance folder by default;
  ``postgresql://user@host/db`` for production.
- ``TRELLIS_SECRET_KEY``: otherwise a random key kept in the instance folder.
- ``TRELLIS_INSTANCE_PATH``: where the instance folder is (default ``./instance``).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from flask import Config

CONFIG_FILE = "trellis.cfg"


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
    if config["DATABASE_URL"].startswith("sqlite:///"):
        Path(config["DATABASE_URL"][len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)
    return dict(config)


def _instance_secret(folder: Path) -> str:
    """A secret kept in the instance folder, made on first start, so sessions survive restarts."""
    path = folder / "secret_key"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()
