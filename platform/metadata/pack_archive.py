"""Opening a pack archive (``.zip``, ``.tar.gz``/``.tgz``) safely.

Every member is checked before anything is written: no absolute paths, no
``..``, no links or device files, at most ``MAX_MEMBERS`` members, at most
``MAX_TOTAL_BYTES`` unpacked and a compression ratio below ``MAX_RATIO`` (a
zip bomb is refused, not unpacked). The archive holds one pack: ``pack.json``
at its root or inside one top folder.
"""

from __future__ import annotations

import contextlib
import shutil
import tarfile
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

MAX_MEMBERS = 5_000
MAX_TOTAL_BYTES = 50_000_000
MAX_RATIO = 100


class ArchiveRefused(ValueError):
    """The archive is unsafe or not a pack; the message says which member and why."""


@dataclass
class _Member:
    name: str
    size: int
    packed: int
    is_file: bool
    is_dir: bool


def is_archive(path: Path) -> bool:
    return path.is_file() and path.name.endswith((".zip", ".tar.gz", ".tgz"))


@contextlib.contextmanager
def opened(path: Path) -> Iterator[Path]:
    """Unpack ``path`` into a temporary folder and yield the pack folder inside it."""
    tmp = Path(tempfile.mkdtemp(prefix="trellis-pack-"))
    try:
        _extract(path, tmp)
        yield _pack_root(tmp, path.name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _extract(path: Path, dest: Path) -> None:
    if path.name.endswith(".zip"):
        try:
            with zipfile.ZipFile(path) as archive:
                members = [
                    _Member(i.filename, i.file_size, i.compress_size, not i.is_dir(), i.is_dir())
                    for i in archive.infolist()
                ]
                links = [i.filename for i in archive.infolist() if (i.external_attr >> 28) == 0xA]
                _check(members, path.stat().st_size, links)
                archive.extractall(dest)
        except zipfile.BadZipFile as exc:
            raise ArchiveRefused(f"{path.name} is not a readable zip file: {exc}") from None
        return
    try:
        with tarfile.open(path, "r:gz") as archive:
            infos = archive.getmembers()
            members = [_Member(i.name, i.size, 0, i.isfile(), i.isdir()) for i in infos]
            others = [i.name for i in infos if not (i.isfile() or i.isdir())]
            _check(members, path.stat().st_size, others)
            archive.extractall(dest, filter="data")
    except (tarfile.TarError, OSError) as exc:
        raise ArchiveRefused(f"{path.name} is not a readable .tar.gz file: {exc}") from None


def _check(members: list[_Member], packed_size: int, links: list[str]) -> None:
    if links:
        raise ArchiveRefused(f"{links[0]} is a link or special file; packs hold plain files only")
    if len(members) > MAX_MEMBERS:
        raise ArchiveRefused(f"the archive has {len(members)} members; at most {MAX_MEMBERS}")
    total = 0
    for member in members:
        pure = PurePosixPath(member.name.replace("\\", "/"))
        if pure.is_absolute() or ".." in pure.parts or (pure.parts and ":" in pure.parts[0]):
            raise ArchiveRefused(f"{member.name} points outside the pack folder")
        total += member.size
    if total > MAX_TOTAL_BYTES:
        raise ArchiveRefused(f"the archive unpacks to {total} bytes; at most {MAX_TOTAL_BYTES}")
    if total > MAX_RATIO * max(packed_size, 1):
        raise ArchiveRefused(
            f"the archive unpacks to {total} bytes from {packed_size}: a compression ratio "
            f"above {MAX_RATIO} is refused (it looks like a zip bomb)"
        )


def _pack_root(folder: Path, name: str) -> Path:
    if (folder / "pack.json").is_file():
        return folder
    tops = [p for p in folder.iterdir() if p.is_dir()]
    if len(tops) == 1 and (tops[0] / "pack.json").is_file():
        return tops[0]
    raise ArchiveRefused(f"{name} holds no pack.json at its root or in one top folder")
