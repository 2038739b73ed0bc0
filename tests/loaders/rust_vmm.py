"""Run rust-vmm's linux-loader 0.14 on an image the way Cloud Hypervisor loads a PVH kernel.

``rust_vmm_probe/`` (Cargo.toml, src/main.rs) calls
``linux_loader::loader::elf::Elf::load(&guest_memory, None, &mut file, Some(0x100000))``
(Cloud Hypervisor's vmm/src/vm.rs ``load_kernel``: no kernel offset, highmem start
arch::layout::HIGH_RAM_START) with 512 MiB of guest RAM in one region from 0 (Cloud
Hypervisor's default ``--memory size=512M``) and prints one line::

    ok pvh 0x1000000      loaded, and the last PT_NOTE holds a PVH entry
    ok no-pvh             loaded, no PVH entry (Cloud Hypervisor: KernelMissingPvhHeader)
    err Kernel Loader: failed to load ELF kernel image: Kernel Loader: Invalid Elf magic number

The crates are Debian unstable's (librust-linux-loader-dev 0.14.0, librust-vm-memory-dev
0.18 and the librust-*-dev packages apt's resolver installs with them), downloaded through
fixtures.debian's private apt configuration (/etc/apt is untouched), unpacked with
``dpkg -x`` into $PVHLINT_CACHE/rust-vmm/root (default ~/.cache/pvhlint) and built once,
offline, with ``cargo build --offline --release`` against their /usr/share/cargo/registry
(a ``.cargo/config.toml`` source replacement). The binary is cached by the hash of the probe
source and the crates' versions. Building needs cargo (rustup's ~/.cargo/bin is looked at too)
and, the first time, Debian's archive.

Verdict (pvhlint's rust-vmm target, rule rust-vmm-pvh): accept = ``ok pvh``, path "pvh";
``ok no-pvh`` is a reject (Cloud Hypervisor refuses a kernel without a PVH entry,
KernelMissingPvhHeader), and so is ``err``, whose message is the error's Display. A call
takes a few ms (a Debian vmlinux: ~0.1 s, its PT_LOADs copied into guest memory).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import tempfile
from functools import cache
from pathlib import Path

from .verdict import LoaderVerdict

PROBE = Path(__file__).with_name("rust_vmm_probe")
SOURCES = ("Cargo.toml", "src/main.rs")
PACKAGES = ("librust-linux-loader-dev", "librust-vm-memory-dev")
SUITE = "sid"
CRATE = "linux-loader-0.14.0"  # the release pvhlint's model follows (pvhlint/loaders/rust_vmm.py)
MISSING_PVH = "no PVH entry: Cloud Hypervisor says KernelMissingPvhHeader"
BUILD_TIMEOUT = 900.0


class RustVmmUnavailable(RuntimeError):
    """cargo, Debian's crates or the archive are missing, or the probe does not build."""


def cache_dir() -> Path:
    base = os.environ.get("PVHLINT_CACHE") or Path.home() / ".cache" / "pvhlint"
    return Path(base) / "rust-vmm"


def registry(base: Path | None = None) -> Path:
    return (base or cache_dir()) / "root" / "usr" / "share" / "cargo" / "registry"


def _cargo() -> str:
    found = shutil.which("cargo") or Path.home() / ".cargo" / "bin" / "cargo"
    if not Path(found).is_file():
        raise RustVmmUnavailable("cargo not found (PATH, ~/.cargo/bin)")
    return str(found)


def _lock(base: Path):  # type: ignore[no-untyped-def]
    base.mkdir(parents=True, exist_ok=True)
    handle = open(base / ".lock", "w")  # noqa: SIM115 (held until the build is done)
    fcntl.flock(handle, fcntl.LOCK_EX)
    return handle


def fetch_crates(base: Path | None = None) -> Path:
    """Debian unstable's crates unpacked under `base`/root, fetched once; their registry."""
    from fixtures import debian

    base = base or cache_dir()
    found = registry(base)
    if (found / CRATE).is_dir():
        return found
    try:
        debs = debian.download_with_depends(PACKAGES, SUITE, base / "debs", prefix="librust-")
    except debian.FetchError as exc:
        raise RustVmmUnavailable(f"cannot fetch Debian unstable's crates: {exc}") from None
    with tempfile.TemporaryDirectory(dir=base) as tmp:
        root = Path(tmp) / "root"
        for deb in debs:
            subprocess.run(["dpkg-deb", "-x", str(deb), root], check=True, capture_output=True)
        if not (root / "usr/share/cargo/registry" / CRATE).is_dir():
            raise RustVmmUnavailable(f"Debian unstable no longer ships {CRATE}")
        shutil.rmtree(base / "root", ignore_errors=True)
        root.rename(base / "root")
    return found


def _digest(crates: Path) -> str:
    hashed = hashlib.sha256()
    for name in SOURCES:
        hashed.update((PROBE / name).read_bytes())
    hashed.update(" ".join(sorted(p.name for p in crates.iterdir())).encode())
    return hashed.hexdigest()[:16]


@cache
def probe_binary() -> Path:
    """Fetch the crates and build the probe once (cached); raise RustVmmUnavailable."""
    base = cache_dir()
    cargo = _cargo()
    with _lock(base):
        crates = fetch_crates(base)
        target = base / f"rust_vmm_probe-{_digest(crates)}"
        if target.exists():
            return target
        with tempfile.TemporaryDirectory(dir=base) as tmp:
            build = Path(tmp)
            for name in SOURCES:
                (build / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(PROBE / name, build / name)
            (build / ".cargo").mkdir()
            (build / ".cargo" / "config.toml").write_text(
                '[source.crates-io]\nreplace-with = "debian"\n'
                f'[source.debian]\ndirectory = "{crates}"\n[net]\noffline = true\n'
            )
            proc = subprocess.run(
                ["nice", cargo, "build", "--offline", "--release", "--quiet"],
                cwd=build,
                capture_output=True,
                text=True,
                timeout=BUILD_TIMEOUT,
                check=False,
            )
            if proc.returncode != 0:
                raise RustVmmUnavailable(f"cannot build the rust-vmm probe:\n{proc.stderr}")
            built = build / "target" / "release" / "rust_vmm_probe"
            shutil.copyfile(built, target.with_suffix(".tmp"))
            target.with_suffix(".tmp").chmod(0o755)
            target.with_suffix(".tmp").replace(target)
    return target


def rust_vmm_unavailable_reason() -> str | None:
    """None when the probe builds and runs (no argument: exit 2, usage); else why not."""
    try:
        binary = probe_binary()
    except (RustVmmUnavailable, OSError, subprocess.SubprocessError) as exc:
        return str(exc).splitlines()[0]
    if subprocess.run([binary], capture_output=True, check=False).returncode != 2:
        return f"{binary} does not run"
    return None


def rust_vmm_available() -> bool:
    return rust_vmm_unavailable_reason() is None


def rust_vmm_verdict(path: str | Path, timeout: float = 60.0) -> LoaderVerdict:
    """linux-loader 0.14's Elf::load on `path`, as Cloud Hypervisor calls it."""
    if not Path(path).is_file():
        raise FileNotFoundError(path)
    proc = subprocess.run(
        [probe_binary(), str(path)],
        capture_output=True,
        text=True,
        errors="replace",
        timeout=timeout,
        check=False,
    )
    line = proc.stdout.strip()
    detail = (proc.stdout + proc.stderr).strip()
    if proc.returncode != 0 or not line:
        raise RuntimeError(f"rust_vmm_probe failed ({proc.returncode}):\n{proc.stderr}")
    status = proc.returncode
    if line.startswith("ok pvh "):
        entry = line.removeprefix("ok pvh ")
        return LoaderVerdict("rust-vmm", True, "pvh", f"PVH entry {entry}", detail, status,
                             key_lines=(line,))  # fmt: skip
    if line == "ok no-pvh":
        return LoaderVerdict("rust-vmm", False, None, MISSING_PVH, detail, status,
                             key_lines=(line,))  # fmt: skip
    if line.startswith("err "):
        return LoaderVerdict("rust-vmm", False, None, line.removeprefix("err "), detail, status,
                             key_lines=(line,))  # fmt: skip
    raise RuntimeError(f"rust_vmm_probe: unexpected output {line!r}")
