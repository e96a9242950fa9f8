"""Where necml writes: only into targets that are ours, all or nothing, and nothing left behind.

Every command that writes goes through these functions, so every command gets the same rules:

* a name that becomes a path (a pipeline's, a study's, a spec's) is one safe path component:
  never ``.``, ``..``, empty, hidden, or holding a separator (:func:`check_component`);
* ``--out`` is refused before any computation when it, or the first existing folder above it,
  is not a writable directory: a file, a device node such as ``/dev/null``, a read-only folder
  (:func:`check_output_root`); a file target must be absent or a regular file
  (:func:`check_output_file`), and a run directory that exists must be one necml wrote
  (:func:`check_run_directory`);
* files are written to a temporary sibling and renamed (:func:`atomic_write`); inside
  :func:`all_or_nothing` the renames wait until every file of the group is written, so a full
  disk or a crash half-way leaves the previous files, never a mix;
* a directory is built in a staging folder named after the process (``.NAME.necml-staging-PID-*``)
  and swapped in (:func:`publish_directory`); the next run removes the staging folders of dead
  processes and restores a previous output a killed swap left aside, and says so on stderr
  (:func:`clean_stale`);
* a directory that one process works in at a time is locked (:func:`directory_lock`), and the
  message names the process that holds it;
* sizes are checked against the memory of the machine before allocating (:func:`check_memory`).
"""

from __future__ import annotations

import contextlib
import contextvars
import fcntl
import os
import re
import shutil
import socket
import stat
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from necml.exceptions import OutputError, SizeLimitError

__all__ = [
    "pid_alive",
    "save_png",
    "STAGING_TAG",
    "all_or_nothing",
    "atomic_write",
    "available_memory",
    "check_component",
    "check_memory",
    "check_output_file",
    "check_output_root",
    "check_run_directory",
    "clean_stale",
    "directory_lock",
    "publish_directory",
    "staging_directory",
]

#: Marks a folder as a staging folder of a necml process (followed by its pid).
STAGING_TAG = ".necml-staging-"
_OLD_TAG = ".necml-old-"
_COMPONENT = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}")
_pending: contextvars.ContextVar[list[tuple[Path, Path]] | None] = contextvars.ContextVar("_pending", default=None)


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISREG, "a regular file"),
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISLNK, "a symbolic link"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISFIFO, "a named pipe"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return "a special file"


def check_component(name: str, *, field: str) -> str:
    """Check that ``name`` is one safe path component (it becomes a folder or file name).

    Parameters
    ----------
    name : str
    field : str
        Where the name comes from, for the message (e.g. ``"study config: name"``).

    Returns
    -------
    str
        ``name``.

    Raises
    ------
    OutputError
        For ``.``, ``..``, an empty or hidden name, a separator, or characters outside
        ``A-Z a-z 0-9 _ . -``.

    Examples
    --------
    >>> check_component("lcnec_power", field="name")
    'lcnec_power'
    >>> try:
    ...     check_component("..", field="name")
    ... except OutputError as e:
    ...     print(str(e)[:40])
    name: '..' is not a safe folder name (le
    """
    if not isinstance(name, str) or not _COMPONENT.fullmatch(name):
        raise OutputError(
            f"{field}: {name!r} is not a safe folder name (letters, digits, _ . -; not starting with "
            "'.' or '-'; at most 100 characters)"
        )
    return name


def _existing_ancestor(path: Path) -> Path:
    current = Path(os.path.abspath(path))
    while not os.path.lexists(current):
        current = current.parent
    return current


def check_output_root(path: str | Path, *, what: str = "--out") -> Path:
    """Refuse an output folder that is not a writable directory (or creatable as one), before computing.

    Raises
    ------
    OutputError
        ``path`` (or the first existing path above it) is not a directory, or is not writable.
    """
    path = Path(path)
    found = _existing_ancestor(path)
    mode = os.stat(found).st_mode if found.exists() else os.lstat(found).st_mode
    if not stat.S_ISDIR(mode):
        where = path if found == Path(os.path.abspath(path)) else found
        raise OutputError(f"{what} {path}: {where} is {_kind(mode)}, not a directory; choose another {what}")
    if not os.access(found, os.W_OK | os.X_OK):
        raise OutputError(f"{what} {path}: {found} is not writable (read-only folder or file system)")
    return path


def check_output_file(path: str | Path, *, what: str = "--out") -> Path:
    """Refuse a file target that exists and is not a regular file (a directory, ``/dev/null``, a pipe).

    Raises
    ------
    OutputError
    """
    path = Path(path)
    if os.path.lexists(path):
        mode = os.lstat(path).st_mode
        if not stat.S_ISREG(mode):
            raise OutputError(f"{what} {path}: is {_kind(mode)}, not a regular file; necml replaces only files")
    check_output_root(path.parent, what=what)
    return path


def check_run_directory(directory: str | Path, *, marker: str, what: str = "--out") -> Path:
    """Refuse to replace ``directory`` unless it is absent, empty, or holds necml's ``marker`` file.

    Raises
    ------
    OutputError
        ``directory`` is a file, a link, a device, or a folder necml did not write.
    """
    directory = Path(directory)
    check_output_root(directory.parent, what=what)
    if not os.path.lexists(directory):
        return directory
    mode = os.lstat(directory).st_mode
    if not stat.S_ISDIR(mode):
        raise OutputError(
            f"{what}: {directory} is {_kind(mode)}, not a run directory necml wrote; it is left as it is: "
            f"move it or choose another {what}"
        )
    if any(not e.name.startswith(".necml") for e in directory.iterdir()) and not (directory / marker).is_file():
        raise OutputError(
            f"{what}: {directory} exists and is not a directory necml wrote (no {marker}); it is left as it "
            f"is: move it or choose another {what}"
        )
    return directory


def pid_alive(pid: int) -> bool:
    """Whether a process ``pid`` exists on this machine (one we may not signal counts as alive)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _owner(entry: Path, tag: str) -> int | None:
    rest = entry.name.split(tag, 1)[1]
    head = rest.split("-", 1)[0]
    return int(head) if head.isdigit() else None


def clean_stale(parent: str | Path, name: str) -> list[str]:
    """Remove what killed necml processes left next to ``parent/name``; say so on stderr.

    A staging folder (``.NAME.necml-staging-PID-*``) of a process that no longer runs is deleted.
    A previous output set aside by a swap that was killed (``.NAME.necml-old-PID-*``) is put
    back when ``parent/name`` is missing, and deleted otherwise.

    Returns
    -------
    list of str
        One line per folder removed or restored.
    """
    parent = Path(parent)
    if not parent.is_dir():
        return []
    notes = []
    for entry in sorted(parent.glob(f".{glob_escape(name)}.necml-*")):
        for tag in (STAGING_TAG, _OLD_TAG):
            if tag not in entry.name or entry.is_symlink() or not entry.is_dir():
                continue
            pid = _owner(entry, tag)
            if pid is None or pid == os.getpid() or pid_alive(pid):
                continue
            final = parent / name
            kept = entry / name
            if tag == _OLD_TAG and kept.is_dir() and not os.path.lexists(final):
                os.replace(kept, final)
                notes.append(f"restored {final} from {entry} (a run was killed while replacing it)")
            else:
                notes.append(f"removed {entry} (left by process {pid}, which no longer runs)")
            shutil.rmtree(entry, ignore_errors=True)
    notes += _clean_legacy(parent, name)
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    return notes


_LEGACY = re.compile(r"\.(?P<name>.+?)\.(old\.)?[a-z0-9_]{8}")


def _clean_legacy(parent: Path, name: str) -> list[str]:
    """Staging folders of earlier necml versions (``.NAME.XXXXXXXX``, no pid) older than a day: from a killed run."""
    import time

    notes = []
    for entry in parent.glob(f".{glob_escape(name)}.*"):
        found = _LEGACY.fullmatch(entry.name)
        if not found or found["name"] != name or entry.is_symlink() or not entry.is_dir():
            continue
        if time.time() - entry.stat().st_mtime < 86400 or (entry / "optuna.journal").exists():
            continue
        shutil.rmtree(entry, ignore_errors=True)
        notes.append(f"removed {entry} (a staging folder an interrupted run of an older necml left)")
    return notes


def glob_escape(name: str) -> str:
    """``name`` with glob metacharacters escaped."""
    return re.sub(r"([*?\[])", r"[\1]", name)


def staging_directory(parent: str | Path, name: str) -> Path:
    """A new staging folder for ``parent/name``, after cleaning what dead processes left."""
    parent = Path(parent)
    parent.mkdir(parents=True, exist_ok=True)
    clean_stale(parent, name)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}{STAGING_TAG}{os.getpid()}-", dir=parent))
    os.chmod(staging, 0o777 & ~_umask())  # as a plain mkdir would have made it
    return staging


def _umask() -> int:
    current = os.umask(0o022)
    os.umask(current)
    return current


def publish_directory(staging: Path, final: Path) -> Path:
    """Swap the finished ``staging`` folder in as ``final`` (a previous ``final`` is removed after).

    Killed between the two renames, the previous output waits in ``.NAME.necml-old-PID-*``
    and :func:`clean_stale` puts it back.
    """
    if os.path.lexists(final):
        trash = Path(tempfile.mkdtemp(prefix=f".{final.name}{_OLD_TAG}{os.getpid()}-", dir=final.parent))
        os.replace(final, trash / final.name)
        os.replace(staging, final)
        shutil.rmtree(trash, ignore_errors=True)
    else:
        os.replace(staging, final)
    return final


def atomic_write(path: str | Path, write: Callable[[Path], None]) -> Path:
    """Write a file atomically: ``write`` fills a temporary sibling, which is then renamed.

    A failure leaves no partial file at ``path`` and no temporary file. Inside
    :func:`all_or_nothing` the rename waits for the whole group.

    Raises
    ------
    OutputError
        ``path`` exists and is not a regular file (a directory, a device such as ``/dev/null``).
    """
    path = Path(path)
    if os.path.lexists(path) and not stat.S_ISREG(os.lstat(path).st_mode):
        raise OutputError(f"{path}: is {_kind(os.lstat(path).st_mode)}, not a regular file; necml replaces only files")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp's 0600 would make every output private
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    pending = _pending.get()
    if pending is None:
        os.replace(tmp, path)
    else:
        pending.append((Path(tmp), path))
    return path


def save_png(fig: object, path: str | Path | None, *, dpi: int = 110) -> Path | None:
    """Write a matplotlib figure as a PNG atomically (see :func:`atomic_write`); nothing without a path.

    A subfigure is written as its whole figure. Returns ``path`` (None when none was given).
    """
    if path is None:
        return None
    from matplotlib.figure import SubFigure

    root = fig.figure if isinstance(fig, SubFigure) else fig
    return atomic_write(path, lambda tmp: root.savefig(tmp, format="png", dpi=dpi, bbox_inches="tight"))


@contextlib.contextmanager
def all_or_nothing() -> Iterator[None]:
    """Group :func:`atomic_write` calls: every file appears, or none changes.

    Examples
    --------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> try:
    ...     with all_or_nothing():
    ...         _ = atomic_write(d / "a.txt", lambda t: t.write_text("a"))
    ...         raise OSError("disk full")
    ... except OSError:
    ...     pass
    >>> sorted(p.name for p in d.iterdir())
    []
    """
    outer = _pending.get()
    if outer is not None:  # nested: the outermost group commits
        yield
        return
    pending: list[tuple[Path, Path]] = []
    token = _pending.set(pending)
    try:
        yield
    except BaseException:
        for tmp, _ in pending:
            tmp.unlink(missing_ok=True)
        raise
    finally:
        _pending.reset(token)
    for tmp, final in pending:
        os.replace(tmp, final)


@contextlib.contextmanager
def directory_lock(directory: str | Path, *, what: str) -> Iterator[None]:
    """Hold an exclusive lock on ``directory`` (``.necml.lock`` inside it) while the block runs.

    Raises
    ------
    OutputError
        Another process holds the lock; the message names its pid and host.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    lock = directory / ".necml.lock"
    handle = open(lock, "a+", encoding="utf-8")  # noqa: SIM115 - closed in finally
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise OutputError(
                f"{directory}: {what} is in use by {holder}; wait for it to finish, or stop it first"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"process {os.getpid()} on {socket.gethostname()}")
        handle.flush()
        _HELD_LOCKS.add(handle.fileno())
        yield
    finally:
        _HELD_LOCKS.discard(handle.fileno())
        handle.close()


#: Descriptors of the directory locks this process holds (see :func:`release_inherited_locks`).
_HELD_LOCKS: set[int] = set()


def release_inherited_locks() -> None:
    """In a forked child: close the copies of the parent's directory-lock descriptors.

    An ``flock`` lasts while any descriptor of its open file does, so a child that kept them would
    hold the parent's lock after the parent died (and refuse ``--resume``). The parent's own
    descriptors, and its lock, are untouched.
    """
    for fd in list(_HELD_LOCKS):
        try:
            os.close(fd)
        except OSError:
            pass
    _HELD_LOCKS.clear()


def available_memory() -> int:
    """Bytes of memory available now (``MemAvailable``; physical memory where that is unknown)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def check_memory(what: str, count: float, bytes_each: float, *, share: float = 0.8) -> None:
    """Refuse a size whose memory (``count * bytes_each``) exceeds ``share`` of the available memory.

    Raises
    ------
    SizeLimitError
        With the size, the memory it needs and the memory there is.

    Examples
    --------
    >>> check_memory("--n", 100, 1000)
    """
    needed = float(count) * float(bytes_each)
    have = available_memory()
    if needed > share * have:
        raise SizeLimitError(
            f"{what} = {count:.6g} needs about {_bytes(needed)} of memory, but {_bytes(have)} are available; "
            "use a smaller value"
        )


def _bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024:
            return f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"
