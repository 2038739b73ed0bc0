"""`check --format github`: GitHub Actions workflow commands, one line per finding.

    ::warning file=vmlinuz,title=bzimage-crc::CRC32 ... does not match (file+0x155c, 4 bytes)

Kernel images are binary, so there is no `line=`: where the finding is goes at the end of
the message. Each unreadable image is one `::error` too. Control characters are written
as printable escapes first (pvhlint.text: a file name or image string cannot start a
command line of its own); then escaping follows the Actions toolkit
(`escapeData`/`escapeProperty` in @actions/core): '%', CR and LF in the message; those and
',' and ':' in property values.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..text import printable
from .layers import Located, located

if TYPE_CHECKING:
    from ..checker import Report

COMMAND = {"error": "error", "warning": "warning", "info": "notice"}


def escape_data(text: str) -> str:
    """The toolkit's escaping, after control characters are made printable (an ESC or a
    stray separator from an image string must not reach the log either)."""
    return printable(text).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(name: str, message: str, **properties: str) -> str:
    props = ",".join(f"{key}={escape_property(value)}" for key, value in properties.items())
    return f"::{name}{' ' + props if props else ''}::{escape_data(message)}"


def location(spot: Located) -> str:
    """'file+0x155c, 4 bytes'; inside a decoded layer also where its bytes are stored."""
    finding, layer, top = spot.finding, spot.layer, spot.top
    if finding.offset is None:
        text = f"in {layer.kind}"
    else:
        text = f"{layer.kind}+{finding.offset:#x}"
        if finding.length is not None:
            text += f", {finding.length} byte{'s' if finding.length != 1 else ''}"
    if top is not None:
        codec = f"{top.codec} " if top.codec else ""
        text += f"; decoded from the {codec}{top.kind} at file offset {top.offset:#x}"
    return text


def report_github(report: Report) -> str:
    lines = []
    for result in report.results:
        if result.error is not None:
            lines.append(command("error", result.error, file=result.path, title="pvhlint"))
            continue
        assert result.image is not None
        for spot in located(result.image, result.findings):
            finding = spot.finding
            message = f"{finding.message} ({location(spot)})"
            lines.append(command(COMMAND[finding.severity], message, file=result.path,
                                 title=finding.rule))  # fmt: skip
    return "".join(line + "\n" for line in lines)
