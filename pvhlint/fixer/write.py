"""Stage 5, write: kernels written safely (`fix`, `extract`): no partial file, no symlink
followed late, no lost update.

The file `fix` edits is opened once, through its directory's descriptor and without
following a link at the last step (a link the user names is resolved once, up front); it
holds an advisory lock while pvhlint works, and is replaced only if its name still holds
the same unchanged file. Every new file is written beside its destination, fsynced and
renamed over it (a rename replaces a name; it never follows a link planted there), so a
failure or an interrupt leaves the destination byte-identical and no temporary file.
"""

from __future__ import annotations

import array
import contextlib
import errno
import fcntl
import os
import re
import secrets
import signal
import stat
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ImageError, UsageError

if TYPE_CHECKING:
    from .request import FixRequest

TEMPORARY_SUFFIX = ".pvhlint"
Data = bytes | bytearray | Iterable[bytes]  # the whole, or its pieces in order


@dataclass
class Opened:
    """A file opened for editing: its folder's descriptor and its name there, a descriptor
    holding the lock, and its status when it was read."""

    path: Path  # as the user named it
    folder: int
    name: str
    handle: int
    info: os.stat_result

    def close(self) -> None:
        os.close(self.handle)
        os.close(self.folder)

    def __enter__(self) -> Opened:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass
class Target:
    """The file a fix edits, opened and locked (`opened`) and read once (`original`),
    whether the fix replaces it (`in_place`), and `notes` for the user on the temporary
    files of interrupted runs found beside it."""

    opened: Opened
    original: bytes
    in_place: bool
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Written:
    """The write stage's value: where the fix was written, the backup kept, and `notes`."""

    path: Path
    backup: Path | None = None
    notes: tuple[str, ...] = ()


@contextlib.contextmanager
def open_target(request: FixRequest) -> Iterator[Target]:
    """The request's file, held (locked, unless a dry run) while the fix is worked out;
    refused early, nothing done, when it could not be written in the end."""
    in_place = request.output is None or _same_file(request.output, request.path)
    if request.backup and not in_place:
        raise UsageError("--backup keeps the original of an in-place fix; with -o the input "
                         "is left as it is (drop --backup)")  # fmt: skip
    with open_locked(request.path, lock=not request.dry_run) as opened:
        if not request.dry_run and in_place:
            writable(opened.path, opened.info, opened.folder, opened.name)
            if request.backup:
                backup_free(request.path)
        original = read_all(opened)
        stale = stale_temporaries(opened, remove=not request.dry_run)
        verb = "left" if request.dry_run else "removed"
        notes = [f"{verb} {name}: a temporary file of an interrupted pvhlint run"
                 for name in stale]  # fmt: skip
        yield Target(opened, original, in_place, notes)


def write(target: Target, data: Data, request: FixRequest) -> Written:
    """`data` over the target (kept as NAME.orig with --backup), or to `request.output`."""
    opened = target.opened
    if not target.in_place:
        assert request.output is not None
        replaced = write_new(request.output, data, like=request.path)
        notes = (f"replaced the existing file {request.output}",) if replaced else ()
        return Written(request.output, None, notes)
    backup = create_backup(opened, target.original) if request.backup else None
    replace_opened(opened, data)
    links = opened.info.st_nlink - 1
    notes = (f"its {links} other hard link(s) keep the old bytes: the fixed kernel is a new "
             "file under this name",) if links else ()  # fmt: skip
    return Written(request.path, backup, notes)


def _same_file(output: Path, path: Path) -> bool:
    try:
        return os.path.samefile(output, path)
    except OSError:
        return False


def open_locked(path: Path, *, lock: bool) -> Opened:
    """Open `path` for an edit (ImageError when it cannot be read); with `lock`, take an
    exclusive advisory lock (OSError when another run holds it)."""
    resolved = Path(os.path.realpath(path))
    try:
        folder = os.open(resolved.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except FileNotFoundError:
        raise ImageError(str(path), "no such file") from None
    try:
        flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
        handle = os.open(resolved.name, flags, dir_fd=folder)
    except BaseException as exc:
        os.close(folder)
        raise _read_error(path, exc) from None
    opened = Opened(path, folder, resolved.name, handle, os.fstat(handle))
    try:
        _check_readable(opened)
        if lock:
            _lock(opened)
    except BaseException:
        opened.close()
        raise
    return opened


def _read_error(path: Path, exc: BaseException) -> BaseException:
    if isinstance(exc, FileNotFoundError):
        return ImageError(str(path), "no such file")
    if isinstance(exc, PermissionError):
        return ImageError(str(path), "permission denied")
    if isinstance(exc, OSError) and exc.errno == errno.ELOOP:
        return ImageError(str(path), "was replaced by a symbolic link while it was opened")
    if isinstance(exc, OSError):
        return ImageError(str(path), f"cannot read: {exc.strerror or exc}")
    return exc


def _check_readable(opened: Opened) -> None:
    mode = opened.info.st_mode
    if stat.S_ISDIR(mode):
        raise ImageError(str(opened.path), "is a directory, not a kernel image")
    if not stat.S_ISREG(mode):
        raise ImageError(str(opened.path), "is not a regular file")
    if opened.info.st_size == 0:
        raise ImageError(str(opened.path), "empty file")


def _lock(opened: Opened) -> None:
    try:
        fcntl.flock(opened.handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise OSError(errno.EWOULDBLOCK, "another pvhlint fix holds its lock (it is being "
                      "edited right now); nothing written", str(opened.path)) from None  # fmt: skip


def read_all(opened: Opened) -> bytes:
    """The whole file, read (not mapped: a file truncated meanwhile must not SIGBUS)."""
    chunks, offset = [], 0
    while True:
        chunk = os.pread(opened.handle, 1 << 24, offset)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        offset += len(chunk)


def replace_opened(opened: Opened, data: Data) -> None:
    """Replace the opened file by `data`, keeping its mode, owner and times; OSError, and
    nothing written, when its name no longer holds the file that was read, unchanged."""
    writable(opened.path, opened.info, opened.folder, opened.name)
    try:
        now = os.stat(opened.name, dir_fd=opened.folder, follow_symlinks=False)
    except FileNotFoundError:
        now = None
    was = opened.info
    if now is None or (now.st_dev, now.st_ino) != (was.st_dev, was.st_ino):
        raise OSError(errno.ESTALE, "was replaced by another file or a link while pvhlint "
                      "worked; nothing written", str(opened.path))  # fmt: skip
    if (now.st_size, now.st_mtime_ns, now.st_ctime_ns) != (
        was.st_size, was.st_mtime_ns, was.st_ctime_ns):  # fmt: skip
        raise OSError(errno.ESTALE, "changed while pvhlint worked (another program wrote "
                      "to it); nothing written", str(opened.path))  # fmt: skip
    _replace(opened.folder, opened.name, data, was, keep_times=True,
             attributes=read_attributes(opened.handle, opened.path))  # fmt: skip


def create_backup(opened: Opened, data: Data) -> Path:
    """NAME.orig beside the file: `data` with its mode, owner and times. Never replaces
    anything (an existing NAME.orig, or a link planted there, is an OSError)."""
    name = opened.name + ".orig"
    with _terminate_cleanly():
        _create_backup_now(opened, name, data)
    _sync_directory(opened.folder)
    return opened.path.with_name(opened.path.name + ".orig")


def _create_backup_now(opened: Opened, name: str, data: Data) -> None:
    temporary, handle = _create_temporary(opened.folder, name)
    try:
        try:
            _write_all(handle, data)
            _copy_metadata(handle, opened.info, keep_times=True,
                           attributes=read_attributes(opened.handle, opened.path))  # fmt: skip
            os.fsync(handle)
        finally:
            os.close(handle)
        os.link(temporary, name, src_dir_fd=opened.folder, dst_dir_fd=opened.folder,
                follow_symlinks=False)  # fmt: skip
    except FileExistsError:
        raise OSError(
            errno.EEXIST,
            f"{name} exists already: move it away first (pvhlint "
            "never overwrites a backup); nothing written",
            str(opened.path),
        ) from None
    finally:
        os.unlink(temporary, dir_fd=opened.folder)


def backup_free(path: Path) -> None:
    """Refuse early (before the work) when PATH.orig exists, as a file or a link."""
    backup = path.with_name(path.name + ".orig")
    if os.path.lexists(backup):
        raise OSError(errno.EEXIST, f"{backup} exists already: move it away first (pvhlint "
                      "never overwrites a backup); nothing written", str(path))  # fmt: skip


def write_new(destination: Path, data: Data, like: Path | None = None) -> bool:
    """Write `data` to `destination` (an output the user named): a symbolic link there is
    refused, an existing file replaced keeping its mode, owner and times, a new file gets
    `like`'s mode (else 0666 less the umask). True when a file was replaced."""
    if destination.is_symlink():
        raise OSError(errno.ELOOP, "is a symbolic link: pvhlint does not write through a "
                      "link; name the file itself", str(destination))  # fmt: skip
    folder_path = destination.parent
    try:
        folder = os.open(folder_path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except (FileNotFoundError, NotADirectoryError):
        raise FileNotFoundError(errno.ENOENT, "its directory does not exist",
                                str(destination)) from None  # fmt: skip
    try:
        try:
            current = os.stat(destination.name, dir_fd=folder, follow_symlinks=False)
        except FileNotFoundError:
            current = None
        writable(destination, current, folder, destination.name)
        if current is not None:
            _replace(folder, destination.name, data, current, keep_times=True,
                     attributes=_attributes_of(folder, destination))  # fmt: skip
        else:
            source = _stat_or_none(like) if like is not None else None
            _replace(folder, destination.name, data, source, keep_times=False)
    finally:
        os.close(folder)
    return current is not None


def write_atomically(destination: Path, data: Data, like: Path | None = None) -> None:
    """`write_new` for a destination that may be a link the caller chose to follow."""
    write_new(Path(os.path.realpath(destination)), data, like)


def writable(path: Path, current: os.stat_result | None, folder: int, name: str) -> None:
    """OSError, before anything is written, when `name` in `folder` may not be replaced.
    The mode bits decide, for root too: replacing by rename would otherwise overwrite a
    read-only file, or write into a read-only directory."""
    if current is not None and stat.S_ISLNK(current.st_mode):
        raise OSError(errno.ELOOP, "is a symbolic link: pvhlint does not write through a link",
                      str(path))  # fmt: skip
    if current is not None and not stat.S_ISREG(current.st_mode):
        raise OSError(errno.EINVAL, "is not a regular file", str(path))
    if current is not None:
        why = _why_not_writable(current, folder, name)
        if why:
            raise PermissionError(errno.EACCES, why, str(path))
    why = _why_not_writable(os.fstat(folder), folder, ".")
    if why:
        raise PermissionError(errno.EACCES, f"its directory {path.parent} {why.split(':')[0]}: "
                              "the new file is written beside it first", str(path))  # fmt: skip


FS_IOC_GETFLAGS = 0x80086601  # linux/fs.h
FS_IMMUTABLE_FL, FS_APPEND_FL = 0x10, 0x20


def _why_not_writable(info: os.stat_result, folder: int, name: str) -> str | None:
    """Why `name` may not be written, in words (None: it may): the mode bits, a read-only
    filesystem, the immutable or append-only attribute, or the permissions."""
    mode = stat.S_IMODE(info.st_mode)
    if not info.st_mode & stat.S_IWUSR:
        return f"is read-only (mode {mode:04o}): make it writable first"
    if os.fstatvfs(folder).f_flag & os.ST_RDONLY:
        return "is on a read-only filesystem: remount it read-write or write elsewhere (-o)"
    if _attributes(folder, name) & (FS_IMMUTABLE_FL | FS_APPEND_FL):
        return "is immutable or append-only (chattr +i / +a): remove the attribute first"
    if not os.access(name, os.W_OK | (os.X_OK if name == "." else 0), dir_fd=folder):
        return f"is not writable by this user (mode {mode:04o})"
    return None


def _attributes(folder: int, name: str) -> int:
    """The inode flags chattr sets (0 where the filesystem has none)."""
    try:
        handle = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC,
                         dir_fd=folder)  # fmt: skip
    except OSError:
        return 0
    try:
        flags = array.array("l", [0])
        fcntl.ioctl(handle, FS_IOC_GETFLAGS, flags, True)
        return flags[0]
    except OSError:
        return 0
    finally:
        os.close(handle)


def _stat_or_none(path: Path) -> os.stat_result | None:
    try:
        return os.stat(path)
    except FileNotFoundError:
        return None


@contextlib.contextmanager
def _terminate_cleanly() -> Iterator[None]:
    """While a temporary file exists, SIGTERM raises SystemExit (as SIGINT raises
    KeyboardInterrupt), so the cleanup below runs instead of the process just ending."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminate(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _replace(folder: int, name: str, data: Data, meta: os.stat_result | None, *,
             keep_times: bool, attributes: dict[str, bytes] | None = None) -> None:  # fmt: skip
    with _terminate_cleanly():
        _replace_now(folder, name, data, meta, keep_times=keep_times, attributes=attributes)


def _replace_now(folder: int, name: str, data: Data, meta: os.stat_result | None, *,
                 keep_times: bool, attributes: dict[str, bytes] | None) -> None:  # fmt: skip
    temporary, handle = _create_temporary(folder, name)
    try:
        try:
            _write_all(handle, data)
            if meta is not None:
                _copy_metadata(handle, meta, keep_times, attributes=attributes)
            os.fsync(handle)
        finally:
            os.close(handle)
        os.replace(temporary, name, src_dir_fd=folder, dst_dir_fd=folder)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary, dir_fd=folder)
        raise
    _sync_directory(folder)


def stale_temporaries(opened: Opened, *, remove: bool) -> list[str]:
    """Temporary files of this name that an interrupted run left (the name pattern is
    ours; the lock we hold means no other run is writing one now); removed with `remove`."""
    pattern = re.compile(rf"\.{re.escape(opened.name)}(\.orig)?\.[0-9a-f]{{8}}"
                         rf"{re.escape(TEMPORARY_SUFFIX)}")  # fmt: skip
    found = sorted(entry for entry in os.listdir(opened.folder) if pattern.fullmatch(entry))
    for entry in found if remove else ():
        with contextlib.suppress(FileNotFoundError):
            os.unlink(entry, dir_fd=opened.folder)
    return found


def _create_temporary(folder: int, name: str) -> tuple[str, int]:
    """A new file beside `name` (same filesystem, so the rename is atomic)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    while True:
        temporary = f".{name}.{secrets.token_hex(4)}{TEMPORARY_SUFFIX}"
        try:  # the umask applies to a new file
            return temporary, os.open(temporary, flags, 0o666, dir_fd=folder)
        except FileExistsError:
            continue


def _write_all(handle: int, data: Data) -> None:
    pieces = [data] if isinstance(data, bytes | bytearray) else data
    for piece in pieces:
        view = memoryview(piece)
        while view:
            written = os.write(handle, view)
            if written <= 0:
                raise OSError(errno.EIO, "write made no progress")
            view = view[written:]


def read_attributes(handle: int, path: Path) -> dict[str, bytes]:
    """The file's extended attributes (user.*, security.* labels, POSIX ACLs): a replaced
    file keeps them. OSError naming `path` when they cannot be read."""
    try:
        return {name: os.getxattr(handle, name) for name in os.listxattr(handle)}
    except OSError as exc:
        if exc.errno in (errno.ENOTSUP, errno.EOPNOTSUPP):
            return {}
        raise OSError(exc.errno, f"cannot read its extended attributes ({exc.strerror}); "
                      "nothing written", str(path)) from None  # fmt: skip


def _attributes_of(folder: int, destination: Path) -> dict[str, bytes]:
    handle = os.open(destination.name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK
                     | os.O_CLOEXEC, dir_fd=folder)  # fmt: skip
    try:
        return read_attributes(handle, destination)
    finally:
        os.close(handle)


def _copy_attributes(handle: int, attributes: dict[str, bytes]) -> None:
    """Set every attribute on the new file, or refuse (a label silently lost is worse)."""
    for name, value in attributes.items():
        try:
            os.setxattr(handle, name, value)
        except OSError as exc:
            raise OSError(exc.errno, f"its extended attribute {name} cannot be kept on the "
                          f"new file ({exc.strerror}); nothing written") from None  # fmt: skip


def _copy_metadata(handle: int, meta: os.stat_result, keep_times: bool, *,
                   attributes: dict[str, bytes] | None = None) -> None:  # fmt: skip
    """Owner first (chown clears set-id bits), then mode, then extended attributes (POSIX
    ACLs among them, whose mask matches the mode), then times (writes set mtime)."""
    if (meta.st_uid, meta.st_gid) != (os.geteuid(), os.getegid()):
        try:
            os.fchown(handle, meta.st_uid, meta.st_gid)
        except PermissionError:  # not root: keep at least the group, if we are in it
            with contextlib.suppress(PermissionError):
                os.fchown(handle, -1, meta.st_gid)
    os.fchmod(handle, stat.S_IMODE(meta.st_mode))
    _copy_attributes(handle, attributes or {})
    if keep_times:
        os.utime(handle, ns=(meta.st_atime_ns, meta.st_mtime_ns))


def _sync_directory(folder: int) -> None:
    """Make the rename durable. Best effort: the rename is done and cannot be undone, and
    some filesystems refuse to fsync a directory."""
    with contextlib.suppress(OSError):
        os.fsync(folder)
