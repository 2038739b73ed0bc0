"""Run GRUB 2.06's real `multiboot`, `multiboot2` or `linux` command on an image, in QEMU.

``grub-file`` answers only "is there a header" (magic and checksum); GRUB's loaders check much
more (flags, ELF class and machine, tags, address fields). This harness asks the loader itself:

* ``grub-mkimage -O i386-pc`` builds a GRUB core image (Debian 12 ``grub-pc-bin``) whose
  embedded config switches the terminal to COM1, runs ``<command> (hd0)/k`` and then writes
  port 0xf4 (QEMU's ``isa-debug-exit``) so QEMU exits at once. One core image per command is
  built per process and cached.
* ``lnxboot.img`` + the core image is a Linux-boot-protocol kernel, so ``qemu -kernel`` starts
  GRUB directly (no disk boot sector needed); the image under test is the only file of a tar
  archive attached as the first IDE disk, which GRUB's ``tar`` module reads as a filesystem
  (no size limit, unlike an embedded memdisk).
* GRUB prints a failed command as ``error: <msg>.`` on the serial console. The verdict is a
  reject when such a line appears between the markers, or when the END marker never appears:
  GRUB hung (``message`` "hang", QEMU killed after ``timeout``) or crashed (``message``
  "crash", QEMU stopped by itself). Observed: a Multiboot 1 a.out header whose bss_end_addr is
  below the load end makes GRUB zero memory with a wrapped length and hang; a Multiboot 2 tag
  of size 0 makes it loop forever.

``gzio`` and ``xzio`` are loaded, as in grub-mkconfig's menu entries, so ``xen.gz`` loads
transparently. A call takes about 0.4 s (plus the ``timeout`` for a hang).

``release="debian13"`` builds the core image with Debian 13's GRUB 2.12 and boots it in Debian
13's QEMU 10.0, both in the chroot of ``tests.loaders.trixie_root``.
"""

from __future__ import annotations

import atexit
import shutil
import subprocess
import tarfile
import tempfile
import threading
from pathlib import Path

from .releases import DEFAULT_RELEASE, Release, Runner, available, runner
from .verdict import LoaderVerdict

GRUB_PC = Path("/usr/lib/grub/i386-pc")
COMMANDS = ("multiboot", "multiboot2", "linux")
MODULES = ("tar", "biosdisk", "serial", "terminal", "echo", "iorw", "gzio", "xzio", *COMMANDS)
BEGIN, END = "PVHLINT-BEGIN", "PVHLINT-END"
_CORES: dict[tuple[Release, str], Path] = {}
_LOCK = threading.Lock()
_WORKDIRS: dict[Release, Path] = {}


def grub_boot_available(release: Release | str = DEFAULT_RELEASE) -> bool:
    """True when grub-mkimage, GRUB's i386-pc modules (grub-pc-bin) and QEMU are installed."""
    if Release(release) is DEFAULT_RELEASE:
        return (
            shutil.which("grub-mkimage") is not None
            and (GRUB_PC / "lnxboot.img").is_file()
            and shutil.which("qemu-system-x86_64") is not None
        )
    if not available(release):
        return False
    run = runner(release)
    return (
        run.which("grub-mkimage")
        and run.host_path(GRUB_PC / "lnxboot.img").is_file()
        and run.which("qemu-system-x86_64")
    )


def _workdir(run: Runner) -> Path:
    """The per-process directory of core images (inside the release's root for Debian 13)."""
    if run.release not in _WORKDIRS:
        base = None if run.root is None else run.host_path("/tmp")
        _WORKDIRS[run.release] = Path(tempfile.mkdtemp(prefix="pvhlint-grub-", dir=base))
        atexit.register(shutil.rmtree, _WORKDIRS[run.release], ignore_errors=True)
    return _WORKDIRS[run.release]


def _core(command: str, run: Runner) -> Path:
    """lnxboot.img + a core image that runs `command (hd0)/k`, built once per process and
    release; its path on this machine."""
    with _LOCK:
        if (run.release, command) in _CORES:
            return _CORES[run.release, command]
        work = _workdir(run)
        config = work / f"{command}.cfg"
        config.write_text(
            "serial --unit=0 --speed=115200\nterminal_output serial\nterminal_input serial\n"
            f"echo {BEGIN}\n{command} (hd0)/k\necho {END}\noutb 0xf4 0x00\n"
        )
        core = work / f"{command}.core"
        subprocess.run(
            run.command(["grub-mkimage", "-O", "i386-pc", "-o", run.inside(core),
                         "-c", run.inside(config), "-p", "(hd0)", *MODULES]),
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
        kernel = work / f"{command}.lnx"
        lnxboot = run.host_path(GRUB_PC / "lnxboot.img")
        kernel.write_bytes(lnxboot.read_bytes() + core.read_bytes())
        _CORES[run.release, command] = kernel
        return kernel


def _console(raw: bytes) -> list[str]:
    """Serial output between the markers, escape sequences and blank lines removed."""
    text = raw.decode("latin-1").replace("\r", "")
    lines = []
    for line in text.split("\n"):
        while "\x1b[" in line:
            start = line.index("\x1b[")
            end = start + 2
            while end < len(line) and not line[end].isalpha():
                end += 1
            line = line[:start] + line[end + 1 :]
        if line.strip():
            lines.append(line.strip())
    if any(BEGIN in line for line in lines):
        lines = lines[next(i for i, line in enumerate(lines) if BEGIN in line) + 1 :]
    return lines


def grub_load_verdict(
    path: str | Path,
    command: str,
    *,
    timeout: float = 60.0,
    retries: int = 1,
    release: Release | str = DEFAULT_RELEASE,
) -> LoaderVerdict:
    """Run GRUB's `command` ("multiboot", "multiboot2" or "linux") on the file at `path`.

    ``path`` of the verdict is the command; ``message`` is GRUB's error line without the
    "error: " prefix and final full stop, "hang", "crash", or "" when the command succeeded.
    A hang is tried again `retries` times: on a loaded machine a boot can stall past the
    timeout, while a real hang repeats."""
    run = runner(release)
    verdict = _run(path, command, timeout, run)
    while verdict.message == "hang" and retries > 0:
        retries -= 1
        verdict = _run(path, command, timeout, run)
    return verdict


def _run(path: str | Path, command: str, timeout: float, run: Runner) -> LoaderVerdict:
    if command not in COMMANDS:
        raise ValueError(f"unknown GRUB command {command!r}; expected one of {COMMANDS}")
    if not Path(path).is_file():
        raise FileNotFoundError(path)
    kernel = _core(command, run)
    with run.scratch("pvhlint-grub-run-") as (tmp, _):
        disk, serial = tmp / "disk.tar", tmp / "serial"
        with tarfile.open(disk, "w", format=tarfile.USTAR_FORMAT) as archive:
            archive.add(str(path), arcname="k")
        with disk.open("ab") as handle:  # whole sectors for the IDE disk
            handle.write(b"\0" * (-disk.stat().st_size % 512))
        cmd = ["qemu-system-x86_64", "-nographic", "-nodefaults", "-display", "none",
               "-m", "1024", "-no-reboot", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
               "-serial", f"file:{run.inside(serial)}", "-kernel", run.inside(kernel),
               "-drive", f"file={run.inside(disk)},format=raw,if=ide,index=0"]  # fmt: skip
        cmd = run.command(cmd)
        try:
            proc = subprocess.run(cmd, capture_output=True, timeout=timeout, check=False)
            status: int | None = proc.returncode
        except subprocess.TimeoutExpired:
            status = None
        lines = _console(serial.read_bytes() if serial.exists() else b"")
    done = END in lines
    errors = [line for line in lines if line.startswith("error: ")]
    if errors:
        message = errors[0].removeprefix("error: ").removesuffix(".")
    elif not done:
        message = "hang" if status is None else "crash"
    else:
        message = ""
    accept = done and not errors
    detail = f"$ {' '.join(cmd)}\nexit status {status}\nconsole:\n" + "\n".join(lines)
    return LoaderVerdict("grub", accept, command, message, detail, status,
                         key_lines=tuple(errors))  # fmt: skip
