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
from .config import resolve_max_output
from .errors import ImageError
from .image import open_image
from .loaders import run_all
from .loaders.grub import grub_layer, grub_mb1, grub_mb2
from .loaders.qemu import qemu_path
from .loaders.xen import xen_first_loader, xen_parse
from .model import Image
from .multiboot import MULTIBOOT
from .profiles import DEFAULT_PROFILE, Profile
from .rule import SEVERITIES, TARGETS, Finding, Rule, Scope, discover_rules, fix_of
from .rulekit import XEN_TARGETS
from .xennotes import XenNote

FAIL_ON = ("info", "warning", "error", "never")
CHECK_SCHEMA_VERSION = 1  # of the JSON report (docs/check-json.md)
# Version-control metadata inside a checked folder: never images (git keeps packed objects).
VCS_FOLDERS = frozenset({".git", ".hg", ".svn", ".bzr", "_darcs", "CVS", ".jj", ".pijul"})
NO_TARGET = ("claims no boot target (no Xen note, multiboot header or Linux setup header): "
             "not a kernel image, or name the targets it must boot on with --require")  # fmt: skip


@dataclass(frozen=True)
class Options:
    """What a check was asked (`pvhlint.check`'s arguments, after the configuration)."""

    require: tuple[str, ...] = ()  # targets, each optionally at a version: "xen-pvh@4.17"
    loaders: Profile = DEFAULT_PROFILE  # the loader versions verdicts are computed for
    select: tuple[str, ...] = ()  # rule ids or id prefixes to show (empty: all)
    ignore: tuple[str, ...] = ()
    severity: tuple[tuple[str, str], ...] = ()  # (rule id, severity) overrides
    fail_on: str = "error"
    max_output: int | None = None  # decompression cap; None: pvhlint.config.resolve_max_output
    pvh_only: bool = False  # xen-pvh required, and notes only Xen PV reads are errors
    # (glob, rule ids or prefixes): hidden in images whose path matches the glob
    per_path_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()


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
    def message(self) -> str | None:
        """The loader's own words where it stops, for the first version that refuses."""
        return next((v.message for v in self.versions.values() if v.message), None)

    @property
    def undefined(self) -> bool:
        """A version refuses only by reading memory that is not the image's: what the loader
        does then is not known (it may load, refuse or crash)."""
        return any(v.undefined for v in self.versions.values())

    @property
    def split(self) -> bool:
        """The versions in force disagree."""
        return len({v.accept for v in self.versions.values()}) > 1

    def to_dict(self) -> dict[str, object]:
        data: dict[str, object] = {"verdict": _word(self.accept),
                                   "rules": self.rules, "required": self.required}  # fmt: skip
        if self.path is not None:
            data["path"] = self.path
        if self.message is not None:
            data["message"] = self.message
        if self.undefined:
            data["undefined"] = True
        data["versions"] = {version: v.to_dict() for version, v in self.versions.items()}
        return data


@dataclass(frozen=True)
class VersionVerdict:
    """One version's verdict: accept, the ids of the rules that make it reject, the
    loader's message where it stops (when its model names one), and whether that stop
    depends on memory that is not the image's."""

    accept: bool
    rules: list[str]
    message: str | None = None
    undefined: bool = False

    def to_dict(self) -> dict[str, object]:
        data: dict[str, object] = {"verdict": _word(self.accept), "rules": self.rules}
        if self.message is not None:
            data["message"] = self.message
        if self.undefined:
            data["undefined"] = True
        return data


def _word(accept: bool) -> str:
    return "accept" if accept else "reject"


@dataclass
class ImageResult:
    """One image's result: `error` (why it could not be read, else None), the shown
    `findings` (sorted by layer, then offset), `verdicts` keyed by every target, the
    `required` targets and where they came from ("option" or "claimed"), and the opened
    `image` (its model, without the file's bytes)."""

    path: str
    image: Image | None = None
    error: str | None = None
    findings: list[Finding] = field(default_factory=list)
    verdicts: dict[str, Verdict] = field(default_factory=dict)
    required: tuple[str, ...] = ()
    required_from: str = "claimed"  # "option" (--require or config) | "claimed"
    pvh_only: bool = False  # --pvh-only: notes only Xen PV reads are errors
    versions: dict[str, tuple[str, ...]] = field(default_factory=dict)  # target -> in force

    def to_dict(self) -> dict[str, Any]:
        """The JSON report's IMAGE object (docs/check-json.md)."""
        if self.error is not None:
            return {"path": self.path, "error": self.error}
        image = self.image
        assert image is not None
        return {
            "path": self.path,
            "format": image.format,
            "kernel_format": image.kernel_format,
            "layers": [
                {
                    "index": layer.index,
                    "kind": layer.kind,
                    "format": layer.format,
                    "codec": layer.codec,
                    "parent": layer.parent,
                    "offset": layer.offset,
                    "size": layer.size,
                }
                for layer in image.layers
            ],
            "required": list(self.required),
            "required_from": self.required_from,
            "pvh_only": self.pvh_only,
            "findings": [
                {
                    "rule": f.rule,
                    "severity": f.severity,
                    "message": f.message,
                    "layer": f.layer,
                    "layer_kind": image.layers[f.layer].kind,
                    "offset": f.offset,
                    "length": f.length,
                    "rejects": list(f.rejects),
                    "fix": fix_of(f.rule),
                }
                for f in self.findings
            ],
            "verdicts": {target: self.verdicts[target].to_dict() for target in TARGETS},
        }


@dataclass
class Report:
    """What `pvhlint.check` returns: one result per image, in the order given
    (directories expanded in place), and the options it ran with."""

    results: list[ImageResult]
    options: Options

    def to_dict(self) -> dict[str, Any]:
        """The JSON report, what `pvhlint check --format json` prints (which also names
        the configuration file the command line read, `config`: None here)."""
        return {"version": CHECK_SCHEMA_VERSION, "config": None,
                "images": [result.to_dict() for result in self.results]}  # fmt: skip

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
    entry_note = pv is not None and any(n.type == XenNote.ENTRY for n in pv.notes)
    if entry_note or (pv is not None and pv.source == "__xen_guest"):
        claimed.add("xen-pv")
    if image.xen_bin_table is not None:  # libxenguest's multiboot-binary loader starts it
        claimed.add("xen-pv")
    layer = grub_layer(image)
    for header in image.multiboot:
        near = 2 * MULTIBOOT[header.version].window
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


def required_targets(options: Options, image: Image) -> tuple[str, ...]:
    """--require (or the configuration), else what the image claims; --pvh-only requires
    xen-pvh and never xen-pv."""
    required = set(required_names(options.require) or claimed_targets(image))
    if options.pvh_only:
        required = (required | {"xen-pvh"}) - {"xen-pv"}
    return tuple(target for target in TARGETS if target in required)


def check_image(image: Image, options: Options) -> ImageResult:
    required = required_targets(options, image)
    required_set = frozenset(required)
    versions = profiles.versions_in_force(options.loaders, options.require)
    result = ImageResult(image.path, image, required=required,
                         required_from="option" if options.require else "claimed",
                         pvh_only=options.pvh_only, versions=versions)  # fmt: skip
    overrides = dict(options.severity)
    every: list[Finding] = []
    xen_loader = xen_first_loader(image)
    scope = Scope(required_set, options.pvh_only)
    for rule in discover_rules():
        if rule.when is not None and not rule.when(scope):
            continue
        found = rule.run(image)
        every.extend(found if rule.xen_loader == xen_loader else _not_for_xen(rule, found))
    result.verdicts = _verdicts(image, every, required_set, versions)
    targets_of = {rule.id: rule.targets for rule in discover_rules()}
    for finding in every:
        # A reject of a required target fails the run whatever --select/--ignore say.
        required_reject = profiles.targets_of(finding.rejects) & required_set
        if not required_reject and _hidden(finding.rule, options, image.path):
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


def _hidden(rule_id: str, options: Options, path: str) -> bool:
    """--select/--ignore and per-path ignores: whether a finding that rejects no required
    target is hidden."""
    if options.select and not _matches(rule_id, options.select):
        return True
    if _matches(rule_id, options.ignore):
        return True
    return any(_matches(rule_id, rules) for glob, rules in options.per_path_ignores
               if path_matches(path, glob))  # fmt: skip


def path_matches(path: str, glob: str) -> bool:
    """`vmlinuz-*` matches any such file name, `boot/*.efi` a path ending so (matched from
    the right, as pathlib does), `/srv/old/*` the whole path."""
    from fnmatch import fnmatchcase
    from pathlib import PurePath

    return fnmatchcase(path, glob) or PurePath(path).match(glob)


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
    outcomes = {outcome.loader: outcome for outcome in run_all(image)}
    for target in TARGETS:
        per_version = {}
        outcome = outcomes.get(profiles.LOADER_OF[target])
        for version in versions[target]:
            found = sorted({f.rule for f in findings
                            if profiles.rejects_at(f.rejects, target, version)})  # fmt: skip
            stop = outcome.refusal(target, version) if outcome and found else None
            per_version[version] = VersionVerdict(not found, found, stop and stop.message,
                                                  bool(stop and stop.undefined))  # fmt: skip
        rules = sorted({rule for v in per_version.values() for rule in v.rules})
        verdicts[target] = Verdict(not rules, rules, target in required, versions=per_version)
    verdicts["qemu"].path = qemu_path(image).replace("zimage", "linux")
    return verdicts


def iter_images(paths: list[str]) -> tuple[list[tuple[str, bool]], list[ImageResult]]:
    """(path, given explicitly) for every file, and errors for folders that cannot be read.
    Inside a folder, files that are not kernels (and dangling symlinks) are skipped; broken
    kernels are not."""
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
            dirs[:] = sorted(name for name in dirs if name not in VCS_FOLDERS)
            paths_here = (os.path.join(root, name) for name in sorted(files))
            # A dangling symlink names no file: nothing to check (skipped like a non-kernel).
            found.extend((path, False) for path in paths_here if os.path.exists(path))
        if len(found) == before and not errors:
            errors.append(ImageResult(path, error="directory holds no files"))
    return found, errors


def check_one(path: str, explicit: bool, options: Options) -> ImageResult | None:
    """One image's result; None for a file inside a folder that is simply not a kernel."""
    try:
        image = prefetch.take(path, options.max_output) or open_image(
            path, lenient=True, max_output=resolve_max_output(path, options.max_output)
        )
    except ImageError as exc:
        if explicit or not exc.not_a_kernel:
            return ImageResult(path, error=exc.message)
        return None
    if not options.require and not options.pvh_only and not claimed_targets(image):
        # Nothing to check it against: /bin/ls, an object file, a shared library.
        if not explicit:
            return None
        return ImageResult(path, error=NO_TARGET)
    result = check_image(image, options)
    image.blobs.clear()  # the file's bytes and decoders: not needed by reports, not picklable
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
    results.extend(_folders_without_kernels(paths, candidates, results))
    return Report(results, options)


def _folders_without_kernels(paths: list[str], candidates: list[tuple[str, bool]],
                             results: list[ImageResult]) -> list[ImageResult]:  # fmt: skip
    """A folder whose files were all skipped as not kernels fails like an empty one."""
    reported = {result.path for result in results}
    empty = []
    for path in filter(os.path.isdir, paths):
        folder = os.path.normpath(path)
        inside = [name for name, explicit in candidates
                  if not explicit and os.path.commonpath([folder, name]) == folder]  # fmt: skip
        if inside and not reported.intersection(inside):
            empty.append(ImageResult(path, error=f"directory holds no kernel images ({len(inside)} "
                                                 "file(s) skipped: not kernels)"))  # fmt: skip
    return empty


def _in_processes(work: list[tuple[str, bool, Options]], jobs: int,
                  progress: Callable[[int, int], None] | None) -> list[ImageResult]:  # fmt: skip
    """One image per task, largest files first, so the workers finish together (a tree
    mixes 14 MB bzImages that take 50 ms with 200 KB kernels that take 2); the results
    keep the order of `work`. A task that fails, or whose worker dies, is that image's
    error line; images the dead worker's pool had not finished are checked again, each in
    a fresh process, so one image cannot lose the others' results."""
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool

    outcomes: dict[int, ImageResult | None] = {}
    largest_first = sorted(range(len(work)), key=lambda index: -_size(work[index][0]))
    with ProcessPoolExecutor(max_workers=min(jobs, len(work))) as pool:
        index_of = {pool.submit(_check_one_job, work[index]): index for index in largest_first}
        for future in as_completed(index_of):
            index = index_of[future]
            try:
                outcomes[index] = future.result()
            except BrokenProcessPool:
                continue  # checked again below, alone
            except Exception as exc:
                outcomes[index] = _failed(work[index][0], exc)
            if progress is not None:
                progress(len(outcomes), len(work))
    for index in largest_first:
        if index not in outcomes:
            outcomes[index] = _alone(work[index])
            if progress is not None:
                progress(len(outcomes), len(work))
    return [item for item in (outcomes[i] for i in range(len(work))) if item is not None]


def _alone(job: tuple[str, bool, Options]) -> ImageResult | None:
    """`job` in a process of its own: its death is its own error line."""
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=1) as pool:
        try:
            return pool.submit(_check_one_job, job).result()
        except Exception as exc:
            return _failed(job[0], exc)


def _failed(path: str, exc: BaseException) -> ImageResult:
    from concurrent.futures.process import BrokenProcessPool

    if isinstance(exc, BrokenProcessPool):
        return ImageResult(path, error="the process checking it died (killed by a signal, "
                           "or out of memory)")  # fmt: skip
    return ImageResult(path, error=f"internal error: {type(exc).__name__}: {exc}")


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
    if options.pvh_only and "xen-pv" in options.require:
        return "--pvh-only contradicts requiring xen-pv"
    known = {rule.id for rule in discover_rules()}
    ignored = [rule for _, rules in options.per_path_ignores for rule in rules]
    for flag, patterns in (("--select", options.select), ("--ignore", options.ignore),
                           ("per-path-ignores", tuple(ignored))):  # fmt: skip
        for pattern in patterns:
            if not any(_matches(rule_id, (pattern,)) for rule_id in known):
                return f"{flag}: no rule matches {pattern!r}{_did_you_mean(pattern, known)}"
    for rule_id, severity in options.severity:
        if rule_id not in known:
            return f"unknown rule {rule_id!r} in a severity override"
        if severity not in SEVERITIES:
            return f"severity {severity!r} for {rule_id} is not one of {', '.join(SEVERITIES)}"
    return None


def _did_you_mean(pattern: str, known: set[str]) -> str:
    """'; did you mean 'xen-'?' for a prefix without its dash, else the closest rule id."""
    import difflib

    if any(rule_id.startswith(pattern + "-") for rule_id in known):
        return f"; did you mean {pattern + '-'!r} (a prefix ends in '-')?"
    close = difflib.get_close_matches(pattern, sorted(known), n=1)
    return f"; did you mean {close[0]!r}?" if close else "; `pvhlint rules` lists the rule ids"
