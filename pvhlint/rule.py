"""Rules: one module per rule in pvhlint/rules/<family>/, found by discovery.

A rule module defines `RULE = Rule(...)` with what only it knows (title, severity, the
loader errors it explains, and its targets where they are not those errors' own); discovery
adds the rest: its id from the module's name (xen_note_size.py is xen-note-size), its
documentation from the module docstring (`What:`, `Why:`, `Fix:` and `Example:` paragraphs,
the text of `pvhlint rules`, `pvhlint explain` and the generated reference), its family from
the package, its check from the module's `check(image)` function, if it has one, and by
default its targets from the errors it explains.
"""

from __future__ import annotations

import pkgutil
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from functools import cache
from types import ModuleType

from .loaders import errors_by_code, loader_errors
from .loaders.outcome import ErrorCode
from .loaders.xen import XenLoader
from .model import Image
from .text import printable

SEVERITIES = ("info", "warning", "error")
TARGETS = ("xen-pvh", "xen-pv", "qemu", "multiboot1", "multiboot2", "linux", "rust-vmm")
DOC_SECTIONS = ("what", "why", "fix", "example")
FIXABLE = "[*]"  # marks a finding `pvhlint fix` removes (as ruff marks what --fix fixes)


@dataclass(frozen=True)
class Hit:
    """What a rule's check yields: one problem, where it is, which loaders refuse for it.
    (The words for what is wrong, layer by layer: pvhlint.model.Problem.)"""

    message: str
    layer: int
    offset: int | None = None
    length: int | None = None  # bytes concerned, for SARIF regions
    rejects: tuple[str, ...] = ()  # targets whose loader refuses the image because of this


@dataclass(frozen=True)
class Finding:
    """A shown problem: the rule id, its severity (after promotion and overrides), a one-line
    message, where it is (`offset` bytes into `image.layers[layer]`, None for the whole
    layer; `length` bytes, or None), and the targets whose loaders refuse for it."""

    rule: str
    severity: str
    message: str
    layer: int
    offset: int | None
    length: int | None = None
    rejects: tuple[str, ...] = ()


@dataclass(frozen=True)
class Scope:
    """What a check asks of an image: the targets that must accept it, and whether it must
    be PVH-only (`--pvh-only`: boots as PVH and carries nothing only Xen PV uses)."""

    required: frozenset[str]
    pvh_only: bool = False


def no_check(image: Image) -> Iterable[Hit]:
    """The check of a rule whose findings are all loader errors it explains."""
    return ()


@dataclass(frozen=True)
class Rule:
    """`targets`: the boot paths the rule concerns (a finding shows when one of them is
    required); by default the targets its `explains` errors refuse (`declared`), stated only
    by a rule whose own check concerns more, or that lists them in another order. `when`:
    given the check's scope, whether the rule applies at all. `fix`: the command that
    removes its findings with no more input (`check` marks them). `id`, `doc`, `family` and
    `check` are the module's (`declared`)."""

    title: str
    severity: str
    targets: tuple[str, ...] = ()
    check: Callable[[Image], Iterable[Hit]] = no_check  # the module's `check`, if it has one
    when: Callable[[Scope], bool] | None = None
    fix: str | None = None  # the `pvhlint fix` options that remove its findings, if any
    # Which of libxenguest's loaders the rule's Xen rejects model: only the loader xl picks
    # (the first whose probe succeeds) decides the xen-pv and xen-pvh verdicts.
    xen_loader: XenLoader = XenLoader.LATER
    # The loader errors whose findings this rule phrases (pvhlint.loaders): each error the
    # loader models report with one of these codes becomes one of the rule's findings.
    explains: tuple[ErrorCode, ...] = ()
    id: str = ""  # xen-note-size for xen_note_size.py
    doc: str = ""  # the module docstring
    family: str = ""  # its package under pvhlint/rules (bzimage, elf, ...)

    def sections(self) -> dict[str, str]:
        """The docstring's What/Why/Fix/Example paragraphs."""
        return parse_doc(self.doc)

    def run(self, image: Image) -> list[Finding]:
        hits = [*self.check(image), *explained(image, self.explains)]
        # Messages quote the image's own strings: one printable line, in every format.
        return [Finding(self.id, self.severity, printable(hit.message), hit.layer, hit.offset,
                        hit.length, hit.rejects) for hit in hits]  # fmt: skip


def explained(image: Image, codes: tuple[ErrorCode, ...]) -> list[Hit]:
    """The loader errors with one of `codes`, as hits: errors of several loaders about the
    same cause (same account, same place) make one hit refusing all their targets, quoting
    each of those loaders' words."""
    by_code = errors_by_code(image)
    if not any(code in by_code for code in codes):
        return []
    merged: dict[tuple[str, int, int | None, int | None], tuple[list[str], list[str]]] = {}
    for error in loader_errors(image):
        if error.code in codes:
            refuses, said = merged.setdefault((error.detail, error.layer, error.offset,
                                               error.length), ([], []))  # fmt: skip
            refuses.extend(error.refuses)
            if error.said:
                said.append(error.said)
    hits = []
    for (detail, layer, offset, length), (refuses, said) in merged.items():
        words = "; ".join(dict.fromkeys(said))
        message = f"{detail} ({words})" if words else detail
        hits.append(Hit(message, layer, offset, length, tuple(dict.fromkeys(refuses))))
    return hits


def refused_by(codes: tuple[ErrorCode, ...]) -> tuple[str, ...]:
    """The targets the loaders refuse with `codes` (each code's `targets`), in their order."""
    return tuple(dict.fromkeys(target for code in codes for target in code.targets))


def parse_doc(doc: str) -> dict[str, str]:
    found: dict[str, str] = {}
    pattern = r"^(What|Why|Fix|Example):[ \t]*\n?(.*?)(?=^(?:What|Why|Fix|Example):|\Z)"
    for match in re.finditer(pattern, doc, flags=re.S | re.M):
        found[match[1].lower()] = match[2].strip("\n").rstrip()
    return found


@cache
def discover_rules() -> tuple[Rule, ...]:
    """Every `RULE` in the pvhlint.rules package and its family packages, sorted by id."""
    from . import rules as package

    found = []
    for module in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
        # __import__, not importlib.import_module: python -X importtime (the benchmark's
        # imports row) times only the former, and these 64 modules are ~6 ms of check's start
        rule = declared(__import__(module.name, fromlist=["RULE"]))
        if rule is not None:
            found.append(rule)
    return tuple(sorted(found, key=lambda rule: rule.id))


def declared(module: ModuleType) -> Rule | None:
    """The module's `RULE` with what the module itself says: the id from its name, the
    documentation from its docstring, the family from its package, the check from its
    `check` function, and the targets its explained errors refuse unless it names them
    (None: not a rule)."""
    rule = getattr(module, "RULE", None)
    if not isinstance(rule, Rule):
        return None
    package, _, name = module.__name__.rpartition(".")
    return replace(
        rule,
        id=rule.id or name.replace("_", "-"),
        doc=rule.doc or module.__doc__ or "",
        family=package.rpartition(".")[2],
        targets=rule.targets or refused_by(rule.explains),
        check=getattr(module, "check", rule.check) if rule.check is no_check else rule.check,
    )


@cache
def fix_of(rule_id: str) -> str | None:
    """`pvhlint fix ...` for a fixable rule's findings, else None."""
    return next((rule.fix for rule in discover_rules() if rule.id == rule_id), None)
