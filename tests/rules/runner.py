"""One runner for every family's cases: an image of tests.rules.registry, and the findings
the rules must give on it, compared field by field (rule, layer, offset, rejects, and
length where stated); `fragments` are text the message must hold (the loader's own words, mostly).

Two kinds of case table, both `{image name: [Expect, ...]}`:
- BOOT cases (the boot-protocol rules of BOOT_RULES): the image's findings from all of them
  must be exactly the expected ones; the background rules, which fire on most images, are
  compared only where a case lists them;
- NAMED cases: only the rules a case names are run, and their findings must be exactly those.

And verdicts (`check_verdicts`): what check_image says each target's loader does with an image,
a `Verdict` per target compared field by field (accepted, and the rules, message and qemu path
where a case states them).
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import Enum

import pytest

from fixtures.multiboot import MB1_MAGIC, MB2_MAGIC
from pvhlint.checker import ImageResult, Options, check_image
from pvhlint.rule import Finding, Rule, discover_rules

from . import registry

BOOT_RULES = (
    "mb1-no-header", "mb1-misaligned", "mb1-bad-checksum", "mb1-outside-window",
    "mb1-qemu-window", "mb1-unsupported-flags", "mb1-video-mode", "mb1-address-fields",
    "mb1-elf64-qemu", "mb1-elf-loader", "mb2-no-header", "mb2-misaligned", "mb2-bad-checksum",
    "mb2-architecture", "mb2-header-length", "mb2-malformed-tag", "mb2-missing-end-tag",
    "mb2-unsupported-tag", "mb2-unsupported-info-request", "mb2-address-without-entry",
    "mb2-elf-loader", "linux-not-bzimage", "bzimage-boot-flag", "bzimage-protocol",
    "bzimage-setup-sects", "bzimage-loaded-high", "bzimage-payload-bounds",
    "bzimage-unknown-codec", "bzimage-truncated", "bzimage-xloadflags", "bzimage-size-trailer",
    "pe-signed", "elf-unsupported-machine",
)  # fmt: skip
BACKGROUND = {"mb1-no-header", "mb2-no-header", "linux-not-bzimage"}
RULES = {rule.id: rule for rule in discover_rules()}
# Images whose corruption shows only when fully decoded.
FULL = {"boot/bz-xz-corrupt-tail", "boot/bz-gzip-corrupt-tail"}
MB1, MB2, LINUX, XEN = ("multiboot1",), ("multiboot2",), ("linux",), ("xen-pvh", "xen-pv")
NOT_FOUND_1 = "no multiboot header found"
AOUT = 0x100  # fixtures.variants_boot.FLAT_HEADER
ANY = -1  # an Expect.length that is not compared


def mb1_at(data: bytes) -> int:
    return data.find(struct.pack("<I", MB1_MAGIC))


def mb2_at(data: bytes) -> int:
    return data.find(struct.pack("<I", MB2_MAGIC))


def payload_at(data: bytes) -> int:
    return ((data[0x1F1] or 4) + 1) * 512 + struct.unpack_from("<I", data, 0x248)[0]


def payload_end(data: bytes) -> int:
    return payload_at(data) + struct.unpack_from("<I", data, 0x24C)[0]


@dataclass(frozen=True)
class Expect:
    """One finding: `offset` is a number or computed from the image's bytes."""

    rule: str
    offset: int | Callable[[bytes], int | None] | None
    fragments: tuple[str, ...] = ()
    rejects: tuple[str, ...] = ()
    layer: int = 0
    length: int | None = field(default=ANY)

    def at(self, data: bytes) -> int | None:
        return self.offset(data) if callable(self.offset) else self.offset


E = Expect


def at_mb1(delta: int) -> Callable[[bytes], int]:
    return lambda data: mb1_at(data) + delta


def at_mb2(delta: int) -> Callable[[bytes], int]:
    return lambda data: mb2_at(data) + delta


def _key(rule: str, layer: int, offset: int | None, rejects: Iterable[str]) -> tuple:
    return rule, layer, offset, tuple(sorted(rejects))


def findings(name: str, rules: Iterable[Rule]) -> list[Finding]:
    image = registry.image(name, full=name in FULL)
    return [finding for rule in rules for finding in rule.run(image)]


def check_boot_case(name: str, expected: list[Expect]) -> None:
    listed = {e.rule for e in expected}
    got = [f for f in findings(name, (RULES[r] for r in BOOT_RULES))
           if f.rule not in BACKGROUND or f.rule in listed]  # fmt: skip
    _compare(name, expected, got)


def check_named_case(name: str, expected: list[Expect]) -> None:
    rules = dict.fromkeys(e.rule for e in expected)
    _compare(name, expected, findings(name, (RULES[r] for r in rules)))


def boot_cases_test(cases: dict[str, list[Expect]]) -> Callable[[str], None]:
    """A family module's test of its BOOT cases: `test_boot_case = boot_cases_test(...)`."""

    @pytest.mark.parametrize("name", sorted(cases))
    def test_boot_case(name: str) -> None:
        check_boot_case(name, cases[name])

    return test_boot_case


def named_cases_test(cases: dict[str, list[Expect]]) -> Callable[[str], None]:
    """A family module's test of its NAMED cases: `test_named_case = named_cases_test(...)`."""

    @pytest.mark.parametrize("name", sorted(cases))
    def test_named_case(name: str) -> None:
        check_named_case(name, cases[name])

    return test_named_case


def _compare(name: str, expected: list[Expect], got: list[Finding]) -> None:
    data = registry.data(name)
    want_keys = sorted(_key(e.rule, e.layer, e.at(data), e.rejects) for e in expected)
    got_keys = sorted(_key(f.rule, f.layer, f.offset, f.rejects) for f in got)
    assert got_keys == want_keys, "\n".join(f"{f.rule}: {f.message}" for f in got)
    for want in expected:
        matches = [f for f in got if _key(f.rule, f.layer, f.offset, f.rejects)
                   == _key(want.rule, want.layer, want.at(data), want.rejects)]  # fmt: skip
        if want.length != ANY:
            assert any(f.length == want.length for f in matches), (want, matches)
        assert any(all(quote in f.message for quote in want.fragments) for f in matches), (
            f"{want.rule}: none of {[f.message for f in matches]} holds all of {want.fragments}"
        )


class Unstated(Enum):
    """A field of a Verdict that the case does not state (not compared)."""

    UNSTATED = "unstated"


UNSTATED = Unstated.UNSTATED


@dataclass(frozen=True)
class Verdict:
    """What check_image says `target`'s loader does with an image: `accepted` always; the ids
    of the rules that make it refuse (`rules`, exactly, in order), the loader's own words where
    it stops (`message`, None: it says nothing) and QEMU's -kernel path (`path`) where stated."""

    target: str
    accepted: bool
    message: str | Unstated | None = UNSTATED
    rules: tuple[str, ...] | Unstated = UNSTATED
    path: str | Unstated | None = UNSTATED


def check_verdicts(name: str, options: Options, expected: Iterable[Verdict]) -> ImageResult:
    """check_image on a registered image, its verdicts compared with `expected`, field by
    field; the result, for a case's assertions on its findings."""
    result = check_image(registry.image(name, full=name in FULL), options)
    for want in expected:
        got = result.verdicts[want.target]
        actual = {"accepted": got.accept, "message": got.message, "rules": tuple(got.rules),
                  "path": got.path}  # fmt: skip
        for key, value in actual.items():
            stated = getattr(want, key)
            if stated is not UNSTATED:  # the type too: an accept of 1 is not True
                assert (type(value), value) == (type(stated), stated), (
                    f"{name}: {want.target}'s {key} is {value!r}, not {stated!r}"
                )
    return result
