"""Command line: check, inspect, rules, explain. Bad input is one line on stderr, exit 2."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from .errors import ImageError
from .profiles import DEFAULT_PROFILE, Profile

if TYPE_CHECKING:
    from collections.abc import Callable

    from rich.console import Console

    from .checker import Options, Report

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Lint and patch x86 kernel image headers for Xen PVH and neighbouring boot paths.",
)
EXIT_BAD_INPUT = 2


@app.callback()
def _root() -> None:
    """Keeps sub-commands explicit even while only one exists (`pvhlint inspect ...`)."""


def fail(message: str) -> None:
    """One line on stderr, never a traceback."""
    print(f"pvhlint: {message}", file=sys.stderr)


def console() -> Console:
    """rich output for people. Off a terminal rich assumes 80 columns and addresses need
    more; no emoji codes, or a file named `a:fire:b` would print a flame."""
    from rich.console import Console

    return Console(width=None if sys.stdout.isatty() else 160, emoji=False)


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
    images: Annotated[list[Path], typer.Argument(help="Kernel images to show.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the model as JSON.")] = False,
    max_decompressed: MaxDecompressed = None,
) -> None:
    """Show what pvhlint reads in each image: layers, headers, notes, entry points."""
    from .image import open_image

    cap = _cap(max_decompressed)
    opened, failed = [], False
    for path in images:
        try:
            image = open_image(path, full=True, max_output=cap)
        except ImageError as exc:
            fail(str(exc))
            failed = True
            continue
        if image.pe and image.pe.signed:
            from .authenticode import signature_details

            image.pe.authenticode = signature_details(image.path)
        opened.append(image)
    if as_json:
        from .serialize import report_to_dict

        json.dump(report_to_dict(opened), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        from .render import image_tree

        out = console()
        for image in opened:
            out.print(image_tree(image))
    if failed:
        raise typer.Exit(EXIT_BAD_INPUT)


FORMATS = ("console", "json", "sarif", "github")


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
    loaders: str | None = None,
) -> Options:
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
    return Options(
        require=_split(require) or tuple(settings.get("require", ())),  # type: ignore[arg-type]
        select=_split(select) or tuple(settings.get("select", ())),  # type: ignore[arg-type]
        ignore=_split(ignore) or tuple(settings.get("ignore", ())),  # type: ignore[arg-type]
        severity=tuple(sorted(overrides.items())),
        fail_on=fail_on or str(settings.get("fail-on", "error")),
        max_output=max_output,
        loaders=_profile(loaders, None) if loaders else _configured_profile(settings, source),
    )


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
    images: Annotated[list[Path], typer.Argument(help="Kernel images or directories.")],
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
        str, typer.Option("--format", "-f", help="console, json, sarif or github.")
    ] = "console",
    jobs: Annotated[
        int | None,
        typer.Option(
            "--jobs", "-j", min=1, help="Images checked in parallel (default: all cores)."
        ),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(
            help="A pvhlint.toml or pyproject.toml (default: found from the current directory)."
        ),
    ] = None,
    max_decompressed: MaxDecompressed = None,
) -> None:
    """Lint images and predict, per boot target, whether its loader accepts them."""
    from . import api
    from .config import ConfigError

    try:
        options = _options(require, select, ignore, severity, fail_on, config,
                           _cap(max_decompressed), loaders)  # fmt: skip
    except ConfigError as exc:
        fail(str(exc))
        raise typer.Exit(EXIT_BAD_INPUT) from None
    if output_format not in FORMATS:
        fail(f"--format takes one of {', '.join(FORMATS)}")
        raise typer.Exit(EXIT_BAD_INPUT)
    emit = _emitter(output_format)
    paths = [str(path) for path in images]
    workers = jobs or os.cpu_count() or 1
    try:
        if output_format == "console" and sys.stdout.isatty():
            report = _check_with_progress(paths, options, workers)
        else:
            report = _run_check(paths, options, workers)
    except api.OptionsError as exc:
        fail(str(exc))
        raise typer.Exit(EXIT_BAD_INPUT) from None
    for result in report.results:
        if result.error:
            fail(f"{result.path}: {result.error}")
    emit(report)
    raise typer.Exit(report.exit_code)


def _run_check(paths: list[str], options: Options, workers: int,
               progress: Callable[[int, int], None] | None = None) -> Report:  # fmt: skip
    """The work goes through the public API: the command line has no path of its own."""
    from . import api

    return api.check(paths, require=options.require, select=options.select,
                     ignore=options.ignore, severity=dict(options.severity),
                     fail_on=options.fail_on, jobs=workers, progress=progress,
                     max_output=options.max_output, loaders=options.loaders)  # fmt: skip


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


def _emitter(output_format: str) -> Callable[[Report], object]:
    """The writer for a format. `check` asks for it before opening any image, so these
    imports overlap a prefetched image's decoding (pvhlint.prefetch) instead of following it."""
    if output_format == "console":
        from .console_report import print_console

        out = console()
        return lambda report: print_console(report, out)
    if output_format == "json":
        from .output import report_json as render
    elif output_format == "sarif":
        from .sarif import report_sarif as render
    else:
        from .github import report_github as render
    return lambda report: sys.stdout.write(render(report))


@app.command("fix")
def fix_command(
    image: Annotated[Path, typer.Argument(help="An ELF kernel (vmlinux) or bzImage to edit.")],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write the result here; the input is left untouched."),
    ] = None,
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
) -> None:
    """Edit the Xen notes of a kernel in place, byte-minimally, and re-check it: an ELF
    directly, a bzImage by re-compressing its payload into the same slot."""
    from . import api
    from .fixer import UsageError

    try:
        result = api.fix(image, output=output, drop_obsolete_notes=drop_obsolete_notes,
                         drop_notes=_split(drop_note), set_notes=_note_values(image, set_note),
                         require=_split(require), dry_run=dry_run, backup=backup,
                         break_signature=break_signature, loaders=loaders,
                         max_output=_cap(max_decompressed))  # fmt: skip
    except api.OptionsError as exc:
        fail(str(exc))
        raise typer.Exit(EXIT_BAD_INPUT) from None
    except (ImageError, UsageError) as exc:
        fail(str(exc) if isinstance(exc, ImageError) else f"{image}: {exc}")
        raise typer.Exit(EXIT_BAD_INPUT) from None
    except OSError as exc:
        fail(f"{exc.filename or image}: {exc.strerror or exc}; nothing written")
        raise typer.Exit(EXIT_BAD_INPUT) from None
    from .fix_report import print_fix

    print_fix(result, image, dry_run)
    raise typer.Exit(result.exit_code)


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
    image: Annotated[Path, typer.Argument(help="A bzImage (vmlinuz).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write the ELF.")],
    max_decompressed: MaxDecompressed = None,
) -> None:
    """Write the ELF kernel held in a bzImage's compressed payload (like extract-vmlinux)."""
    from .fixer import UsageError
    from .fixer import extract as extract_payload

    try:
        size = extract_payload(image, output, _cap(max_decompressed))
    except ImageError as exc:
        fail(str(exc))
        raise typer.Exit(EXIT_BAD_INPUT) from None
    except UsageError as exc:
        fail(f"{image}: {exc}")
        raise typer.Exit(EXIT_BAD_INPUT) from None
    except OSError as exc:
        fail(f"{exc.filename or output}: {exc.strerror or exc}")
        raise typer.Exit(EXIT_BAD_INPUT) from None
    print(f"{output}: {size} bytes (the ELF and the build's relocation table)")


@app.command("rules")
def list_rules(
    markdown: Annotated[
        bool,
        typer.Option(
            "--markdown", help="Print the rule reference, every rule's documentation, as Markdown."
        ),
    ] = False,
) -> None:
    """List every rule: id, severity, the boot targets it concerns, title."""
    if markdown:
        from .docgen import rules_markdown

        sys.stdout.write(rules_markdown())
        return
    from rich.table import Table

    from .rule import discover_rules

    table = Table("id", "severity", "targets", "title", box=None, pad_edge=False)
    for rule in discover_rules():
        table.add_row(rule.id, rule.severity, ", ".join(rule.targets), rule.title)
    console().print(table)


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
    try:
        app()
    except (KeyboardInterrupt, BrokenPipeError):
        sys.exit(130 if not isinstance(sys.exc_info()[1], BrokenPipeError) else 0)
    except Exception as exc:  # the last line of defence: one line, exit 2
        if os.environ.get("PVHLINT_DEBUG"):
            raise
        fail(f"internal error: {type(exc).__name__}: {exc}")
        sys.exit(EXIT_BAD_INPUT)
