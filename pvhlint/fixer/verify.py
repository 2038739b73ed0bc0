"""Stage 4, verify: the new file re-opened as the loaders would read it and re-checked.

It must read back exactly as planned (every byte outside the edit unchanged: the plan is
checked against the old kernel before re-compressing, `verify_plan`; a re-packed payload
decoding to the edited kernel), and every target that must accept still accepts.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..checker import ImageResult, Options, check_image
from ..errors import EditError
from ..image import open_image_bytes
from ..model import PT_NOTE, SHT_NOTE, ElfInfo, Image, ProblemCode, Section, Segment

if TYPE_CHECKING:
    from .plan import Plan
    from .repack import CrcState, Packed
    from .request import Edit


@dataclass(frozen=True)
class Verified:
    """The verify stage's value: the bytes to write (`data`), the check `after`, and
    `notes` for the user (targets that still reject as before, a result written by force)."""

    data: bytes | bytearray
    after: ImageResult
    notes: tuple[str, ...] = ()


def verify(edit: Edit, plan: Plan, packed: Packed) -> Verified:
    """The new file checked; EditError when it does not read back as planned, when a required
    target would reject it, or when no target would accept it (unless --force)."""
    request = edit.request
    after_image = open_image_bytes(packed.data, str(request.path), full=True,
                                   max_output=request.max_output)  # fmt: skip
    _verify_notes(edit.elf, after_image, edit.drop, edit.values)
    assert after_image.elf is not None
    _verify_layout(edit.elf, after_image.elf, plan)
    if packed.repacked is not None:
        _verify_payload(after_image, plan.data, packed.repacked.crc)
        _verify_outside_payload(edit.image, packed.data)
    after = check_image(after_image, Options(require=edit.asked, loaders=request.loaders))
    lost, still = _lost_targets(edit.before, after, edit.required)
    notes = tuple(f"{t} still rejects, as before the fix ({', '.join(rules)})"
                  for t, rules in still.items())  # fmt: skip
    if lost:
        reasons = "; ".join(f"{t} ({', '.join(after.verdicts[t].rules)})" for t in lost)
        raise EditError(f"rolled back, nothing written: required target(s) would reject the "
                        f"result: {reasons}", after, notes)  # fmt: skip
    unbootable = _unbootable(edit.before, after)
    if unbootable and not request.force:
        raise EditError(f"{unbootable}; nothing written (pass --force to write it anyway)",
                        after, notes)  # fmt: skip
    if unbootable:
        notes += (f"{unbootable}, written because of --force",)
    return Verified(packed.data, after, notes)


def _unbootable(before: ImageResult, after: ImageResult) -> str | None:
    """Why the result boots nowhere, when the input booted somewhere."""
    accepted = [t for t, verdict in before.verdicts.items() if verdict.accept]
    if not accepted or any(verdict.accept for verdict in after.verdicts.values()):
        return None
    return f"no boot target accepts the result (before: {', '.join(accepted)} accepted)"


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


def _verify_notes(before: ElfInfo, after: Image, drop: frozenset[int],
                  values: dict[int, bytes]) -> None:  # fmt: skip
    """The rewrite must read back as planned, as libelf would read it."""
    assert after.elf is not None
    edited = drop | set(values)
    kept = Counter((n.type, n.desc) for n in before.xen_notes if n.type not in edited)
    now = Counter((n.type, n.desc) for n in after.elf.xen_notes)
    missing = sorted({t for t, _ in kept - now})  # multisets: linear in the note count
    descs_of: dict[int, list[bytes]] = {}
    for note in after.elf.xen_notes:
        descs_of.setdefault(note.type, []).append(note.desc)
    wrong = [t for t, d in values.items() if descs_of.get(t) != [d]]
    dropped = [n.type for n in after.elf.xen_notes if n.type in drop]
    cut = {ProblemCode.TRUNCATED, ProblemCode.DESC_PAST_SEGMENT}
    new_problems = [n for a in after.elf.note_areas for n in a.notes if cut & set(n.problems)]
    old_problems = [n for a in before.note_areas for n in a.notes if cut & set(n.problems)]
    if missing or wrong or dropped or len(new_problems) > len(old_problems):
        raise EditError(
            f"internal check failed after the rewrite (missing {missing}, "
            f"wrong {wrong}, still there {dropped}); nothing written"
        )


def verify_plan(old: bytes, plan: Plan) -> None:
    """Before anything is re-compressed: every byte of the old kernel outside the ranges the
    plan reports as touched is the same in the new one."""
    changed = [f"bytes {start:#x}-{end:#x}" for start, end in _untouched_differences(old, plan)]
    if changed:
        raise EditError(f"internal check failed after the rewrite: {', '.join(changed[:8])} "
                        "changed outside the edit; nothing written")  # fmt: skip


def _verify_layout(before: ElfInfo, after: ElfInfo, plan: Plan) -> None:
    """Everything outside the edit must read back unchanged: the ELF header and every program
    and section header (a repointed PT_NOTE or note section only in where it points); the
    bytes outside the edit were compared before re-compressing (verify_plan)."""
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


def _verify_outside_payload(before: Image, written: bytes | bytearray) -> None:
    """A re-packed bzImage differs from the original only in the payload slot and the CRC."""
    payload = before.payload_layer
    assert payload is not None and payload.size is not None and before.setup is not None
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


def _verify_payload(after: Image, decoded: bytearray, crc: CrcState) -> None:
    """The new payload must decode to exactly the edited kernel, with a good CRC (compared
    a piece at a time: no whole-payload copies)."""
    payload = after.payload_layer
    assert payload is not None
    blob = after.blobs[payload.index]
    size = blob.read_all()
    step = 16 << 20
    same = size == len(decoded) and all(
        blob.read(at, step) == memoryview(decoded)[at : at + step] for at in range(0, size, step)
    )
    if not same or payload.size_trailer != len(decoded):
        raise EditError("internal check failed: the re-compressed payload does not decode to "
                        "the edited kernel; nothing written")  # fmt: skip
    if after.problems:
        found = "; ".join(problem.message for problem in after.problems)
        raise EditError(f"internal check failed after re-packing: {found}; nothing written")
    if crc.written and after.setup is not None and after.setup.crc_ok is False:
        raise EditError("internal check failed after re-packing: the CRC32 trailer written "
                        "does not match; nothing written")  # fmt: skip
