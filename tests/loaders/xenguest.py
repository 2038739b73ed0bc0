"""Run libxenguest's domain-builder parser (what ``xl create`` runs) on an image, without Xen.

``xenguest_probe.c`` is compiled on first use with ``gcc`` against Debian's libxen-dev
(``-lxenguest -lxenctrl -lxentoollog``) into a cache directory. It opens a dummy xc interface
(``XC_OPENFLAG_DUMMY``), sets ``dom->container_type`` (XC_DOM_HVM_CONTAINER for "pvh",
XC_DOM_PV_CONTAINER for "pv"), fills ``dom->xen_caps`` like ``xc_dom_boot_xen_init`` would
(default: Debian 12's Xen 4.17, which has CONFIG_PV32 off), loads the kernel with
``xc_dom_kernel_mem`` (or ``xc_dom_kernel_file``) and calls ``xc_dom_parse_image``. Both the xc
and the domain-builder logger write to stderr at XTL_DEBUG; that log is ``detail``.

Classification (``xc_dom_parse_image`` ends with ``xc_dom_compat_check``, so rc 0 is the verdict):

* accept = parse rc 0. ``path`` = the loader after which the log says ``loader probe OK``::

      domainbuilder: detail: xc_dom_find_loader: trying Linux bzImage loader ...
      domainbuilder: detail: loader probe OK

  Loaders in probe order: "multiboot-binary", "HVM-generic" -> path "hvm-generic",
  "Linux bzImage" -> "bzimage", "ELF-generic" -> "elf".
* a real PVH boot shows ``xc: detail: ELF: Found PVH image`` and then e.g.
  ``domainbuilder: detail: xc_dom_parse_elf_kernel: hvm-3.0-x86_32: 0x1000000 -> 0x4a00000``
  (``message`` = "Found PVH image"; see ``found_pvh``). A PV accept ends with
  ``xc_dom_parse_elf_kernel: xen-3.0-x86_64: 0xffffffff81000000 -> 0xffffffff84a00000``
  (``message`` = that line without its prefix).
* In an HVM container an ELF32 whose Xen notes do not parse is taken by the HVM-generic
  (hvmloader firmware) loader: accept, path "hvm-generic", guest type hvm-3.0-x86_32, no
  "Found PVH image", no parse line (e.g. xen-4.17-amd64.gz, or a PVH kernel with note owner
  "Xyz"). That is *not* a PVH boot.
* reject: ``message`` is the first ``xc: error: panic: <file>:<line>: <msg>: <errno text>`` with
  only ``<msg>`` kept, e.g.::

      xc: error: panic: xg_dom_core.c:689: xc_dom_find_loader: no loader found: Invalid kernel
      xc: error: panic: xg_dom_elfloader.c:63: xc_dom_guest_type: image not capable of booting
          inside a HVM container: Invalid kernel
      xc: error: panic: xg_dom_hvmloader.c:110: xc_dom_parse_hvm_kernel: ELF image is not
          32bit: Invalid kernel
      xc: error: panic: xg_dom_boot.c:86: xc_dom_compat_check: guest type xen-3.0-x86_32p not
          supported by xen kernel, sorry: Invalid kernel

Gzip: a whole-file gzip is inflated by ``xc_dom_kernel_mem`` exactly as by
``xc_dom_kernel_file`` (both call ``xc_dom_try_gunzip``; the log shows
``xc_dom_do_gunzip: unzip ok, 0x35998 -> 0x7b9b8``), so no special handling is needed.

A call takes ~5 ms for small ELF images, ~0.07 s for the lz4 Debian kernel and ~0.75 s for the
xz one (decompression); the one-off compile takes ~0.2 s.

``release="debian13"``: the same probe source is compiled and run inside the chroot of
``tests.loaders.trixie_root`` against Debian 13's libxenguest 4.20 (same pkg-config modules),
and the default capabilities are that hypervisor's (``XEN_CAPS``).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from functools import cache
from pathlib import Path

from .releases import DEFAULT_RELEASE, Release, ReleaseUnavailable, Runner, runner
from .verdict import LoaderVerdict

SOURCE = Path(__file__).with_name("xenguest_probe.c")
LIBS = ("xenguest", "xencontrol", "xentoollog")
FALLBACK_FLAGS = ("-lxenguest", "-lxenctrl", "-lxentoollog")
DEBIAN12_XEN_CAPS = "xen-3.0-x86_64 hvm-3.0-x86_32 hvm-3.0-x86_32p hvm-3.0-x86_64"
# Debian 13's boot/xen-4.20-amd64.config also has CONFIG_PV32 unset: no xen-3.0-x86_32p.
DEBIAN13_XEN_CAPS = DEBIAN12_XEN_CAPS
XEN_CAPS = {Release.DEBIAN12: DEBIAN12_XEN_CAPS, Release.DEBIAN13: DEBIAN13_XEN_CAPS}
LOADER_PATHS = {
    "multiboot-binary": "multiboot-binary",
    "HVM-generic": "hvm-generic",
    "Linux bzImage": "bzimage",
    "ELF-generic": "elf",
}
TRYING_RE = re.compile(r"xc_dom_find_loader: trying (.+?) loader \.\.\.")
PANIC_RE = re.compile(r"^xc: error: panic: [\w.]+:\d+: (.*): [^:]+$")
PARSE_RE = re.compile(r"^domainbuilder: detail: (xc_dom_parse_\w+_kernel: .*)$")
KEY_RE = re.compile(
    r"trying .* loader|probe OK|Found PVH|xc_dom_parse_\w+_kernel:|error|warning|unzip|"
    r"decompress|not a bzImage|<= matches|xenguest_probe:"
)
FOUND_PVH = "xc: detail: ELF: Found PVH image"


class XenguestUnavailable(RuntimeError):
    """gcc, the libxen headers or the libraries are missing."""


def cache_dir() -> Path:
    """Where the compiled probe lives: $PVHLINT_CACHE or ~/.cache/pvhlint, + /harness."""
    base = os.environ.get("PVHLINT_CACHE") or Path.home() / ".cache" / "pvhlint"
    return Path(base) / "harness"


def link_flags(run: Runner | None = None) -> list[str]:
    """Compiler and linker flags from pkg-config, or the plain -l flags without it."""
    run = run or runner()
    if not run.which("pkg-config"):
        return list(FALLBACK_FLAGS)
    proc = subprocess.run(
        run.command(["pkg-config", "--cflags", "--libs", *LIBS]),
        capture_output=True,
        text=True,
        check=False,
    )
    return proc.stdout.split() if proc.returncode == 0 else list(FALLBACK_FLAGS)


def _probe_dir(run: Runner) -> Path:
    """Where the release's probe is kept: the host cache, or /var/cache/pvhlint in the chroot
    (it must run in there)."""
    return cache_dir() if run.root is None else run.host_path("/var/cache/pvhlint/harness")


@cache
def probe_binary(release: Release | str = DEFAULT_RELEASE) -> Path:
    """Compile ``xenguest_probe.c`` once per release (cached by source hash and flags) and
    return its path on this machine; raise XenguestUnavailable."""
    try:
        run = runner(release)
    except ReleaseUnavailable as exc:
        raise XenguestUnavailable(str(exc)) from None
    if not run.which("gcc"):
        raise XenguestUnavailable("gcc not found")
    flags = link_flags(run)
    digest = hashlib.sha256(SOURCE.read_bytes() + " ".join(flags).encode()).hexdigest()[:16]
    target = _probe_dir(run) / f"xenguest_probe-{digest}"
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        out, source = Path(tmp) / target.name, SOURCE
        if run.root is not None:  # the chroot's gcc must see the source
            source = Path(tmp) / SOURCE.name
            shutil.copyfile(SOURCE, source)
        cmd = ["gcc", "-O1", "-Wall", "-o", run.inside(out), run.inside(source), *flags]
        proc = subprocess.run(run.command(cmd), capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise XenguestUnavailable(f"cannot build the libxenguest probe:\n{proc.stderr}")
        out.replace(target)
    return target


def xenguest_available(release: Release | str = DEFAULT_RELEASE) -> bool:
    """True when the probe can be built (gcc + libxen-dev) and runs (exit 2 = usage)."""
    try:
        binary = probe_binary(Release(release))
    except XenguestUnavailable:
        return False
    usage = runner(release).command([runner(release).inside(binary)])
    return subprocess.run(usage, capture_output=True, check=False).returncode == 2


def loader_path(log_lines: list[str]) -> str | None:
    """The loader whose probe succeeded, as a short path name."""
    current = None
    for line in log_lines:
        match = TRYING_RE.search(line)
        if match:
            current = match.group(1)
        elif line.endswith("loader probe OK") and current is not None:
            return LOADER_PATHS.get(current, current)
    return None


def error_message(log_lines: list[str]) -> str:
    """The first panic's message, stripped of file:line and errno text."""
    for line in log_lines:
        match = PANIC_RE.match(line)
        if match:
            return match.group(1)
    errors = [ln for ln in log_lines if "error" in ln or "xenguest_probe:" in ln]
    return errors[0] if errors else "xc_dom_parse_image failed"


def accept_message(log_lines: list[str], path: str | None, guest_type: str | None) -> str:
    """'Found PVH image', else the xc_dom_parse_*_kernel line, else the loader used."""
    if FOUND_PVH in log_lines:
        return "Found PVH image"
    for line in log_lines:
        match = PARSE_RE.match(line)
        if match:
            return match.group(1)
    return f"{path} loader, guest type {guest_type}"


def _guest_type(stdout: str) -> str | None:
    for line in stdout.splitlines():
        if line.startswith("guest_type="):
            return line.removeprefix("guest_type=") or None
    return None


def xen_verdict(
    path: str | Path,
    mode: str = "pvh",
    *,
    caps: str | None = None,
    load: str = "mem",
    timeout: float = 30.0,
    release: Release | str = DEFAULT_RELEASE,
) -> LoaderVerdict:
    """Parse ``path`` with libxenguest as a ``mode`` ("pvh" or "pv") domU kernel.

    ``caps`` is the hypervisor capability string the guest type must match (default: the
    release's hypervisor, ``XEN_CAPS``); ``load`` picks ``xc_dom_kernel_mem`` ("mem") or
    ``xc_dom_kernel_file`` ("file").
    """
    if mode not in ("pvh", "pv") or load not in ("mem", "file"):
        raise ValueError(f"bad mode/load: {mode!r}/{load!r}")
    if not Path(path).is_file():
        raise FileNotFoundError(path)
    release = Release(release)
    run = runner(release)
    caps = XEN_CAPS[release] if caps is None else caps
    with run.visible(path) as seen:
        cmd = run.command([run.inside(probe_binary(release)), mode, load, caps, seen])
        proc = subprocess.run(
            cmd, capture_output=True, text=True, errors="replace", timeout=timeout, check=False
        )
    if proc.returncode not in (0, 1, 3):
        raise RuntimeError(f"xenguest_probe failed ({proc.returncode}):\n{proc.stderr}")
    lines = proc.stderr.splitlines()
    keys = tuple(ln for ln in lines if KEY_RE.search(ln))
    guest_type = _guest_type(proc.stdout)
    loader = f"xen-{mode}"
    if proc.returncode != 0:
        return LoaderVerdict(
            loader,
            False,
            None,
            error_message(lines),
            proc.stderr,
            proc.returncode,
            guest_type,
            keys,
        )
    lpath = loader_path(lines)
    return LoaderVerdict(
        loader,
        True,
        lpath,
        accept_message(lines, lpath, guest_type),
        proc.stderr,
        0,
        guest_type,
        keys,
    )


def found_pvh(verdict: LoaderVerdict) -> bool:
    """True when libelf saw PHYS32_ENTRY in an HVM container and the parse succeeded."""
    return verdict.accept and FOUND_PVH in verdict.key_lines
