"""Run QEMU's x86 ``-kernel`` loader on an image and report what it did.

``qemu_verdict`` starts the machine paused (``-S``) with a QMP monitor on stdin/stdout and feeds it
``qmp_capabilities``, ``info roms`` and ``quit`` up front. QEMU creates the monitor *before* it
loads the kernel but only executes commands once the main loop runs, i.e. after the loader has
finished. So the outcome is deterministic and needs no sleeping:

* loader error: QEMU prints ``qemu-system-x86_64: <msg>`` on stderr and exits (status 1) before
  answering; stdout holds only the QMP greeting. Observed messages (QEMU 7.2.22, Debian 12):
  ``Cannot load x86-64 image, give a 32bit one.`` (gnumach-1.8-486),
  ``Error loading uncompressed kernel without PVH ELF Note`` (PT_NOTE p_align 8 on 4-padded notes).
* PT_NOTE with p_align 0 on the PVH path: QEMU dies of SIGFPE (returncode -8, shell status 136)
  with empty stderr; reported as a reject with message "crash".
* NOT deterministic: Debian's ``grub-i386-xen.bin`` (ELF32, PT_NOTE of 0x84 bytes with six Xen
  notes, none of type 18, the last one's descsz running past the segment) gives SIGSEGV
  (returncode -11, in ``load_elf_ram_sym``) in ~2 of 3 runs and
  ``Error loading uncompressed kernel without PVH ELF Note`` otherwise; ASLR decides (under
  gdb, with randomization off, it never crashes). QEMU's note walk evidently reads past its
  buffer when no type-18 note is found. Both outcomes are rejects. QEMU 10.0 (Debian 13) does
  the same, on Debian 12's and 13's grub-i386-xen.bin alike (8 crashes in 12 runs each).
* QEMU 10.0 refuses a PT_LOAD with p_filesz > p_memsz: ``Error while loading elf kernel``.
  QEMU 7.2 reports nothing and never answers the monitor (``subprocess.TimeoutExpired``).
* accepted: all three commands are answered; ``info roms`` names the option ROM of the path taken:
  ``fw=genroms/linuxboot_dma.bin`` (Linux boot protocol, also the ancient-zImage fallback),
  ``fw=genroms/multiboot_dma.bin`` (Multiboot 1) or ``fw=genroms/pvh.bin`` (PVH note). Without
  fw_cfg DMA the first two are ``linuxboot.bin`` / ``multiboot.bin``. Warnings such as
  ``multiboot knows VBE. we don't`` still go to stderr and end up in ``message``.

A call takes about 0.05–0.1 s.

``release="debian13"`` runs Debian 13's QEMU 10.0 in the chroot of ``tests.loaders.trixie_root``
instead (the image is linked into the chroot for the call); the default is Debian 12's QEMU 7.2.

``qemu_boot`` really runs the guest with ``isa-debug-exit`` on port 0xf4 and captures port 0xe9
(``-debugcon``) and COM1 (``-serial``) into files.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from .releases import DEFAULT_RELEASE, Release, available, runner
from .verdict import LoaderVerdict

DEFAULT_BINARY = "qemu-system-x86_64"
QMP_SCRIPT = b"".join(
    json.dumps(cmd).encode() + b"\n"
    for cmd in (
        {"execute": "qmp_capabilities"},
        {"execute": "human-monitor-command", "arguments": {"command-line": "info roms"}},
        {"execute": "quit"},
    )
)
ROM_PATHS = (("pvh.bin", "pvh"), ("multiboot", "multiboot"), ("linuxboot", "linux"))


def qemu_available(binary: str = DEFAULT_BINARY, release: Release | str = DEFAULT_RELEASE) -> bool:
    """True when the QEMU binary is on PATH (in the release's root for Debian 13)."""
    if Release(release) is DEFAULT_RELEASE:
        return shutil.which(binary) is not None
    return available(release) and runner(release).which(binary)


def _base_cmd(path: str | Path, binary: str, machine: str, memory_mb: int) -> list[str]:
    return [
        binary,
        "-nographic",
        "-nodefaults",
        "-display",
        "none",
        "-machine",
        machine,
        "-m",
        str(memory_mb),
        "-kernel",
        str(path),
    ]


def _qmp_messages(stdout: bytes) -> list[dict]:
    messages = []
    for line in stdout.decode(errors="replace").splitlines():
        try:
            messages.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return messages


def _roms_text(messages: list[dict]) -> str | None:
    """The ``info roms`` answer, or None if QEMU never answered (loader failed)."""
    answers = [m["return"] for m in messages if isinstance(m.get("return"), str)]
    return answers[0] if answers else None


def boot_path_from_roms(roms: str) -> str | None:
    """Map ``info roms`` output to "pvh", "multiboot" or "linux" (None if no boot ROM)."""
    for line in roms.splitlines():
        if not line.startswith("fw=genroms/"):
            continue
        for needle, path in ROM_PATHS:
            if needle in line:
                return path
    return None


def strip_prefix(line: str, binary: str) -> str:
    """Drop QEMU's ``qemu-system-x86_64: `` error_report prefix from a stderr line."""
    prefix = Path(binary).name + ": "
    return line[len(prefix) :] if line.startswith(prefix) else line


def _signal_name(returncode: int) -> str:
    try:
        return signal.Signals(-returncode).name
    except ValueError:
        return f"signal {-returncode}"


def qemu_verdict(
    path: str | Path,
    *,
    machine: str = "pc",
    binary: str = DEFAULT_BINARY,
    timeout: float = 10.0,
    memory_mb: int = 256,
    release: Release | str = DEFAULT_RELEASE,
) -> LoaderVerdict:
    """Ask QEMU's ``-kernel`` loader whether it takes ``path`` and which boot path it chose.

    Raises ``subprocess.TimeoutExpired`` if QEMU neither fails nor answers within ``timeout``.
    """
    if not Path(path).is_file():
        raise FileNotFoundError(path)
    run = runner(release)
    with run.visible(path) as seen:
        cmd = run.command([*_base_cmd(seen, binary, machine, memory_mb), "-S", "-qmp", "stdio"])
        proc = subprocess.run(
            cmd, input=QMP_SCRIPT, capture_output=True, timeout=timeout, check=False
        )
    stderr = proc.stderr.decode(errors="replace")
    lines = tuple(ln for ln in stderr.splitlines() if ln.strip())
    roms = _roms_text(_qmp_messages(proc.stdout))
    detail = f"$ {' '.join(cmd)}\nexit status {proc.returncode}\nstderr:\n{stderr}"
    detail += f"\ninfo roms:\n{roms}" if roms is not None else ""
    if proc.returncode < 0:
        return LoaderVerdict(
            "qemu",
            False,
            None,
            "crash",
            detail + f"\nkilled by {_signal_name(proc.returncode)}",
            proc.returncode,
            key_lines=lines,
        )
    message = "\n".join(strip_prefix(ln, binary) for ln in lines)
    if roms is None:
        return LoaderVerdict("qemu", False, None, message, detail, proc.returncode, key_lines=lines)
    return LoaderVerdict(
        "qemu", True, boot_path_from_roms(roms), message, detail, proc.returncode, key_lines=lines
    )


@dataclass(frozen=True)
class BootResult:
    """What a real guest run produced.

    debugcon:    bytes written to I/O port 0xe9.
    serial:      bytes written to COM1.
    exit_status: QEMU's exit status (isa-debug-exit gives ``(value << 1) | 1``; negative = killed
                 by that signal, e.g. -9 after a timeout or once ``expect`` was seen).
    stderr:      QEMU's stderr (loader errors end up here).
    timed_out:   True when the guest was still running after ``timeout``.
    expect_seen: True when ``expect`` appeared on port 0xe9 or the serial console.
    """

    debugcon: bytes
    serial: bytes
    exit_status: int | None
    stderr: str
    timed_out: bool = False
    expect_seen: bool = False


def _read(path: Path) -> bytes:
    return path.read_bytes() if path.exists() else b""


def _wait(
    proc: subprocess.Popen, outs: tuple[Path, Path], expect: bytes | None, timeout: float
) -> tuple[bool, bool]:
    """Poll until QEMU exits, ``expect`` shows up, or time runs out: (timed_out, seen)."""
    deadline = time.monotonic() + timeout
    while proc.poll() is None:
        if expect is not None and any(expect in _read(p) for p in outs):
            return False, True
        if time.monotonic() > deadline:
            return True, False
        time.sleep(0.02)
    return False, expect is not None and any(expect in _read(p) for p in outs)


def qemu_boot(
    path: str | Path,
    *,
    timeout: float = 10.0,
    expect: bytes | None = None,
    machine: str = "pc",
    binary: str = DEFAULT_BINARY,
    memory_mb: int = 256,
    append: str | None = None,
    release: Release | str = DEFAULT_RELEASE,
) -> BootResult:
    """Boot ``path`` for real and collect port 0xe9 and serial output.

    Stops when QEMU exits (e.g. via isa-debug-exit), when ``expect`` has been printed on either
    channel, or after ``timeout`` seconds (QEMU is then killed; ``timed_out`` is set).
    """
    if not Path(path).is_file():
        raise FileNotFoundError(path)
    run = runner(release)
    with run.scratch("pvhlint-qemu-") as (tmp, seen_tmp), run.visible(path) as seen:
        outs = (tmp / "debugcon", tmp / "serial")
        cmd = [
            *_base_cmd(seen, binary, machine, memory_mb),
            "-no-reboot",
            "-device",
            "isa-debug-exit,iobase=0xf4,iosize=0x04",
            "-debugcon",
            f"file:{seen_tmp}/debugcon",
            "-serial",
            f"file:{seen_tmp}/serial",
        ]
        cmd += ["-append", append] if append is not None else []
        cmd = run.command(cmd)
        err = tmp / "stderr"
        with (
            err.open("wb") as err_file,
            subprocess.Popen(
                cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err_file
            ) as proc,
        ):
            timed_out, seen = _wait(proc, outs, expect, timeout)
            if proc.poll() is None:
                proc.kill()
            proc.wait()
        return BootResult(
            _read(outs[0]),
            _read(outs[1]),
            proc.returncode,
            err.read_text(errors="replace"),
            timed_out,
            seen,
        )
