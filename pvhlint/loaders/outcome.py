"""What running a loader model gives: its errors, each with a code from the loader's own
error enum (the shape of rust-vmm linux-loader's `Error`), in the loader's order.

A loader model is an ordered tuple of checks. `walk` runs them in order and, for each target
and version the loader serves, stops at the first check that refuses it: a later check's
error for a target already refused is never reported, as the real loader never gets there.
Rules explain errors (`Rule.explains`); tests/rules/test_coverage.py fails when a code is
explained by no rule or by two.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from enum import Enum
from typing import Any

from ..model import Image
from ..profiles import LOADER_OF, VERSIONS, Loader, parse_target


class ErrorCode(Enum):
    """Base of each loader's error enum: a member's name is pvhlint's code for the error,
    its `text` the loader's own message (the fixed words; where the loader prints numbers,
    `LoaderError.text` has them). Several codes may share one message: QEMU says "Error
    while loading elf kernel" for many causes, each its own code.

    `targets`: the boot targets the loader refuses with the error (at one version at least;
    an error is never reported for another). The enum states them for all its members
    (`class QemuError(ErrorCode, targets=QEMU)`), a member for itself after its text (`NAME =
    "text", PVH`), or GrubError by the command a code's prefix names. A rule's targets default
    to those of the errors it explains (tests/rules/test_coverage.py checks both)."""

    text: str
    _own_targets: tuple[str, ...]
    _every_members_targets: tuple[str, ...]

    def __init_subclass__(cls, targets: tuple[str, ...] = (), **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._every_members_targets = targets

    def __new__(cls, text: str, targets: tuple[str, ...] = ()) -> ErrorCode:
        member = object.__new__(cls)
        member._value_ = len(cls._member_names_)  # unique: equal messages are not aliases
        member.text = text
        member._own_targets = targets
        return member

    @property
    def targets(self) -> tuple[str, ...]:
        return self._own_targets or self._every_members_targets

    def __str__(self) -> str:
        return f"{type(self).__name__}.{self.name}"


@dataclass(frozen=True)
class LoaderError:
    """One refusal: its code, where in the image it comes from (`offset` bytes into
    `image.layers[layer]`, `length` bytes), pvhlint's account of the cause (`detail`, the
    finding's message), the targets it refuses ("qemu", or "qemu@10.0" for one version),
    and the loader's message as printed when it has numbers in it."""

    code: ErrorCode
    detail: str
    layer: int
    offset: int | None = None
    length: int | None = None
    refuses: tuple[str, ...] = ()
    text: str | None = None
    # The loader reads memory that is not the image's here (past the file's mapping, an
    # uninitialised variable): what it does depends on that memory, so no verdict holds.
    undefined: bool = False
    # A shared cause's words for this loader ("QEMU: \"...\""): the finding quotes the
    # loaders whose walk reached the cause, after `detail`.
    said: str | None = None

    @property
    def message(self) -> str:
        """The loader's own words."""
        return self.text if self.text is not None else self.code.text


Check = Callable[[Image], Iterable[LoaderError]]


def narrowed(errors: Iterable[LoaderError], target: str) -> Iterator[LoaderError]:
    """The errors that refuse `target`, refusing it alone (a shared cause names several
    targets of one loader, whose walk stops each at its own point)."""
    for error in errors:
        if target in error.refuses:
            yield replace(error, refuses=(target,))


@dataclass(frozen=True)
class Outcome:
    """A loader model's run over one image: its errors in the order the loader meets them."""

    loader: Loader
    errors: tuple[LoaderError, ...]

    def refusal(self, target: str, version: str) -> LoaderError | None:
        """The error the loader stops at for `target` at `version`, or None: it accepts."""
        for error in self.errors:
            for text in error.refuses:
                named = parse_target(text)
                if named.target == target and named.version in (None, version):
                    return error
        return None


def walk(image: Image, loader: Loader, checks: tuple[Check, ...]) -> Outcome:
    """Run `checks` in order; each target@version stops at the first check that refuses it."""
    targets = [target for target, owner in LOADER_OF.items() if owner is loader]
    live = {(target, version) for target in targets for version in VERSIONS[loader]}
    found: list[LoaderError] = []
    for check in checks:
        stopped: set[tuple[str, str]] = set()
        for error in check(image):
            pairs = _pairs(error.refuses, loader) & live
            if pairs:
                found.append(replace(error, refuses=_texts(pairs, loader)))
                stopped |= pairs
        live -= stopped
    return Outcome(loader, tuple(found))


def _pairs(refuses: tuple[str, ...], loader: Loader) -> set[tuple[str, str]]:
    pairs = set()
    for text in refuses:
        named = parse_target(text)
        versions = VERSIONS[loader] if named.version is None else (named.version,)
        pairs |= {(named.target, version) for version in versions}
    return pairs


def _texts(pairs: set[tuple[str, str]], loader: Loader) -> tuple[str, ...]:
    """Back to `refuses` words: a bare target when every version is refused."""
    texts = []
    for target in dict.fromkeys(t for t in LOADER_OF if any(p[0] == t for p in pairs)):
        versions = [v for v in VERSIONS[loader] if (target, v) in pairs]
        if len(versions) == len(VERSIONS[loader]):
            texts.append(target)
        else:
            texts.extend(f"{target}@{version}" for version in versions)
    return tuple(texts)
