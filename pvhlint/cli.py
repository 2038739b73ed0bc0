"""Command line: check, inspect, rules, explain. Bad input is one line on stderr, exit 2."""

from __future__ import annotations

import errno
import io
import os
import sys
from contextlib import contextmanager, redirect_stdout
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from .errors import ImageError
from .profiles import DEFAULT_PROFILE, Profile

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from rich.console import Console
    from rich.progress import TaskID

    from . import result_cache
    from .checker import Options, Report
    from .fixer.repack import Step, Watch

app = typer.Typer(
    add_completion=True,  # --install-completion / --show-completion for bash, zsh, fish
    no_args_is_help=True,
    help="Lint and patch x86 kernel image headers for Xen PVH and neighbouring boot paths.",
)
EXIT_BAD_INPUT = 2
# stdout that cannot take the output: a full disk or quota, a file too large, a dead device.
OUTPUT_ERRORS = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO)


def _show_version(value: bool) -> None:
    if value:
        from . import __version__

        print(f"pvhlint {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            "-V",
            callback=_show_version,
            is_eager=True,
            help="Print the version and exit.",
        ),
    ] = False,
) -> None:
    """Lint and patch x86 kernel image headers for Xen PVH and neighbouring boot paths."""


def fail(message: str) -> None:
    """One line on stderr, never a traceback (a file name's newline or ESC is escaped)."""
    from .text import printable

    print(f"pvhlint: {printable(message)}", file=sys.stderr)


def console(to_terminal: bool | None = None) -> Console:
    """rich output for people. Off a terminal rich assumes 80 columns and tables need
    more; lines are never hard-wrapped there (a log or grep wants one finding per line);
    no emoji codes, or a file named `a:fire:b` would print a flame."""
    from rich.console import Console

    class PipeAwareConsole(Console):
        def on_broken_pipe(self) -> None:
            # rich exits 1 here; `deliver` decides instead (the verdict's status stands).
            self.quiet = True
            raise BrokenPipeError

    tty = sys.stdout.isatty() if to_terminal is None else to_terminal
    # force_terminal=False off a terminal: --output-file redirects stdout after this is made.
    return PipeAwareConsole(width=None if tty else 160, soft_wrap=not tty, emoji=False,
                            force_terminal=None if tty else False)  # fmt: skip


def deliver(write: Callable[[], object]) -> None:
    """Run `write` (which prints to stdout) and flush. A reader that went away (`| head -1`)
    does not change the exit status, which is the verdict; an output that cannot be
    written (a full disk) is one line and exit 2."""
    try:
        write()
        sys.stdout.flush()
    except BrokenPipeError:
        _silence_stdout()
    except OSError as exc:
        _silence_stdout()
        fail(f"cannot write the output: {exc.strerror or exc}")
        raise typer.Exit(EXIT_BAD_INPUT) from None


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so what is still buffered cannot fail again at exit."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def written_to(flag: str, help: str) -> Any:
    """`FLAG/-o PATH`: where a command writes (check's report, fix's result), -o in both."""
    return typer.Option(flag, "-o", help=help)


ReportFile = Annotated[
    Path | None, written_to("--output-file", "Write the report here instead of stdout.")
]
ResultFile = Annotated[
    Path | None, written_to("--output", "Write the result here; the input is left untouched.")
]


MaxDecompressed = Annotated[
    str | None,
    typer.Option(
        "--max-decompressed",
        metavar="SIZE",
        help="Cap on a decompressed payload, e.g. 256MiB (default: $PVHLINT_MAX_DECOMPRESSED, "
        "else max-decompressed in the configuration, else 512MiB).",
    ),
]


def _cap(value: str | None) -> int | None:
    """--max-decompressed in bytes; None leaves the environment and configuration to decide."""
    if value is None:
        return None
    from .codecs import parse_size

    try:
        return parse_size(value)
    except ValueError as exc:
        fail(f"--max-decompressed: {exc}")
        raise typer.Exit(EXIT_BAD_INPUT) from None


@app.command()
def inspect(
    images: Annotated[list[Path], typer.Argument(help="Kernel images to show.", readable=False)],
    as_json: Annotated[bool, typer.Option("--json", help="Print the model as JSON.")] = False,
    max_decompressed: MaxDecompressed = None,
) -> None:
    """Show what pvhlint reads in each image: layers, headers, notes, entry points."""
    from .config import resolve_max_output
    from .image import open_image

    cap = _cap(max_decompressed)
    opened, failed = [], False
    for path in images:
        try:
            image = open_image(path, full=True, max_output=resolve_max_output(str(path), cap))
        except ImageError as exc:
            fail(str(exc))
            failed = True
            continue
        details = None
        if image.pe and image.pe.signed:
            from .authenticode import signature_details

            details = signature_details(image.path)
        opened.append((image, details))
    if as_json:
        import json

        from .output.inspect_json import report_to_dict

        deliver(lambda: sys.stdout.write(json.dumps(report_to_dict(opened), indent=2) + "\n"))
    else:
        from .output.inspect_tree import image_tree

        out = console()
        deliver(lambda: [out.print(image_tree(image, details)) for image, details in opened])
    if failed:
        raise typer.Exit(EXIT_BAD_INPUT)


FORMATS = ("console", "concise", "json", "sarif", "github")


def _split(values: list[str] | None) -> tuple[str, ...]:
    return tuple(
        item.strip() for value in values or [] for item in value.split(",") if item.strip()
    )


def _options(
    require: list[str] | None,
    select: list[str] | None,
    ignore: list[str] | None,
    severity: list[str] | None,
    fail_on: str | None,
    config: Path | None,
    max_output: int | None,
    pvh_only: bool = False,
    loaders: str | None = None,
) -> tuple[Options, Path | None]:
    """The options after the configuration, and the configuration file read (if any)."""
    from .checker import Options, validate
    from .config import ConfigError, find_config, read_config

    settings: dict[str, object] = {}
    source: Path | None = config
    if config is not None:
        loaded = read_config(config)
        if loaded is None:
            raise ConfigError(f"{config}: has no pvhlint settings ([tool.pvhlint])")
        settings = loaded
    else:
        found = find_config(Path.cwd())
        source, settings = found if found else (None, {})
    from_file = Options(
        require=tuple(settings.get("require", ())),  # type: ignore[arg-type]
        select=tuple(settings.get("select", ())),  # type: ignore[arg-type]
        ignore=tuple(settings.get("ignore", ())),  # type: ignore[arg-type]
        pvh_only=bool(settings.get("pvh-only", False)),
        per_path_ignores=tuple(
            (glob, tuple(rules))
            for glob, rules in dict(settings.get("per-path-ignores", {})).items()  # type: ignore[call-overload]
        ),
        severity=tuple(dict(settings.get("severity", {})).items()),  # type: ignore[call-overload]
        fail_on=str(settings.get("fail-on", "error")),
    )
    problem = validate(from_file)
    if problem:
        raise ConfigError(f"{source}: {problem}")
    if max_output is None and config is not None and "max-decompressed" in settings:
        from .codecs import MAX_OUTPUT_ENV, parse_size

        # A file named by --config counts as the one found would; the environment wins.
        if MAX_OUTPUT_ENV not in os.environ:
            max_output = parse_size(settings["max-decompressed"])  # type: ignore[arg-type]
    overrides = dict(from_file.severity)
    for item in severity or []:
        rule_id, sep, level = item.partition("=")
        if not sep:
            raise ConfigError(f"--severity takes RULE=LEVEL, not {item!r}")
        overrides[rule_id.strip()] = level.strip()
    options = Options(
        require=_split(require) or tuple(settings.get("require", ())),  # type: ignore[arg-type]
        select=_split(select) or tuple(settings.get("select", ())),  # type: ignore[arg-type]
        ignore=_split(ignore) or tuple(settings.get("ignore", ())),  # type: ignore[arg-type]
        severity=tuple(sorted(overrides.items())),
        fail_on=fail_on or str(settings.get("fail-on", "error")),
        max_output=max_output,
        pvh_only=pvh_only or from_file.pvh_only,
        per_path_ignores=from_file.per_path_ignores,
        loaders=_profile(loaders, None) if loaders else _configured_profile(settings, source),
    )
    return options, source


def _configured_profile(settings: dict[str, object], source: Path | None) -> Profile:
    return _profile(str(settings.get("loaders", DEFAULT_PROFILE)), source)


def _profile(name: str, source: Path | None) -> Profile:
    """--loaders, else the configuration's `loaders` (named in the message when wrong)."""
    from .config import ConfigError

    try:
        return Profile(name)
    except ValueError:
        where = f"{source}: " if source is not None else "--loaders: "
        raise ConfigError(
            f"{where}unknown loader profile {name!r}; profiles are {', '.join(Profile)}"
        ) from None


@app.command()
def check(
    images: Annotated[
        list[Path],
        typer.Argument(
            help="Kernel images or directories; - reads an image from stdin.",
            readable=False,
            allow_dash=True,
        ),
    ],
    require: Annotated[
        list[str] | None,
        typer.Option(
            "--require",
            "-r",
            help="A boot target that must accept (repeatable): xen-pvh, xen-pv, "
            "qemu, multiboot1, multiboot2, linux, rust-vmm; TARGET@VERSION (xen-pvh@4.17) "
            "models that version of its loader.",
        ),
    ] = None,
    loaders: Annotated[
        str | None,
        typer.Option(
            help="Loader versions modelled: debian13 (default: Xen 4.20, QEMU 10.0, GRUB "
            "2.12), debian12 (Xen 4.17, QEMU 7.2, GRUB 2.06) or all (a verdict per version)."
        ),
    ] = None,
    pvh_only: Annotated[
        bool,
        typer.Option(
            "--pvh-only",
            help="The image must boot as PVH (implies --require xen-pvh) and be PVH-only: "
            "notes only Xen PV reads (VIRT_BASE, PAE_MODE, ...) are errors.",
        ),
    ] = False,
    select: Annotated[
        list[str] | None, typer.Option(help="Only these rule ids (or prefixes ending in '-').")
    ] = None,
    ignore: Annotated[
        list[str] | None, typer.Option(help="Hide these rule ids or prefixes.")
    ] = None,
    severity: Annotated[
        list[str] | None, typer.Option(help="Override a rule's severity: RULE=info|warning|error.")
    ] = None,
    fail_on: Annotated[
        str | None,
        typer.Option(
            help="Exit 1 at or above this severity: info, warning, error (default), never."
        ),
    ] = None,
    output_format: Annotated[
        str,
        typer.Option(
            "--format",
            "-f",
            "--output-format",
            help="console, concise (one line per finding), json, sarif or github.",
        ),
    ] = "console",
    output_file: ReportFile = None,
    quiet: Annotated[
        bool,
        typer.Option(
            "--quiet",
            "-q",
            help="Console: only the images with findings, and those "
            "findings (no verdict tables, no summary).",
        ),
    ] = False,
    statistics: Annotated[
        bool,
        typer.Option(
            "--statistics",
            help="Instead of the report: how many findings each rule "
            "has (JSON with --format json).",
        ),
    ] = False,
    baseline: Annotated[
        Path | None,
        typer.Option(
            "--baseline",
            help="A file of known findings (from --write-baseline) "
            "not to report again; a required target's reject is always reported.",
        ),
    ] = None,
    write_baseline: Annotated[
        bool,
        typer.Option(
            "--write-baseline",
            help="Record the findings in the --baseline file "
            "(exit 0 unless an image cannot be read or a required target rejects).",
        ),
    ] = False,
    jobs: Annotated[
        int | None,
        typer.Option(
            "--jobs", "-j", min=1, help="Images checked in parallel (default: all cores)."
        ),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(
            help="A pvhlint.toml or pyproject.toml (default: found from the current directory "
            "up to the repository root)."
        ),
    ] = None,
    max_decompressed: MaxDecompressed = None,
    no_cache: Annotated[
        bool,
        typer.Option(
            "--no-cache",
            help="Neither answer from nor write the result cache (a re-check of an unchanged "
            "image with the same options, under ~/.cache/pvhlint/results).",
        ),
    ] = False,
) -> None:
    """Lint images and predict, per boot target, whether its loader accepts them."""
    from . import api
    from .config import ConfigError

    try:
        options, source = _options(require, select, ignore, severity, fail_on, config,
                                   _cap(max_decompressed), pvh_only, loaders)  # fmt: skip
    except ConfigError as exc:
        fail(str(exc))
        raise typer.Exit(EXIT_BAD_INPUT) from None
    if output_format not in FORMATS:
        fail(f"--format takes one of {', '.join(FORMATS)}")
        raise typer.Exit(EXIT_BAD_INPUT)
    if write_baseline and baseline is None:
        fail("--write-baseline needs --baseline FILE")
        raise typer.Exit(EXIT_BAD_INPUT)
    to_terminal = output_file is None and sys.stdout.isatty()
    config_read = None if source is None else str(source)
    emit = _emitter(output_format, to_terminal, quiet, statistics, config_read)
    workers = jobs or os.cpu_count() or 1
    with _stdin_image(images) as paths:
        try:
            if output_format == "console" and to_terminal and not quiet:
                report = _check_with_progress(paths, options, workers)
            else:
                report = _run_check(paths, options, workers)
        except api.OptionsError as exc:
            fail(str(exc))
            raise typer.Exit(EXIT_BAD_INPUT) from None
    _rename_stdin(report)
    _apply_baseline(report, baseline, write_baseline)
    for result in report.results:
        if result.error:
            fail(f"{result.path}: {result.error}")
    entry = None if no_cache or output_file is not None else _cache_entry(report)
    if output_file is not None:
        _write_to_file(output_file, lambda: emit(report))
    elif entry is not None:
        deliver(lambda: _emit_and_keep(emit, report, entry))
    else:
        deliver(lambda: emit(report))
    raise typer.Exit(report.exit_code)


def _cache_entry(report: Report) -> result_cache.Entry | None:
    """Where this run's answer goes in the result cache (the launcher's miss), if anywhere:
    a clean answer only (exit 0 or 1, no image that could not be read)."""
    from . import result_cache

    entry, result_cache.pending = result_cache.pending, None
    if report.exit_code not in (0, 1) or any(result.error for result in report.results):
        return None
    return entry


class _Recorder(io.TextIOBase):
    """stdout as it is (a terminal stays one to rich), with a copy of what is written."""

    def __init__(self, target: io.TextIOBase) -> None:
        self.target = target
        self.copy: list[str] = []

    def write(self, text: str) -> int:
        self.copy.append(text)
        return self.target.write(text)

    def flush(self) -> None:
        self.target.flush()

    def isatty(self) -> bool:
        return self.target.isatty()

    def fileno(self) -> int:
        return self.target.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return self.target.encoding


def _emit_and_keep(emit: Callable[[Report], object], report: Report,
                   entry: result_cache.Entry) -> None:  # fmt: skip
    """Print the report and keep what was printed in the result cache."""
    from . import result_cache

    recorder = _Recorder(sys.stdout)  # type: ignore[arg-type]
    with redirect_stdout(recorder):  # type: ignore[type-var]
        emit(report)
        recorder.flush()
    result_cache.store(entry, "".join(recorder.copy), report.exit_code)


STDIN = "-"


@contextmanager
def _stdin_image(images: list[Path]) -> Iterator[list[str]]:
    """The paths to check, with `-` standing for an image read from stdin (kept in a
    temporary file while it is checked, and reported as `-`)."""
    paths = [str(path) for path in images]
    if STDIN not in paths:
        yield paths
        return
    import shutil
    import tempfile

    with tempfile.NamedTemporaryFile(prefix="pvhlint-stdin-") as spool:
        shutil.copyfileobj(sys.stdin.buffer, spool)
        spool.flush()
        _STDIN_NAMES[spool.name] = STDIN
        yield [spool.name if path == STDIN else path for path in paths]


_STDIN_NAMES: dict[str, str] = {}  # temporary file -> the name reported


def _rename_stdin(report: Report) -> None:
    for result in report.results:
        result.path = _STDIN_NAMES.get(result.path, result.path)


def _apply_baseline(report: Report, baseline: Path | None, write: bool) -> None:
    """--write-baseline records the findings; --baseline drops the recorded ones."""
    if baseline is None:
        return
    from .baseline import BaselineError, read_baseline, suppress, write_baseline

    try:
        if write:
            write_baseline(baseline, report)
        suppress(report, read_baseline(baseline))
    except BaselineError as exc:
        fail(str(exc))
        raise typer.Exit(EXIT_BAD_INPUT) from None


def _write_to_file(path: Path, write: Callable[[], object]) -> None:
    """--output-file: the report goes to `path`, which is replaced only when complete."""
    import tempfile

    try:
        folder = path.parent if str(path.parent) else Path(".")
        with tempfile.NamedTemporaryFile("w", dir=folder, prefix=f".{path.name}.",
                                         delete=False, encoding="utf-8") as handle:  # fmt: skip
            temporary = Path(handle.name)
            try:
                with redirect_stdout(handle):
                    write()
            except BaseException:
                temporary.unlink(missing_ok=True)
                raise
        os.replace(temporary, path)
    except OSError as exc:
        fail(f"{exc.filename or path}: {exc.strerror or exc}")
        raise typer.Exit(EXIT_BAD_INPUT) from None


def _run_check(paths: list[str], options: Options, workers: int,
               progress: Callable[[int, int], None] | None = None) -> Report:  # fmt: skip
    """The work goes through the public API: the command line has no path of its own."""
    from . import api

    return api.check(paths, require=options.require, select=options.select,
                     ignore=options.ignore, severity=dict(options.severity),
                     fail_on=options.fail_on, jobs=workers, progress=progress,
                     max_output=options.max_output, pvh_only=options.pvh_only,
                     per_path_ignores=dict(options.per_path_ignores),
                     loaders=options.loaders)  # fmt: skip


def _check_with_progress(paths: list[str], options: Options, workers: int) -> Report:
    """A progress bar on a terminal, for the minutes a large tree can take."""
    from rich.progress import Progress

    bar = Progress(transient=True)
    task = bar.add_task("checking", total=None)

    def advance(done: int, total: int) -> None:
        bar.start()  # on the first image done, so a usage error shows no bar
        bar.update(task, completed=done, total=total)

    try:
        return _run_check(paths, options, workers, advance)
    finally:
        bar.stop()


def _emitter(output_format: str, to_terminal: bool, quiet: bool = False, statistics: bool = False,
             config: str | None = None) -> Callable[[Report], object]:  # fmt: skip
    """The writer for a format (`config`: the configuration file read, which the console,
    JSON and SARIF reports name). `check` asks for it before opening any image, so these
    imports overlap a prefetched image's decoding (pvhlint.prefetch) instead of following it."""
    if statistics:
        from .output.check_concise import statistics_json, statistics_text

        render = statistics_json if output_format == "json" else statistics_text
        return lambda report: sys.stdout.write(render(report))
    if output_format == "console":
        from .output.check_console import Plain, RichOut, print_console

        # Off a terminal rich prints plain lines: Plain writes them without importing it.
        out = RichOut(console(True)) if to_terminal else Plain(lambda: RichOut(console(False)))
        return lambda report: print_console(report, out, quiet=quiet, config=config)
    if output_format == "json":
        from .output.check_json import report_json

        return lambda report: sys.stdout.write(report_json(report, config))
    if output_format == "sarif":
        from .output.sarif import report_sarif

        return lambda report: sys.stdout.write(report_sarif(report, config))
    if output_format == "concise":
        from .output.check_concise import report_concise as render
    else:
        from .output.github import report_github as render
    return lambda report: sys.stdout.write(render(report))


@app.command("fix")
def fix_command(
    image: Annotated[
        Path, typer.Argument(help="An ELF kernel (vmlinux) or bzImage to edit.", readable=False)
    ],
    output: ResultFile = None,
    drop_obsolete_notes: Annotated[
        bool,
        typer.Option(
            help="Drop VIRT_BASE, HYPERCALL_PAGE, HV_START_LOW, PAE_MODE and L1_MFN_VALID."
        ),
    ] = False,
    drop_note: Annotated[
        list[str] | None,
        typer.Option(help="Drop every Xen note of this name or number (repeatable)."),
    ] = None,
    set_note: Annotated[
        list[str] | None,
        typer.Option(help="NAME=VALUE: set a Xen note, adding it if missing (repeatable)."),
    ] = None,
    require: Annotated[
        list[str] | None,
        typer.Option(
            "--require", "-r", help="A target that must still accept afterwards (repeatable)."
        ),
    ] = None,
    dry_run: Annotated[bool, typer.Option(help="Show the planned change; write nothing.")] = False,
    backup: Annotated[bool, typer.Option(help="Keep the original as IMAGE.orig.")] = False,
    break_signature: Annotated[
        bool,
        typer.Option(
            help="Patch a signed bzImage anyway (its Authenticode signature will not match)."
        ),
    ] = False,
    loaders: Annotated[
        str,
        typer.Option(
            help="Loader versions the re-check models: debian13 (default), debian12 or all. "
            "With Xen 4.17 (debian12, or --require xen-pvh@4.17) --drop-obsolete-notes also "
            "drops PADDR_OFFSET."
        ),
    ] = DEFAULT_PROFILE,
    max_decompressed: MaxDecompressed = None,
    force: Annotated[
        bool,
        typer.Option(help="Write a result that no boot target accepts (refused otherwise)."),
    ] = False,
) -> None:
    """Edit the Xen notes of a kernel in place, byte-minimally, and re-check it: an ELF
    directly, a bzImage by re-compressing its payload into the same slot."""
    from . import api
    from .errors import UsageError

    try:
        with _recompression_bar() as watch:
            result = api.fix(image, output=output, drop_obsolete_notes=drop_obsolete_notes,
                             drop_notes=_split(drop_note),
                             set_notes=_note_values(image, set_note), require=_split(require),
                             dry_run=dry_run, backup=backup, break_signature=break_signature,
                             loaders=loaders, max_output=_cap(max_decompressed), force=force,
                             watch=watch)  # fmt: skip
    except api.OptionsError as exc:
        fail(str(exc))
        raise typer.Exit(EXIT_BAD_INPUT) from None
    except (ImageError, UsageError) as exc:
        fail(str(exc) if isinstance(exc, ImageError) else f"{image}: {exc}")
        raise typer.Exit(EXIT_BAD_INPUT) from None
    except OSError as exc:
        fail(f"{exc.filename or image}: {exc.strerror or exc}; nothing written")
        raise typer.Exit(EXIT_BAD_INPUT) from None
    from .fixer.report import print_fix

    print_fix(result, image, dry_run)
    raise typer.Exit(result.exit_code)


@contextmanager
def _recompression_bar() -> Iterator[Watch | None]:
    """On a terminal (stderr), a bar while a bzImage's payload is re-compressed: the codec
    and options, bytes done, time left. It goes once the work ends (or Ctrl-C ends it)."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich import progress as bars
    from rich.console import Console

    bar = bars.Progress(
        bars.TextColumn("{task.description}"),
        bars.BarColumn(),
        bars.DownloadColumn(binary_units=True),
        bars.TimeElapsedColumn(),
        bars.TextColumn("left"),
        bars.TimeRemainingColumn(),
        console=Console(stderr=True, emoji=False),
        transient=True,
    )
    tasks: dict[int, TaskID] = {}

    def watch(step: Step) -> None:
        if step.attempt not in tasks:
            bar.start()  # at the first step: a fix that needs no re-compression shows none
            tasks[step.attempt] = bar.add_task(
                f"re-compressing ({step.options})", total=step.total if step.exact else None
            )
        bar.update(tasks[step.attempt], completed=step.done)

    try:
        yield watch
    finally:
        bar.stop()


def _note_values(image: Path, items: list[str] | None) -> dict[str | int, str]:
    """--set-note NAME=VALUE pairs, in order (the last of one name wins)."""
    values: dict[str | int, str] = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        if not sep:
            fail(f"{image}: --set-note takes NAME=VALUE, not {item!r}")
            raise typer.Exit(EXIT_BAD_INPUT)
        values[name] = value
    return values


@app.command()
def extract(
    image: Annotated[Path, typer.Argument(help="A bzImage (vmlinuz).", readable=False)],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Where to write the ELF ('-': standard output).")
    ],
    max_decompressed: MaxDecompressed = None,
) -> None:
    """Write the ELF kernel held in a bzImage's compressed payload (like extract-vmlinux)."""
    from .config import resolve_max_output
    from .errors import UsageError
    from .fixer.extract import extract as extract_payload

    try:
        cap = resolve_max_output(str(image), _cap(max_decompressed))
        size, replaced = extract_payload(image, output, cap)
    except ImageError as exc:
        fail(str(exc))
        raise typer.Exit(EXIT_BAD_INPUT) from None
    except UsageError as exc:
        fail(f"{image}: {exc}")
        raise typer.Exit(EXIT_BAD_INPUT) from None
    except OSError as exc:
        fail(f"{exc.filename or output}: {exc.strerror or exc}")
        raise typer.Exit(EXIT_BAD_INPUT) from None
    from .text import printable

    extra = " (replaced the existing file)" if replaced else ""
    summary = f"{output}: {size} bytes (the ELF and the build's relocation table){extra}"
    print(printable(summary), file=sys.stderr if str(output) == "-" else sys.stdout)


@app.command("rules")
def list_rules(
    markdown: Annotated[
        bool,
        typer.Option(
            "--markdown", help="Print the rule reference, every rule's documentation, as Markdown."
        ),
    ] = False,
    output_format: Annotated[
        str, typer.Option("--format", "-f", help="table (default) or json.")
    ] = "table",
) -> None:
    """List every rule: id, severity, the boot targets it concerns, title."""
    if markdown:
        from .docgen import rules_markdown

        deliver(lambda: sys.stdout.write(rules_markdown()))
        return
    if output_format not in ("table", "json"):
        fail("--format takes table or json")
        raise typer.Exit(EXIT_BAD_INPUT)
    if output_format == "json":
        from .docgen import rules_json

        deliver(lambda: sys.stdout.write(rules_json()))
        return
    from rich.table import Table

    from .rule import discover_rules

    table = Table("id", "severity", "targets", "title", box=None, pad_edge=False)
    for rule in discover_rules():
        table.add_row(rule.id, rule.severity, ", ".join(rule.targets), rule.title)
    console().print(table)


@app.command("man", hidden=True)
def man_page() -> None:
    """Print pvhlint(1), the manual page generated from the commands' own help."""
    from .docgen import man_page as render

    deliver(lambda: sys.stdout.write(render(typer.main.get_command(app))))


@app.command()
def explain(
    rule_id: Annotated[str, typer.Argument(help="A rule id from `pvhlint rules`.")],
) -> None:
    """Print a rule's documentation: what it checks, why, how to fix, an example."""
    from .rule import discover_rules

    rules = {rule.id: rule for rule in discover_rules()}
    rule = rules.get(rule_id)
    if rule is None:
        fail(f"no rule {rule_id!r}; `pvhlint rules` lists them")
        raise typer.Exit(EXIT_BAD_INPUT)
    print(f"{rule.id}: {rule.title}")
    print(f"severity: {rule.severity}; targets: {', '.join(rule.targets)}")
    for name, text in rule.sections().items():
        print(f"\n{name.capitalize()}:\n{text}")


def main() -> None:
    """Entry point: no traceback reaches a user unless PVHLINT_DEBUG is set."""
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):  # PYTHONIOENCODING=ascii, a non-UTF-8 name
            stream.reconfigure(errors="backslashreplace")
    try:
        app(prog_name="pvhlint")  # also under `python -m pvhlint`: usage, completion
    except KeyboardInterrupt:
        sys.exit(130)
    except BrokenPipeError:
        _silence_stdout()
        sys.exit(0)
    except Exception as exc:  # the last line of defence: one line, exit 2
        if isinstance(exc, OSError) and exc.errno in OUTPUT_ERRORS:
            _silence_stdout()
            fail(f"cannot write the output: {exc.strerror}")
            sys.exit(EXIT_BAD_INPUT)
        if os.environ.get("PVHLINT_DEBUG"):
            raise
        fail(f"internal error: {type(exc).__name__}: {exc}")
        sys.exit(EXIT_BAD_INPUT)
