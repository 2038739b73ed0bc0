"""`check`: run every rule on an image, derive each target's verdict, pick what to show.

Verdicts come from every rule, whatever --select/--ignore say: a verdict is a fact
about a loader. Which findings are shown, and how severe, depends on the required
targets (--require, config, or what the image itself claims; see `claimed_targets`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from . import prefetch, profiles
from .errors import ImageError
from .image import open_image
from .loaders import grub_layer, grub_mb1, grub_mb2, qemu_path, xen_first_loader, xen_parse
from .model import Image
from .profiles import DEFAULT_PROFILE, Profile
from .rule import SEVERITIES, TARGETS, Finding, Rule, discover_rules
from .rulekit import XEN_TARGETS
from .xennotes import NOTE_NUMBERS

FAIL_ON = ("info", "warning", "error", "never")


@dataclass(frozen=True)
class Options:
    """What a check was asked (`pvhlint.check`'s arguments, after the configuration)."""

    require: tuple[str, ...] = ()  # targets, each optionally at a version: "xen-pvh@4.17"
    loaders: Profile = DEFAULT_PROFILE  # the loader versions verdicts are computed for
    select: tuple[str, ...] = ()  # rule ids or id prefixes to show (empty: all)
    ignore: tuple[str, ...] = ()
    severity: tuple[tuple[str, str], ...] = ()  # (rule id, severity) overrides
    fail_on: str = "error"
    max_output: int | None = None  # decompression cap; None: pvhlint.image.resolve_max_output


@dataclass
class Verdict:
    """What one target's loader would do with the image.

    `accept`; `rules`: the ids of the rules whose findings make it reject (shown or not);
    `required`: the target is required (`*` in the console table); `path`: for qemu
    only, the `-kernel` loader that takes the image (linux, multiboot or pvh); `versions`:
    the same per version of the target's loader in force (`accept` holds only when every
    one of them accepts, `rules` is their union)."""

    accept: bool
    rules: list[str]
    required: bool
    path: str | None = None  # qemu only: linux | multiboot | pvh
    versions: dict[str, VersionVerdict] = field(default_factory=dict)

    @property
    def split(self) -> bool:
        """The versions in force disagree."""
        return len({v.accept for v in self.versions.values()}) > 1

    def to_dict(self) -> dict[str, object]:
        data: dict[str, object] = {"verdict": _word(self.accept),
                                   "rules": self.rules, "required": self.required}  # fmt: skip
        if self.path is not None:
            data["path"] = self.path
        data["versions"] = {version: {"verdict": _word(v.accept), "rules": v.rules}
                            for version, v in self.versions.items()}  # fmt: skip
        return data


@dataclass(frozen=True)
class VersionVerdict:
    """One version's verdict: accept, and the ids of the rules that make it reject."""

    accept: bool
    rules: list[str]


def _word(accept: bool) -> str:
    return "accept" if accept else "reject"


@dataclass
class ImageResult:
    """One image's result: `error` (why it could not be read, else None), the shown
    `findings` (sorted by layer, then offset), `verdicts` keyed by every target, the
    `required` targets and where they came from ("option" or "claimed"), and the opened
    `image` (its model, without the file mapping)."""

    path: str
    image: Image | None = None
    error: str | None = None
    findings: list[Finding] = field(default_factory=list)
    verdicts: dict[str, Verdict] = field(default_factory=dict)
    required: tuple[str, ...] = ()
    required_from: str = "claimed"  # "option" (--require or config) | "claimed"
    versions: dict[str, tuple[str, ...]] = field(default_factory=dict)  # target -> in force

    def to_dict(self) -> dict[str, Any]:
        """The JSON report's IMAGE object (docs/check-json.md)."""
        from .output import result_to_dict

        return result_to_dict(self)


@dataclass
class Report:
    """What `pvhlint.check` returns: one result per image, in the order given
    (directories expanded in place), and the options it ran with."""

    results: list[ImageResult]
    options: Options

    def to_dict(self) -> dict[str, Any]:
        """The JSON report, exactly what `pvhlint check --format json` prints."""
        from .output import report_to_dict

        return report_to_dict(self)

    @property
    def exit_code(self) -> int:
        """The command line's exit status: 2 if an image could not be read, else 1 if a
        shown finding is at or above `fail_on`, else 0."""
        if any(result.error for result in self.results):
            return 2
        if self.options.fail_on == "never":
            return 0
        floor = SEVERITIES.index(self.options.fail_on)
        worst = [SEVERITIES.index(f.severity) for r in self.results for f in r.findings]
        return 1 if worst and max(worst) >= floor else 0


def claimed_targets(image: Image) -> tuple[str, ...]:
    """Targets the image itself claims: PHYS32_ENTRY → xen-pvh; an ENTRY note or
    __xen_guest → xen-pv; a multiboot header with a good checksum near the start
    (within twice its window: a header just outside is a claim gone wrong) →
    multiboot1/2; a Linux setup header → linux. qemu and rust-vmm are never implied."""
    claimed = set()
    pvh, pv = xen_parse(image, True), xen_parse(image, False)
    if pvh is not None and pvh.phys_entry is not None:
        claimed.add("xen-pvh")
    # Only what a PV domain builder starts a guest from claims xen-pv: an ENTRY note or the
    # legacy string. GUEST_OS/XEN_VERSION/LOADER alone are no claim (Linux 5.9+ i386 kernels
    # keep them with 32-bit PV gone, and no ENTRY).
    entry_note = pv is not None and any(n.type == NOTE_NUMBERS["ENTRY"] for n in pv.notes)
    if entry_note or (pv is not None and pv.source == "__xen_guest"):
        claimed.add("xen-pv")
    if image.xen_bin_table is not None:  # libxenguest's multiboot-binary loader starts it
        claimed.add("xen-pv")
    layer = grub_layer(image)
    for header in image.multiboot:
        near = 2 * (8192 if header.version == 1 else 32768)
        if header.layer == layer and header.checksum_ok and header.offset < near:
            claimed.add(f"multiboot{header.version}")
    if grub_mb1(image):
        claimed.add("multiboot1")
    if grub_mb2(image, loader=False):
        claimed.add("multiboot2")
    if image.setup is not None and image.setup.has_hdrs:
        claimed.add("linux")
    return tuple(target for target in TARGETS if target in claimed)


def _matches(rule_id: str, patterns: tuple[str, ...]) -> bool:
    return any(rule_id == p or (p.endswith("-") and rule_id.startswith(p)) or
               (p.endswith("*") and rule_id.startswith(p[:-1])) for p in patterns)  # fmt: skip


def required_names(require: tuple[str, ...]) -> tuple[str, ...]:
    """The targets of --require, without their versions, in order."""
    names = [profiles.parse_target(text).target for text in require]
    return tuple(dict.fromkeys(names))


def check_image(image: Image, options: Options) -> ImageResult:
    required = required_names(options.require) or claimed_targets(image)
    required_set = frozenset(required)
    versions = profiles.versions_in_force(options.loaders, options.require)
    result = ImageResult(image.path, image, required=tuple(required),
                         required_from="option" if options.require else "claimed",
                         versions=versions)  # fmt: skip
    overrides = dict(options.severity)
    every: list[Finding] = []
    xen_loader = xen_first_loader(image)
    for rule in discover_rules():
        if rule.when is not None and not rule.when(required_set):
            continue
        found = rule.run(image)
        every.extend(found if rule.xen_loader == xen_loader else _not_for_xen(rule, found))
    result.verdicts = _verdicts(image, every, required_set, versions)
    targets_of = {rule.id: rule.targets for rule in discover_rules()}
    for finding in every:
        if options.select and not _matches(finding.rule, options.select):
            continue
        if _matches(finding.rule, options.ignore):
            continue
        shown = _shown(finding, targets_of[finding.rule], required_set, versions, overrides)
        if shown is not None:
            result.findings.append(shown)
    result.findings.sort(key=lambda f: (f.layer, f.offset if f.offset is not None else -1))
    return result


def _not_for_xen(rule: Rule, findings: list[Finding]) -> list[Finding]:
    """A rule about a libxenguest loader that xl does not pick (it parses with the first one
    whose probe succeeds) says nothing about Xen: its other targets keep its findings."""
    if not set(rule.targets) - set(XEN_TARGETS):
        return []
    kept = [(f, tuple(t for t in f.rejects if profiles.parse_target(t).target not in XEN_TARGETS))
            for f in findings]  # fmt: skip
    return [replace(f, rejects=rejects) for f, rejects in kept]


def _shown(finding: Finding, targets: tuple[str, ...], required: frozenset[str],
           versions: dict[str, tuple[str, ...]],
           overrides: dict[str, str]) -> Finding | None:  # fmt: skip
    """A reject of a required target at a version in force is an error; findings for
    targets nobody requires are hidden (they still drive the verdicts)."""
    if any(profiles.rejects_at(finding.rejects, target, version)
           for target in required for version in versions[target]):  # fmt: skip
        severity = "error"
    elif set(targets) & required:
        severity = overrides.get(finding.rule, finding.severity)
    else:
        return None
    return Finding(finding.rule, severity, finding.message, finding.layer, finding.offset,
                   finding.length, finding.rejects)  # fmt: skip


def _verdicts(image: Image, findings: list[Finding], required: frozenset[str],
              versions: dict[str, tuple[str, ...]]) -> dict[str, Verdict]:  # fmt: skip
    verdicts = {}
    for target in TARGETS:
        per_version = {}
        for version in versions[target]:
            found = sorted({f.rule for f in findings
                            if profiles.rejects_at(f.rejects, target, version)})  # fmt: skip
            per_version[version] = VersionVerdict(not found, found)
        rules = sorted({rule for v in per_version.values() for rule in v.rules})
        verdicts[target] = Verdict(not rules, rules, target in required, versions=per_version)
    verdicts["qemu"].path = qemu_path(image).replace("zimage", "linux")
    return verdicts


def iter_images(paths: list[str]) -> tuple[list[tuple[str, bool]], list[ImageResult]]:
    """(path, given explicitly) for every file, and errors for folders that cannot be read.
    Inside a folder, files that are not kernels are skipped; broken kernels are not."""
    found: list[tuple[str, bool]] = []
    errors: list[ImageResult] = []
    for path in paths:
        if not os.path.isdir(path):
            found.append((path, True))
            continue
        before = len(found)

        def unreadable(exc: OSError, folder: str = path) -> None:
            errors.append(ImageResult(exc.filename or folder, error=f"cannot list: {exc.strerror}"))

        for root, dirs, files in os.walk(path, onerror=unreadable):
            dirs.sort()
            found.extend((os.path.join(root, name), False) for name in sorted(files))
        if len(found) == before and not errors:
            errors.append(ImageResult(path, error="directory holds no files"))
    return found, errors


def check_one(path: str, explicit: bool, options: Options) -> ImageResult | None:
    """One image's result; None for a file inside a folder that is simply not a kernel."""
    try:
        image = prefetch.take(path, options.max_output) or open_image(
            path, lenient=True, max_output=options.max_output
        )
    except ImageError as exc:
        if explicit or not exc.not_a_kernel:
            return ImageResult(path, error=exc.message)
        return None
    if image.format == "raw" and not explicit:
        return None  # in a folder, a file of no format a loader knows is not a kernel
    result = check_image(image, options)
    image.blobs.clear()  # the mapped file and decoders: not needed by reports, not picklable
    image.facts.clear()
    return result


def _check_one_job(job: tuple[str, bool, Options]) -> ImageResult | None:
    return check_one(*job)


def check_paths(paths: list[str], options: Options, jobs: int = 1,
                progress: Callable[[int, int], None] | None = None) -> Report:  # fmt: skip
    """Check files and folders; `jobs` > 1 checks images in that many processes, keeping
    the order; `progress(done, total)` is called as images finish."""
    candidates, results = iter_images(paths)
    work = [(path, explicit, options) for path, explicit in candidates]
    if jobs > 1 and len(work) > 1:
        results.extend(_in_processes(work, jobs, progress))
    else:
        results.extend(_collect(map(_check_one_job, work), len(work), progress))
    return Report(results, options)


def _in_processes(work: list[tuple[str, bool, Options]], jobs: int,
                  progress: Callable[[int, int], None] | None) -> list[ImageResult]:  # fmt: skip
    """One image per task, largest files first, so the workers finish together (a tree
    mixes 14 MB bzImages that take 50 ms with 200 KB kernels that take 2); the results
    keep the order of `work`."""
    from concurrent.futures import ProcessPoolExecutor, as_completed

    outcomes: list[ImageResult | None] = [None] * len(work)
    with ProcessPoolExecutor(max_workers=min(jobs, len(work))) as pool:
        largest_first = sorted(range(len(work)), key=lambda index: -_size(work[index][0]))
        index_of = {pool.submit(_check_one_job, work[index]): index for index in largest_first}
        for done, future in enumerate(as_completed(index_of), 1):
            outcomes[index_of[future]] = future.result()
            if progress is not None:
                progress(done, len(work))
    return [outcome for outcome in outcomes if outcome is not None]


def _size(path: str) -> int:
    try:
        return os.stat(path).st_size
    except OSError:  # reported by the worker that opens it
        return 0


def _collect(outcomes: Iterable[ImageResult | None], total: int,
             progress: Callable[[int, int], None] | None) -> list[ImageResult]:  # fmt: skip
    kept = []
    for done, outcome in enumerate(outcomes, 1):
        if outcome is not None:
            kept.append(outcome)
        if progress is not None:
            progress(done, total)
    return kept


def validate(options: Options) -> str | None:
    """An error message for options no command could run with."""
    for target in options.require:
        try:
            profiles.parse_target(target)
        except ValueError as exc:
            return str(exc)
    if options.fail_on not in FAIL_ON:
        return f"--fail-on takes one of {', '.join(FAIL_ON)}"
    if options.max_output is not None and options.max_output <= 0:
        return f"the decompression cap must be positive, not {options.max_output}"
    known = {rule.id for rule in discover_rules()}
    for rule_id, severity in options.severity:
        if rule_id not in known:
            return f"unknown rule {rule_id!r} in a severity override"
        if severity not in SEVERITIES:
            return f"severity {severity!r} for {rule_id} is not one of {', '.join(SEVERITIES)}"
    return None
