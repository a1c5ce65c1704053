"""Configuration: defaults that work with no settings, then the instance
folder's ``trellis.cfg`` (Python ``KEY = value`` lines, as Flask reads
them), then environment variables, which win."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

CONFIG_FILE = "trellis.cfg"


def load_config(instance_path: str) -> dict[str, Any]:
    folder = Path(instance_path)
    config: dict[str, Any] = {"DATABASE_URL": f"sqlite:///{folder / 'trellis.db'}"}
    path = folder / CONFIG_FILE
    if path.is_file():
        namespace: dict[str, Any] = {}
        exec(compile(path.read_text("utf-8"), str(path), "exec"), namespace)  # admin-owned file
        config.update({k: v for k, v in namespace.items() if k.isupper()})
    if os.environ.get("TRELLIS_DATABASE_URL"):
        config["DATABASE_URL"] = os.environ["TRELLIS_DATABASE_URL"]
    if os.environ.get("TRELLIS_SECRET_KEY"):
        config["SECRET_KEY"] = os.environ["TRELLIS_SECRET_KEY"]
    if "SECRET_KEY" not in config:
        config["SECRET_KEY"] = _instance_secret(folder)
    if config["DATABASE_URL"].startswith("sqlite:///"):
        Path(config["DATABASE_URL"][len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)
    return config


def _instance_secret(folder: Path) -> str:
    """A secret kept in the instance folder, made on first start, so sessions survive restarts."""
    path = folder / "secret_key"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()
