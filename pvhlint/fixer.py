"""`pvhlint fix` and `pvhlint extract`: edit Xen notes safely, and pull the ELF out of a bzImage.

Safety: the result is built in memory, re-opened and checked before anything is
written; a target the user requires must still accept afterwards or nothing is
written; writing goes to a temporary file beside the destination, is fsynced and
renamed over it, so the input is untouched on failure or when `-o` is given.
"""

from __future__ import annotations

import enum
import os
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .atomic import (
    backup_free,
    create_backup,
    open_locked,
    read_all,
    replace_opened,
    stale_temporaries,
    writable,
    write_new,
)
from .blob import BytesBlob
from .checker import ImageResult, Options, check_image, required_names
from .errors import ImageError
from .image import open_image_bytes
from .model import (
    PT_NOTE,
    SHT_NOTE,
    CrcTrailer,
    ElfInfo,
    Image,
    ProblemCode,
    Section,
    Segment,
    SetupHeader,
)
from .notes_edit import EditError, Plan, plan_edit
from .profiles import DEFAULT_PROFILE, Profile, TargetVersion, parse_target, versions_in_force
from .xennotes import (
    NOTE_KINDS,
    OBSOLETE_FOR_PVH,
    XENFEAT_NAMES,
    ValueKind,
    XenNote,
    note_label,
    parse_note_name,
)

if TYPE_CHECKING:
    from .repack import Watch


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
    force: bool = False  # write a result no boot target accepts
    loaders: Profile = DEFAULT_PROFILE  # the loader versions the checks model
    watch: Watch | None = None  # sees a bzImage's re-compression (the progress bar)


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
    if note_type == XenNote.SUPPORTED_FEATURES:
        return _number(_feature_bits(text), 4).to_bytes(4, "little")
    if note_type == XenNote.L1_MFN_VALID:
        return b"".join(_number(v, wide).to_bytes(wide, "little") for v in _ints(text))
    if note_type == XenNote.PHYS32_RELOC:
        return b"".join(_number(v, 4).to_bytes(4, "little") for v in _ints(text)[:3])
    if kind == ValueKind.NUMBER:
        existing = [n.descsz for n in image.elf.xen_notes if n.type == note_type]
        size = existing[-1] if existing and existing[-1] in (1, 2, 4, 8) else wide
        return _number(_int(text), size).to_bytes(size, "little")
    if kind == ValueKind.STRING:
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
PADDR_OFFSET_REFUSED_BY = TargetVersion("xen-pvh", "4.17")  # see rules/xen/xen_paddr_offset.py


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


def _open_whole(data: bytes, name: str, max_output: int | None) -> Image:
    """An image decoded to the end: a payload cut short (corrupt, or past the decompression
    cap) would be re-compressed or written out truncated, so it is bad input here."""
    image = open_image_bytes(data, name, full=True, max_output=max_output)
    for problem in image.problems:
        if problem.code == ProblemCode.PAYLOAD_CORRUPT:
            raise ImageError(name, f"the payload does not decode completely ({problem.message})")
    return image


def _open_for_fix(data: bytes, name: str, max_output: int | None) -> Image:
    image = _open_whole(data, name, max_output)
    if image.format == "bzimage" and (image.elf is None or len(image.layers) < 2):
        raise UsageError("is a bzImage whose payload holds no ELF kernel pvhlint can edit")
    if image.format in ("gzip", "xz", "lzo"):
        raise UsageError(f"is {image.format}-compressed as a whole: decompress it, fix the ELF, "
                         "and compress it again")  # fmt: skip
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
        result, written = _plan_and_verify(request, original)
        verb = "left" if request.dry_run else "removed"
        result.notes.extend(f"{verb} {name}: a temporary file of an interrupted pvhlint run"
                            for name in stale)  # fmt: skip
        if request.dry_run or result.refused or written is None:
            return result
        if in_place:
            if request.backup:
                result.backup = create_backup(opened, original)
            replace_opened(opened, written)
            result.written = request.path
            if opened.info.st_nlink > 1:
                result.notes.append(f"its {opened.info.st_nlink - 1} other hard link(s) keep "
                                    "the old bytes: the fixed kernel is a new file under "
                                    "this name")  # fmt: skip
        else:
            assert request.output is not None
            if write_new(request.output, written, like=request.path):
                result.notes.append(f"replaced the existing file {request.output}")
            result.written = request.output
    return result


def _kernel_bytes(image: Image, layer: int, original: bytes) -> bytes:
    """The ELF layer's bytes, held once: the file itself, or the decoded payload, whose
    decoder then holds a plain copy instead of its chunks (no second whole-payload copy)."""
    if layer == 0:
        return original
    raw = image.blobs[layer].read(0, 1 << 62)
    image.blobs[layer] = BytesBlob(raw)
    return raw


def _same_file(output: Path, path: Path) -> bool:
    try:
        return os.path.samefile(output, path)
    except OSError:
        return False


def _plan_and_verify(request: FixRequest,
                     original: bytes) -> tuple[FixResult, bytes | bytearray | None]:  # fmt: skip
    """The result (refused, or planned and verified) and the bytes to write (None: none)."""
    image = _open_for_fix(original, str(request.path), request.max_output)
    assert image.elf is not None
    probe = check_image(image, Options(require=request.require, loaders=request.loaders))
    asked = _required(request, probe)  # targets, some perhaps at a version (xen-pvh@4.17)
    required = required_names(asked)
    drop, values = _edits(image, request, required)
    before = check_image(image, Options(require=asked, loaders=request.loaders))
    if image.pe is not None and image.pe.signed and not request.break_signature:
        refused = (
            "the image carries an Authenticode signature that any change invalidates; "
            "nothing written (pass --break-signature to proceed and re-sign afterwards)"
        )
        return FixResult(None, before, None, required, refused=refused), None
    layer = image.elf.layer
    raw = _kernel_bytes(image, layer, original)
    _check_note_areas(image.elf, len(raw))
    try:
        plan = plan_edit(image.elf, raw, drop, values)
        new_file = _repack(image, plan, request.watch) if layer else None
    except EditError as exc:
        return FixResult(None, before, None, required, refused=str(exc)), None
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
    if plan.data == raw:
        result.notes.append("nothing to change: the notes are already as asked")
        return result, None
    written = plan.data if new_file is None else new_file[0]
    after_image = open_image_bytes(written, str(request.path), full=True,
                                   max_output=request.max_output)  # fmt: skip
    try:
        _verify(image, after_image, drop, values)
        assert after_image.elf is not None
        _verify_layout(image.elf, after_image.elf, raw, plan)
        if new_file is not None:
            _verify_payload(after_image, plan.data, new_file[1]["crc"])
            _verify_outside_payload(image, written)
    except EditError as exc:
        result.refused = str(exc)
        return result, None
    result.after = check_image(after_image, Options(require=asked, loaders=request.loaders))
    lost, still = _lost_targets(result.before, result.after, required)
    result.notes.extend(f"{t} still rejects, as before the fix ({', '.join(rules)})"
                        for t, rules in still.items())  # fmt: skip
    if lost:
        reasons = "; ".join(f"{t} ({', '.join(result.after.verdicts[t].rules)})" for t in lost)
        result.refused = (
            f"rolled back, nothing written: required target(s) would reject the result: {reasons}"
        )
        return result, None
    unbootable = _unbootable(result.before, result.after)
    if unbootable and not request.force:
        result.refused = f"{unbootable}; nothing written (pass --force to write it anyway)"
        return result, None
    if unbootable:
        result.notes.append(f"{unbootable}, written because of --force")
    return result, written


def _unbootable(before: ImageResult, after: ImageResult) -> str | None:
    """Why the result boots nowhere, when the input booted somewhere."""
    accepted = [t for t, verdict in before.verdicts.items() if verdict.accept]
    if not accepted or any(verdict.accept for verdict in after.verdicts.values()):
        return None
    return f"no boot target accepts the result (before: {', '.join(accepted)} accepted)"


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
    edited = drop | set(values)
    kept = Counter((n.type, n.desc) for n in before.elf.xen_notes if n.type not in edited)
    now = Counter((n.type, n.desc) for n in after.elf.xen_notes)
    missing = sorted({t for t, _ in kept - now})  # multisets: linear in the note count
    descs_of: dict[int, list[bytes]] = {}
    for note in after.elf.xen_notes:
        descs_of.setdefault(note.type, []).append(note.desc)
    wrong = [t for t, d in values.items() if descs_of.get(t) != [d]]
    dropped = [n.type for n in after.elf.xen_notes if n.type in drop]
    cut = {ProblemCode.TRUNCATED, ProblemCode.DESC_PAST_SEGMENT}
    new_problems = [n for a in after.elf.note_areas for n in a.notes if cut & set(n.problems)]
    old_problems = [n for a in before.elf.note_areas for n in a.notes if cut & set(n.problems)]
    if missing or wrong or dropped or len(new_problems) > len(old_problems):
        raise EditError(
            f"internal check failed after the rewrite (missing {missing}, "
            f"wrong {wrong}, still there {dropped}); nothing written"
        )


def _verify_layout(before: ElfInfo, after: ElfInfo, old: bytes, plan: Plan) -> None:
    """Everything outside the edit must read back unchanged: the ELF header, every program
    and section header (a repointed PT_NOTE or note section only in where it points), and
    every byte of the old file outside the ranges the plan reports as touched."""
    header = ("elf_class", "machine", "type", "flags", "entry", "phoff", "shoff",
              "phentsize", "shentsize")  # fmt: skip
    changed = [name for name in header if getattr(before, name) != getattr(after, name)]
    moved = {(old_off, old_size): (new_off, new_size)
             for old_off, old_size, new_off, new_size in plan.areas}  # fmt: skip
    if len(before.segments) != len(after.segments):
        changed.append("the program header count")
    for was, now in zip(before.segments, after.segments, strict=False):
        if was != now and not _repointed_segment(was, now, moved):
            changed.append(f"program header {was.index} ({was.type_name})")
    was_sections, now_sections = before.sections or [], after.sections or []
    if len(was_sections) != len(now_sections):
        changed.append("the section header count")
    for sec, new in zip(was_sections, now_sections, strict=False):
        if sec != new and not _repointed_section(sec, new, plan):
            changed.append(f"section header {sec.index} ({sec.name})")
    changed += [f"bytes {start:#x}-{end:#x}" for start, end in _untouched_differences(old, plan)]
    if changed:
        raise EditError(f"internal check failed after the rewrite: {', '.join(changed[:8])} "
                        "changed outside the edit; nothing written")  # fmt: skip


def _repointed_segment(was: Segment, now: Segment,
                       moved: dict[tuple[int, int], tuple[int, int]]) -> bool:  # fmt: skip
    """A PT_NOTE the plan moved or resized, changed only in p_offset, p_filesz, p_memsz."""
    where = moved.get((was.offset, was.filesz))
    if was.type != PT_NOTE or where is None or (now.offset, now.filesz) != where:
        return False
    memsz = now.filesz if was.memsz == was.filesz else was.memsz
    same = ("type", "vaddr", "paddr", "flags", "align")
    return now.memsz == memsz and all(getattr(was, f) == getattr(now, f) for f in same)


def _repointed_section(was: Section, now: Section, plan: Plan) -> bool:
    """A note section inside an edited area, changed only in offset, size and address."""
    inside = any(off <= was.offset and was.offset + was.size <= off + size
                 for off, size, _, _ in plan.areas)  # fmt: skip
    same = ("index", "name", "type", "flags")
    return was.type == SHT_NOTE and inside and all(getattr(was, f) == getattr(now, f)
                                                   for f in same)  # fmt: skip


def _untouched_differences(old: bytes, plan: Plan) -> list[tuple[int, int]]:
    """Ranges outside `plan.touched` where the new bytes differ from the old (bytes past
    the old end only inside touched ranges)."""
    old_view, new = memoryview(old), memoryview(plan.data)  # compared in place, no copies
    differences, pos = [], 0
    end_of_both = max(len(old), len(new))
    for start, end in [*sorted(plan.touched), (end_of_both, end_of_both)]:
        if pos < start and old_view[pos:start] != new[pos:start]:
            differences.append((pos, start))
        pos = max(pos, end)
    return differences


def _verify_outside_payload(before: Image, written: bytes) -> None:
    """A re-packed bzImage differs from the original only in the payload slot and the CRC."""
    payload = before.layers[1]
    assert payload.size is not None and before.setup is not None
    old = before.blobs[0].read(0, before.size)
    edited = [(payload.offset, payload.offset + payload.size)]
    if before.setup.crc_end:
        edited = sorted([*edited, (before.setup.crc_end - 4, before.setup.crc_end)])
    keep, pos = [], 0
    for start, end in edited:
        keep.append((pos, start))
        pos = max(pos, end)
    keep.append((pos, len(old)))
    if len(written) != len(old) or any(old[a:b] != written[a:b] for a, b in keep if b > a):
        raise EditError("internal check failed after re-packing: bytes outside the payload "
                        "slot and the CRC changed; nothing written")  # fmt: skip


def _repack(image: Image, plan: Plan,
            watch: Watch | None = None) -> tuple[bytes, dict[str, object]]:  # fmt: skip
    """The bzImage with `plan`'s decoded payload re-compressed into the same slot."""
    from .repack import repack, store_crc

    if plan.moved:
        raise EditError("the note area inside the compressed kernel has no room for this; "
                        "moving it would change the kernel's decompressed size")  # fmt: skip
    payload = image.layers[1]
    assert payload.codec is not None and payload.size is not None and image.setup is not None
    new_payload, stream, options = repack(payload.codec, plan.data, payload.size, watch)
    data = bytearray(image.blobs[0].read(0, image.size))
    data[payload.offset : payload.offset + payload.size] = new_payload
    crc = _crc_state(image.setup, len(data))
    if crc.written:
        assert image.setup.crc_end is not None
        store_crc(data, image.setup.crc_end)
    info = {"codec": payload.codec, "options": options, "slot": payload.size,
            "offset": payload.offset,
            "stream": stream, "padding": payload.size - 4 - stream, "crc": crc}  # fmt: skip
    return bytes(data), info


class CrcState(enum.Enum):
    """What a re-pack does with the CRC32 trailer."""

    UPDATED = "CRC32 trailer updated"
    REPAIRED = "CRC32 trailer repaired: it did not match the image before the fix either"
    NOT_CARRIED = (
        "no CRC32 trailer written: this kernel's build writes none (Linux 6.15 and later, "
        "or not Linux)"
    )
    ABSENT = "no CRC32 trailer written: syssize points past the end of the file"

    @property
    def written(self) -> bool:
        return self in (CrcState.UPDATED, CrcState.REPAIRED)


def _crc_state(setup: SetupHeader, size: int) -> CrcState:
    """A kernel whose build wrote a CRC keeps a valid one; none is added to one without."""
    if setup.crc_end is None or not 4 <= setup.crc_end <= size:
        return CrcState.ABSENT
    trailer = setup.crc_trailer
    if trailer in (CrcTrailer.VALID, CrcTrailer.VALID_BEFORE_SIGNING):
        return CrcState.UPDATED
    if trailer is CrcTrailer.NONE_EXPECTED:
        return CrcState.NOT_CARRIED
    return CrcState.REPAIRED


def _verify_payload(after: Image, decoded: bytearray, crc: CrcState) -> None:
    """The new payload must decode to exactly the edited kernel, with a good CRC (compared
    a piece at a time: no whole-payload copies)."""
    blob = after.blobs[1]
    size = blob.read_all()
    step = 16 << 20
    same = size == len(decoded) and all(
        blob.read(at, step) == memoryview(decoded)[at : at + step] for at in range(0, size, step)
    )
    if not same or after.layers[1].size_trailer != len(decoded):
        raise EditError("internal check failed: the re-compressed payload does not decode to "
                        "the edited kernel; nothing written")  # fmt: skip
    if after.problems:
        found = "; ".join(problem.message for problem in after.problems)
        raise EditError(f"internal check failed after re-packing: {found}; nothing written")
    if crc.written and after.setup is not None and after.setup.crc_ok is False:
        raise EditError("internal check failed after re-packing: the CRC32 trailer written "
                        "does not match; nothing written")  # fmt: skip


def extract(path: Path, output: Path, max_output: int | None = None) -> tuple[int, bool]:
    """Write the decompressed payload of a bzImage (the ELF, then the build's relocations,
    exactly what Linux's scripts/extract-vmlinux writes) to `output` ("-": standard
    output); returns the size written and whether an existing file was replaced."""
    with open_locked(path, lock=False) as opened:
        image = _open_whole(read_all(opened), str(path), max_output)
    payload = next((layer for layer in image.layers if layer.kind == "payload"), None)
    if payload is None or image.elf is None:
        raise UsageError("is not a bzImage (or a UKI) whose payload holds an ELF kernel")
    blob = image.blobs[payload.index]
    size = blob.read_all()
    step = 16 << 20  # written a piece at a time: no whole-payload copy beside the decoder's
    pieces = (blob.read(at, step) for at in range(0, size, step))
    if str(output) == "-":  # standard output, as for extract-vmlinux
        for piece in pieces:
            sys.stdout.buffer.write(piece)
        sys.stdout.buffer.flush()
        return size, False
    return size, write_new(output, pieces)


__all__ = ["FixRequest", "FixResult", "ImageError", "UsageError", "extract", "fix"]
