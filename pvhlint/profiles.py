"""Loader versions and the profiles that pick one version of each loader.

Rules state facts about every version: a Hit's `rejects` names a target ("xen-pvh": every
version of its loader refuses) or a target at one version ("xen-pvh@4.17": only that version
refuses). Which versions a check models is its profile (`--loaders`, config `loaders`),
overridden per target by `--require TARGET@VERSION`. The default is the newest profile.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Loader(StrEnum):
    XEN = "Xen"
    QEMU = "QEMU"
    GRUB = "GRUB"
    LINUX_LOADER = "linux-loader"


class Profile(StrEnum):
    DEBIAN12 = "debian12"
    DEBIAN13 = "debian13"
    ALL = "all"  # every version of every loader


DEFAULT_PROFILE = Profile.DEBIAN13

# The program whose code decides each target's verdict.
LOADER_OF: dict[str, Loader] = {
    "xen-pvh": Loader.XEN,
    "xen-pv": Loader.XEN,
    "qemu": Loader.QEMU,
    "multiboot1": Loader.GRUB,
    "multiboot2": Loader.GRUB,
    "linux": Loader.GRUB,
    "rust-vmm": Loader.LINUX_LOADER,
}
# The versions modelled, oldest first.
VERSIONS: dict[Loader, tuple[str, ...]] = {
    Loader.XEN: ("4.17", "4.20"),
    Loader.QEMU: ("7.2", "10.0"),
    Loader.GRUB: ("2.06", "2.12"),
    Loader.LINUX_LOADER: ("0.14",),
}
# What each Debian release ships (checked against the real packages by
# tests/test_loader_releases.py); linux-loader is packaged by neither.
PROFILES: dict[Profile, dict[Loader, str]] = {
    Profile.DEBIAN12: dict(zip(Loader, ("4.17", "7.2", "2.06", "0.14"), strict=True)),
    Profile.DEBIAN13: dict(zip(Loader, ("4.20", "10.0", "2.12", "0.14"), strict=True)),
}


@dataclass(frozen=True)
class TargetVersion:
    """A target, at one version of its loader or (version None) at every version."""

    target: str
    version: str | None = None

    def __str__(self) -> str:
        return self.target if self.version is None else f"{self.target}@{self.version}"


def parse_target(text: str) -> TargetVersion:
    """A target, bare ("xen-pvh") or at a version ("xen-pvh@4.17"); ValueError otherwise."""
    target, _, version = text.partition("@")
    if target not in LOADER_OF:
        raise ValueError(f"unknown target {target!r}; targets are {', '.join(LOADER_OF)}")
    if not version:
        if "@" in text:
            raise ValueError(f"{text!r}: give a version after '@'")
        return TargetVersion(target)
    known = VERSIONS[LOADER_OF[target]]
    if version not in known:
        raise ValueError(f"{target}: version {version!r} is not modelled; "
                         f"{LOADER_OF[target]} versions are {', '.join(known)}")  # fmt: skip
    return TargetVersion(target, version)


def versions_in_force(
    profile: Profile, require: tuple[str, ...] = ()
) -> dict[str, tuple[str, ...]]:
    """target -> the versions its verdicts are computed for: the profile's (every version
    for `all`), except where `require` names the target at a version."""
    found: dict[str, tuple[str, ...]] = {}
    for target, loader in LOADER_OF.items():
        if profile is Profile.ALL:
            found[target] = VERSIONS[loader]
        else:
            found[target] = (PROFILES[profile][loader],)
    for text in require:
        wanted = parse_target(text)
        if wanted.version is not None:
            found[wanted.target] = (wanted.version,)
    return found


def rejects_at(rejects: tuple[str, ...], target: str, version: str) -> bool:
    """Whether a finding's `rejects` refuses `target` at `version`."""
    for text in rejects:
        named = parse_target(text)
        if named.target == target and named.version in (None, version):
            return True
    return False


def targets_of(rejects: tuple[str, ...]) -> set[str]:
    """The targets a finding's `rejects` names, at any version."""
    return {parse_target(text).target for text in rejects}


def describe(versions: dict[str, tuple[str, ...]]) -> str:
    """The versions modelled, one entry per loader: "Xen 4.20, QEMU 10.0, GRUB 2.12, ..."."""
    per_loader: dict[Loader, list[str]] = {}
    for target, found in versions.items():
        listed = per_loader.setdefault(LOADER_OF[target], [])
        listed.extend(v for v in found if v not in listed)
    return ", ".join(f"{loader} {'/'.join(sorted(found, key=VERSIONS[loader].index))}"
                     for loader, found in per_loader.items())  # fmt: skip
