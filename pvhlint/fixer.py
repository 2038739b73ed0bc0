"""`pvhlint fix` and `pvhlint extract`: edit Xen notes safely, and pull the ELF out of a bzImage.

Safety: the result is built in memory, re-opened and checked before anything is
written; a target the user requires must still accept afterwards or nothing is
written; writing goes to a temporary file beside the destination, is fsynced and
renamed over it, so the input is untouched on failure or when `-o` is given.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from dataclasses import dataclass, field
from pathlib import Path

from .checker import ImageResult, Options, check_image, required_names
from .errors import ImageError
from .image import open_image, open_image_bytes
from .model import CrcTrailer, ElfInfo, Image
from .notes_edit import EditError, Plan, plan_edit
from .profiles import DEFAULT_PROFILE, Profile, TargetVersion, parse_target, versions_in_force
from .xennotes import NOTE_KINDS, OBSOLETE_FOR_PVH, XENFEAT_NAMES, note_label, parse_note_name


class UsageError(Exception):
    """A request that cannot apply to this input (exit 2, nothing written)."""


@dataclass
class FixRequest:
    path: Path
    output: Path | None = None
    drop_obsolete: bool = False
    drop: tuple[str, ...] = ()
    set: tuple[str, ...] = ()
    require: tuple[str, ...] = ()
    dry_run: bool = False
    backup: bool = False
    break_signature: bool = False
    max_output: int | None = None  # decompression cap; None: pvhlint.image.resolve_max_output
    loaders: Profile = DEFAULT_PROFILE  # the loader versions the checks model


@dataclass
class FixResult:
    """What `pvhlint.fix` returns: the `plan` (the note changes and bytes touched), the check
    `before` and `after` (None when refused before re-checking) for the `required` targets,
    where the result was `written` (None for a dry run or a refusal) and the `backup`,
    `refused` (why nothing was written; `exit_code` 1), `notes` for the user, and for a
    bzImage how the payload was `repacked`."""

    plan: Plan | None
    before: ImageResult
    after: ImageResult | None
    required: tuple[str, ...]
    written: Path | None = None
    backup: Path | None = None
    refused: str | None = None  # why nothing was written (exit 1)
    notes: list[str] = field(default_factory=list)
    repacked: dict[str, object] | None = None  # codec, options, stream sizes (bzImage)

    @property
    def exit_code(self) -> int:
        return 1 if self.refused else 0


def parse_value(image: Image, note_type: int, text: str) -> bytes:
    """A --set-note VALUE as the descriptor bytes for the note's kind."""
    kind = NOTE_KINDS[note_type].kind
    assert image.elf is not None
    wide = 8 if image.elf.elf_class == 64 else 4
    if note_type == 17:
        return _number(_feature_bits(text), 4).to_bytes(4, "little")
    if note_type == 13:
        return b"".join(_number(v, wide).to_bytes(wide, "little") for v in _ints(text))
    if note_type == 19:
        return b"".join(_number(v, 4).to_bytes(4, "little") for v in _ints(text)[:3])
    if kind == "num":
        existing = [n.descsz for n in image.elf.xen_notes if n.type == note_type]
        size = existing[-1] if existing and existing[-1] in (1, 2, 4, 8) else wide
        return _number(_int(text), size).to_bytes(size, "little")
    if kind == "str":
        return text.encode() + b"\0"
    raise UsageError(f"{note_label(note_type)} has no value pvhlint knows how to write")


def _int(text: str) -> int:
    try:
        return int(text.strip(), 0)
    except ValueError:
        raise UsageError(f"{text!r} is not a number (use 0x... for hex)") from None


def _ints(text: str) -> list[int]:
    return [_int(part) for part in text.replace(";", ",").split(",") if part.strip()]


def _number(value: int, size: int) -> int:
    if not 0 <= value < 1 << (8 * size):
        raise UsageError(f"{value:#x} does not fit in {size} bytes")
    return value


def _feature_bits(text: str) -> int:
    names = {name: bit for bit, name in XENFEAT_NAMES.items()}
    bits = 0
    for part in text.split("|"):
        part = part.strip()
        bits |= 1 << names[part] if part in names else _int(part)
    return bits


def _note_type(text: str) -> int:
    number = parse_note_name(text)
    if number is None or number not in NOTE_KINDS:
        raise UsageError(
            f"unknown Xen note {text!r} (e.g. PHYS32_ENTRY, XEN_ELFNOTE_VIRT_BASE, 18)"
        )
    return number


PADDR_OFFSET, VIRT_BASE = 4, 3
PADDR_OFFSET_TOO = (
    "PADDR_OFFSET dropped too: xen-pvh is required at Xen 4.17, which refuses a PVH kernel "
    'with PADDR_OFFSET and no VIRT_BASE ("ELF_PADDR_OFFSET set, VIRT_BASE unset"); PVH '
    "ignores it"
)
PADDR_OFFSET_KEPT = (
    "PADDR_OFFSET kept: Xen 4.18 and later (xen.git b77ed96fce) boot a PVH kernel with it and "
    "no VIRT_BASE; for Xen 4.17 give --loaders debian12 or --require xen-pvh@4.17 to drop it"
)
PADDR_OFFSET_REFUSED_BY = TargetVersion("xen-pvh", "4.17")  # see rules/xen_paddr_offset.py


def _paddr_offset_refused(request: FixRequest, required: tuple[str, ...]) -> bool:
    """Whether a required target's version refuses PADDR_OFFSET without VIRT_BASE."""
    wanted = PADDR_OFFSET_REFUSED_BY
    versions = versions_in_force(request.loaders, request.require)
    names = {parse_target(text).target for text in required}
    return wanted.target in names and wanted.version in versions[wanted.target]


def _edits(
    image: Image, request: FixRequest, required: tuple[str, ...]
) -> tuple[set[int], dict[int, bytes]]:
    drop = {_note_type(name) for name in request.drop}
    if request.drop_obsolete:
        drop |= set(OBSOLETE_FOR_PVH)
    values: dict[int, bytes] = {}
    for item in request.set:
        name, sep, value = item.partition("=")
        if not sep:
            raise UsageError(f"--set-note takes NAME=VALUE, not {item!r}")
        values[_note_type(name)] = parse_value(image, _note_type(name), value)
    if drop & set(values):
        raise UsageError("a note cannot be both dropped and set in one run")
    assert image.elf is not None
    present = {n.type for n in image.elf.xen_notes}
    orphaned = request.drop_obsolete and PADDR_OFFSET in present and VIRT_BASE not in values
    if orphaned and _paddr_offset_refused(request, required):
        drop.add(PADDR_OFFSET)
    if not drop and not values:
        raise UsageError("nothing to do: give --drop-obsolete-notes, --drop-note or --set-note")
    return drop, values


def _orphans_paddr_offset(elf: ElfInfo, drop: set[int], values: dict[int, bytes]) -> bool:
    """The edit leaves PADDR_OFFSET without VIRT_BASE where VIRT_BASE was."""
    present = {n.type for n in elf.xen_notes}
    kept_paddr = PADDR_OFFSET in present and PADDR_OFFSET not in drop
    return kept_paddr and VIRT_BASE in present and VIRT_BASE in drop and VIRT_BASE not in values


def _open_whole(path: Path, max_output: int | None) -> Image:
    """An image decoded to the end: a payload cut short (corrupt, or past the decompression
    cap) would be re-compressed or written out truncated, so it is bad input here."""
    image = open_image(path, full=True, max_output=max_output)
    for problem in image.problems:
        if problem.code == "payload-corrupt":
            raise ImageError(
                str(path), f"the payload does not decode completely ({problem.message})"
            )
    return image


def _open_for_fix(path: Path, max_output: int | None) -> Image:
    image = _open_whole(path, max_output)
    if image.format == "bzimage" and (image.elf is None or len(image.layers) < 2):
        raise UsageError("is a bzImage whose payload holds no ELF kernel pvhlint can edit")
    if image.format == "gzip":
        raise UsageError("is gzip-compressed: gunzip it, fix the ELF, and compress it again")
    if image.format == "pe":
        raise UsageError(
            "is a PE/EFI image: fix the kernel it was built from, then build "
            "the Unified Kernel Image again (ukify or objcopy) and re-sign it"
        )
    if image.elf is None:
        raise UsageError(f"is a {image.format} image with no ELF notes to edit")
    return image


def _required(request: FixRequest, before: ImageResult) -> tuple[str, ...]:
    """--require, else for --drop-obsolete-notes: xen-pvh plus qemu and rust-vmm where they
    accepted before. Plain --drop-note/--set-note require nothing: the user chose."""
    if request.require:
        return request.require
    if not request.drop_obsolete:
        return ()
    extra = [t for t in ("qemu", "rust-vmm") if before.verdicts[t].accept]
    return ("xen-pvh", *extra)


def fix(request: FixRequest) -> FixResult:
    """Plan, verify and (unless refused or a dry run) write one fix."""
    # Taken before reading: our own read must not count as the access the atime keeps.
    original = _stat_or_none(Path(os.path.realpath(request.path)))
    image = _open_for_fix(request.path, request.max_output)
    assert image.elf is not None
    probe = check_image(image, Options(require=request.require, loaders=request.loaders))
    asked = _required(request, probe)  # targets, some perhaps at a version (xen-pvh@4.17)
    required = required_names(asked)
    drop, values = _edits(image, request, required)
    before = check_image(image, Options(require=asked, loaders=request.loaders))
    if image.pe is not None and image.pe.signed and not request.break_signature:
        return FixResult(None, before, None, required, refused=(
            "the image carries an Authenticode signature that any change invalidates; nothing "
            "written (pass --break-signature to proceed and re-sign afterwards)"))  # fmt: skip
    layer = image.elf.layer
    raw = image.blobs[layer].read(0, 1 << 62)
    _check_note_areas(image.elf, len(raw))
    try:
        plan = plan_edit(image.elf, raw, drop, values)
        new_file = _repack(image, plan) if layer else None
    except EditError as exc:
        return FixResult(None, before, None, required, refused=str(exc))
    result = FixResult(plan, before, None, required)
    if new_file is not None:
        result.repacked = new_file[1]
        if image.pe is not None and image.pe.signed:
            result.notes.append("the Authenticode signature no longer matches: re-sign the image")
    named = {_note_type(name) for name in request.drop}
    if PADDR_OFFSET in drop and PADDR_OFFSET not in named:
        result.notes.append(PADDR_OFFSET_TOO)
    elif _orphans_paddr_offset(image.elf, drop, values):
        result.notes.append(PADDR_OFFSET_KEPT)
    if bytes(plan.data) == raw:
        result.notes.append("nothing to change: the notes are already as asked")
        return result
    written = bytes(plan.data) if new_file is None else new_file[0]
    after_image = open_image_bytes(written, str(request.path), full=True,
                                   max_output=request.max_output)  # fmt: skip
    try:
        _verify(image, after_image, drop, values)
        if new_file is not None:
            _verify_payload(image, after_image, bytes(plan.data))
    except EditError as exc:
        result.refused = str(exc)
        return result
    result.after = check_image(after_image, Options(require=asked, loaders=request.loaders))
    lost, still = _lost_targets(result.before, result.after, required)
    result.notes.extend(f"{t} still rejects, as before the fix ({', '.join(rules)})"
                        for t, rules in still.items())  # fmt: skip
    if lost:
        reasons = "; ".join(f"{t} ({', '.join(result.after.verdicts[t].rules)})" for t in lost)
        result.refused = (
            f"rolled back, nothing written: required target(s) would reject the result: {reasons}"
        )
        return result
    if not request.dry_run:
        destination = request.output or request.path
        writable_target(destination)  # a read-only target fails before the backup is made
        if request.backup and request.output is None:
            result.backup = _backup(request.path, original)
        in_place = request.output is None
        write_atomically(destination, written, like=request.path,
                         original=original if in_place else None)  # fmt: skip
        result.written = destination
    return result


MAX_NOTE_ALIGN = 1 << 16  # the largest page size: a moved area is padded to p_align


def _check_note_areas(elf: ElfInfo, size: int) -> None:
    """The areas an edit may rewrite must lie inside the kernel, with a real alignment: both
    come from the file, and rewriting 4 GiB claimed by a 4 KiB file, or padding it to a
    2^63 boundary, would take minutes and all memory."""
    for area in elf.note_areas:
        if not any(note.is_xen for note in area.notes):
            continue
        where = f"{area.source} {area.index} at {area.offset:#x}"
        if area.offset + area.size > size:
            raise UsageError(f"{where} claims {area.size:#x} bytes, past the end of the kernel "
                             f"({size:#x} bytes): repair it before editing notes")  # fmt: skip
        if area.align > MAX_NOTE_ALIGN:
            raise UsageError(f"{where} has p_align {area.align:#x}, no real alignment: "
                             "repair it before editing notes")  # fmt: skip


def _lost_targets(before: ImageResult, after: ImageResult,
                  required: tuple[str, ...]) -> tuple[list[str], dict[str, list[str]]]:  # fmt: skip
    """Required targets the fix breaks (rejects now, or for new reasons), and those that
    rejected before for the same reasons (not the fix's doing, so no rollback)."""
    lost, still = [], {}
    for target in required:
        now, was = after.verdicts[target], before.verdicts[target]
        if now.accept:
            continue
        if was.accept or set(now.rules) - set(was.rules):
            lost.append(target)
        else:
            still[target] = now.rules
    return lost, still


def _verify(before: Image, after: Image, drop: set[int], values: dict[int, bytes]) -> None:
    """The rewrite must read back as planned, as libelf would read it."""
    assert before.elf is not None and after.elf is not None
    kept = [(n.type, n.desc) for n in before.elf.xen_notes if n.type not in drop | set(values)]
    now = [(n.type, n.desc) for n in after.elf.xen_notes]
    missing = [t for t, d in kept if (t, d) not in now]
    wrong = [t for t, d in values.items() if [n.desc for n in after.elf.xen_notes
                                               if n.type == t] != [d]]  # fmt: skip
    dropped = [n.type for n in after.elf.xen_notes if n.type in drop]
    new_problems = [n for a in after.elf.note_areas for n in a.notes
                    if {"truncated", "desc-past-segment"} & set(n.problems)]  # fmt: skip
    old_problems = [n for a in before.elf.note_areas for n in a.notes
                    if {"truncated", "desc-past-segment"} & set(n.problems)]  # fmt: skip
    if missing or wrong or dropped or len(new_problems) > len(old_problems):
        raise EditError(
            f"internal check failed after the rewrite (missing {missing}, "
            f"wrong {wrong}, still there {dropped}); nothing written"
        )


def _repack(image: Image, plan: Plan) -> tuple[bytes, dict[str, object]]:
    """The bzImage with `plan`'s decoded payload re-compressed into the same slot."""
    from .repack import repack, store_crc

    if plan.moved:
        raise EditError("the note area inside the compressed kernel has no room for this; "
                        "moving it would change the kernel's decompressed size")  # fmt: skip
    payload = image.layers[1]
    assert payload.codec is not None and payload.size is not None and image.setup is not None
    new_payload, stream, options = repack(payload.codec, bytes(plan.data), payload.size)
    data = bytearray(image.blobs[0].read(0, image.size))
    data[payload.offset : payload.offset + payload.size] = new_payload
    setup = image.setup
    if setup.crc_end is not None and setup.crc_trailer in CARRIES_CRC:
        store_crc(data, setup.crc_end)  # a kernel without one (Linux >= 6.15) gets none
    info = {"codec": payload.codec, "options": options, "slot": payload.size,
            "stream": stream, "padding": payload.size - 4 - stream}  # fmt: skip
    return bytes(data), info


def _verify_payload(before: Image, after: Image, decoded: bytes) -> None:
    """The new payload must decode to exactly the edited kernel, with a good CRC where the
    kernel carried one."""
    blob = after.blobs[1]
    size = blob.read_all()
    if blob.read(0, size) != decoded or after.layers[1].size_trailer != len(decoded):
        raise EditError("internal check failed: the re-compressed payload does not decode to "
                        "the edited kernel; nothing written")  # fmt: skip
    if after.problems:
        raise EditError(f"internal check failed after re-packing: {after.problems}")
    if before.setup is not None and before.setup.crc_trailer in CARRIES_CRC:
        assert after.setup is not None
        if after.setup.crc_trailer is not CrcTrailer.VALID:
            raise EditError("internal check failed after re-packing: the CRC32 trailer does "
                            f"not match ({after.setup.crc_trailer.value})")  # fmt: skip


# Trailers `fix` recomputes: a kernel whose build wrote a CRC keeps a valid one.
CARRIES_CRC = (CrcTrailer.VALID, CrcTrailer.VALID_BEFORE_SIGNING)


def _backup(path: Path, original: os.stat_result | None) -> Path:
    """IMAGE.orig: the original's bytes, mode, owner and timestamps, written atomically."""
    target = writable_target(path.with_name(path.name + ".orig"))
    _replace(target, path.read_bytes(), original or os.stat(path), keep_times=True)
    return path.with_name(path.name + ".orig")


def writable_target(destination: Path) -> Path:
    """The file a write to `destination` replaces (symlinks followed, so the kernel a link
    names is edited and the link stays); OSError, before anything is written, when it may
    not be replaced. The mode bits decide, for root too: replacing by rename would
    otherwise overwrite a read-only file, or write into a read-only directory."""
    target = Path(os.path.realpath(destination))
    current = _stat_or_none(target)
    if current is not None and not stat.S_ISREG(current.st_mode):
        raise OSError(errno.EINVAL, "is not a regular file", str(destination))
    if current is not None and not _may_write(target, current):
        mode = stat.S_IMODE(current.st_mode)
        raise PermissionError(errno.EACCES, f"is read-only (mode {mode:04o}): make it writable "
                              "first", str(destination))  # fmt: skip
    folder = _stat_or_none(target.parent)
    if folder is None or not stat.S_ISDIR(folder.st_mode):
        raise FileNotFoundError(errno.ENOENT, "its directory does not exist", str(destination))
    if not _may_write(target.parent, folder, os.W_OK | os.X_OK):
        raise PermissionError(errno.EACCES, f"its directory {target.parent} is read-only: the "
                              "new file is written beside it first", str(destination))  # fmt: skip
    return target


def _stat_or_none(path: Path) -> os.stat_result | None:
    try:
        return os.stat(path)
    except FileNotFoundError:
        return None


def _may_write(path: Path, info: os.stat_result, mode: int = os.W_OK) -> bool:
    return bool(info.st_mode & stat.S_IWUSR) and os.access(path, mode)


def write_atomically(destination: Path, data: bytes, like: Path | None = None, *,
                     original: os.stat_result | None = None) -> None:  # fmt: skip
    """Replace `destination` by `data` so that a failure at any step, or an interrupt, leaves
    it byte-identical and no temporary file behind: the data goes to a new file beside it,
    which gets the destination's metadata, is fsynced, and is renamed over it.

    "Preserved" means: a replaced file keeps its mode, owner and group (chown needs root
    or the same owner; otherwise the group is kept where allowed) and its atime and mtime
    (only ctime shows the edit), as `original` recorded them before the caller read the
    file, else as they are now. A new file gets `like`'s mode (else 0666 less the umask)
    and the current time."""
    target = writable_target(destination)
    current = _stat_or_none(target)
    if current is not None:
        _replace(target, data, original or current, keep_times=True)
    else:
        source = _stat_or_none(like) if like is not None else None
        _replace(target, data, source, keep_times=False)


def _replace(target: Path, data: bytes, meta: os.stat_result | None, *, keep_times: bool) -> None:
    name, handle = _create_temporary(target)
    try:
        try:
            _write_all(handle, data)
            if meta is not None:
                _copy_metadata(handle, meta, keep_times)
            os.fsync(handle)
        finally:
            os.close(handle)
        os.replace(name, target)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    _sync_directory(target.parent)


def _create_temporary(target: Path) -> tuple[str, int]:
    """A new file beside `target` (same filesystem, so the rename is atomic)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
    while True:
        name = str(target.with_name(f".{target.name}.{secrets.token_hex(4)}.pvhlint"))
        try:
            return name, os.open(name, flags, 0o666)  # the umask applies to a new file
        except FileExistsError:
            continue


def _write_all(handle: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(handle, view)
        if written <= 0:
            raise OSError(errno.EIO, "write made no progress")
        view = view[written:]


def _copy_metadata(handle: int, meta: os.stat_result, keep_times: bool) -> None:
    """Owner first (chown clears set-id bits), then mode, then times (writes set mtime)."""
    if (meta.st_uid, meta.st_gid) != (os.geteuid(), os.getegid()):
        try:
            os.fchown(handle, meta.st_uid, meta.st_gid)
        except PermissionError:  # not root: keep at least the group, if we are in it
            with contextlib.suppress(PermissionError):
                os.fchown(handle, -1, meta.st_gid)
    os.fchmod(handle, stat.S_IMODE(meta.st_mode))
    if keep_times:
        os.utime(handle, ns=(meta.st_atime_ns, meta.st_mtime_ns))


def _sync_directory(folder: Path) -> None:
    """Make the rename durable. Best effort: the rename is done and cannot be undone, and
    some filesystems refuse to fsync a directory."""
    with contextlib.suppress(OSError):
        handle = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(handle)
        finally:
            os.close(handle)


def extract(path: Path, output: Path, max_output: int | None = None) -> int:
    """Write the decompressed payload of a bzImage, or of the bzImage in a UKI's .linux
    section (the ELF, then the build's relocations, exactly what Linux's
    scripts/extract-vmlinux writes); returns the size written."""
    image = _open_whole(path, max_output)
    payload = next((layer for layer in image.layers if layer.kind == "payload"), None)
    if payload is None or image.elf is None:
        raise UsageError("is not a bzImage (or a UKI) whose payload holds an ELF kernel")
    blob = image.blobs[payload.index]
    size = blob.read_all()
    write_atomically(output, blob.read(0, size))
    return size


__all__ = ["FixRequest", "FixResult", "ImageError", "UsageError", "extract", "fix"]
