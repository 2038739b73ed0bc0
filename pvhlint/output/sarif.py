"""`check --format sarif`: one SARIF 2.1.0 run (mapping documented in docs/check-json.md).

Locations are byte regions, never lines: kernel images are binary. A finding's offset is
relative to a layer (the file, a decompressed gzip, a bzImage payload). For the file
itself the region is exact. Inside a decompressed layer a file offset would point at
unrelated compressed bytes, so the result's physical location is the file region of the
compressed stream that holds it (what a viewer can highlight and a fix must replace), and
the exact place — layer, its kind and codec, offset and length in the decoded bytes — is
in `result.properties`, with the layer itself described by a nested artifact
(`parentIndex`, `offset`) in `run.artifacts`.
"""

from __future__ import annotations

import hashlib
import json
import os
import textwrap
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from .. import __version__
from ..rule import TARGETS, Rule, discover_rules
from ..text import printable
from .layers import Located, located, where

if TYPE_CHECKING:
    from ..checker import ImageResult, Report
    from ..model import Image, Layer

SARIF_SCHEMA = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
SARIF_VERSION = "2.1.0"
LEVEL = {"error": "error", "warning": "warning", "info": "note"}
FINGERPRINT = "pvhlintFinding/v1"


def artifact_uri(path: str) -> str:
    """The image's URI: a relative reference for a relative path (so results do not
    depend on where the checkout lives), a file:// URI for an absolute one. Both are
    percent-encoded, so a name with ':' or '%' stays a path, never a scheme."""
    if Path(path).is_absolute():
        return Path(path).as_uri()
    # The file system's bytes, so a name that is not UTF-8 is percent-encoded as it is.
    return quote(os.fsencode(PurePosixPath(path).as_posix()), safe="/")


def rule_name(rule_id: str) -> str:
    """SARIF's `name` is an identifier for people: bzimage-crc -> BzimageCrc."""
    return "".join(part.capitalize() for part in rule_id.split("-"))


def _text(section: str) -> str:
    return textwrap.dedent(section).strip()


def rule_descriptor(rule: Rule) -> dict[str, Any]:
    sections = {name: _text(text) for name, text in rule.sections().items()}
    text, markdown = [], []
    for name in ("why", "fix"):
        if sections.get(name):
            text.append(f"{name.capitalize()}:\n{sections[name]}")
            markdown.append(f"**{name.capitalize()}.** {sections[name]}")
    if sections.get("example"):
        text.append(f"Example:\n{sections['example']}")
        markdown.append(f"**Example:**\n\n```\n{sections['example']}\n```")
    descriptor: dict[str, Any] = {
        "id": rule.id,
        "name": rule_name(rule.id),
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": sections.get("what") or rule.title},
        "defaultConfiguration": {"level": LEVEL[rule.severity]},
        "properties": {"targets": list(rule.targets), "tags": ["pvhlint", *rule.targets]},
    }
    if text:
        descriptor["help"] = {"text": "\n\n".join(text), "markdown": "\n\n".join(markdown)}
    return descriptor


def _region(offset: int | None, length: int | None, message: str | None = None) -> dict:
    """GitHub code scanning requires `startLine`: an image is one line, line 1, and the byte
    offsets say where in it."""
    region: dict[str, Any] = {"startLine": 1}
    if offset is not None:
        region["byteOffset"] = offset
    if offset is not None and length is not None:
        region["byteLength"] = length
    if message:
        region["message"] = {"text": message}
    return region


class _Run:
    def __init__(self, report: Report, config: str | None) -> None:
        self.report = report
        self.config = config
        self.rules = discover_rules()
        self.rule_index = {rule.id: index for index, rule in enumerate(self.rules)}
        self.artifacts: list[dict[str, Any]] = []
        self.by_uri: dict[str, int] = {}  # file URI -> artifact index
        self.layer_artifacts: dict[tuple[str, int], int] = {}  # (file URI, layer) -> index
        self.results: list[dict[str, Any]] = []
        self.notifications: list[dict[str, Any]] = []

    def build(self) -> dict[str, Any]:
        for result in self.report.results:
            if result.error is not None:
                self._unreadable(result)
            else:
                self._image(result)
        run: dict[str, Any] = {
            "tool": {
                "driver": {
                    "name": "pvhlint",
                    "version": __version__,
                    "semanticVersion": __version__,
                    "rules": [rule_descriptor(rule) for rule in self.rules],
                }
            },
            "invocations": [self._invocation()],
            "artifacts": self.artifacts,
            "results": self.results,
        }
        if not self.artifacts:
            del run["artifacts"]
        return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}

    def _invocation(self) -> dict[str, Any]:
        options = self.report.options
        invocation: dict[str, Any] = {
            "executionSuccessful": not self.notifications,
            "exitCode": self.report.exit_code,
            "workingDirectory": {"uri": Path.cwd().as_uri() + "/"},
            "properties": {
                "require": list(options.require),
                "select": list(options.select),
                "ignore": list(options.ignore),
                "failOn": options.fail_on,
                "pvhOnly": options.pvh_only,
                "config": self.config,
                "loaders": str(options.loaders),
            },
        }
        overrides = [
            {
                "descriptor": {"id": rule_id, "index": self.rule_index[rule_id]},
                "configuration": {"level": LEVEL[level]},
            }
            for rule_id, level in options.severity
            if rule_id in self.rule_index and level in LEVEL
        ]
        if overrides:
            invocation["ruleConfigurationOverrides"] = overrides
        if self.notifications:
            invocation["toolExecutionNotifications"] = self.notifications
        return invocation

    def _unreadable(self, result: ImageResult) -> None:
        self.notifications.append(
            {
                "level": "error",
                "message": {"text": printable(f"{result.path}: {result.error}")},
                "locations": [
                    {"physicalLocation": {"artifactLocation": {"uri": artifact_uri(result.path)}}}
                ],
                "descriptor": {"id": "unreadable-image"},
            }
        )

    def _image(self, result: ImageResult) -> None:
        image = result.image
        assert image is not None
        uri = artifact_uri(result.path)
        if uri not in self.by_uri:
            self.by_uri[uri] = len(self.artifacts)
            self.artifacts.append(self._file_artifact(result, uri))
            for layer in image.layers[1:]:
                self.layer_artifacts[uri, layer.index] = len(self.artifacts)
                self.artifacts.append(self._layer_artifact(image, layer, uri))
        for spot in located(image, result.findings):
            self.results.append(self._result(image, spot, uri))

    def _file_artifact(self, result: ImageResult, uri: str) -> dict[str, Any]:
        image = result.image
        assert image is not None
        verdicts = {target: result.verdicts[target].to_dict() for target in TARGETS}
        return {
            "location": {"uri": uri},
            "length": image.size,
            "roles": ["analysisTarget"],
            "mimeType": "application/octet-stream",
            "properties": {
                "layer": 0,
                "format": image.format,
                "kernelFormat": image.kernel_format,
                "required": list(result.required),
                "requiredFrom": result.required_from,
                "verdicts": verdicts,
            },
        }

    def _layer_artifact(self, image: Image, layer: Layer, uri: str) -> dict[str, Any]:
        assert layer.parent is not None
        parent = self.by_uri[uri] if layer.parent == 0 else self.layer_artifacts[uri, layer.parent]
        artifact: dict[str, Any] = {
            "parentIndex": parent,
            "offset": layer.offset,
            "description": {"text": f"layer {layer.index}: {_layer_label(layer)}"},
            "properties": {
                "layer": layer.index,
                "layerKind": layer.kind,
                "format": layer.format,
                "codec": layer.codec,
                "storedLength": layer.size,
                "decodedSize": layer.decoded_size,
            },
        }
        if layer.decoded_size is not None:
            artifact["length"] = layer.decoded_size
        return artifact

    def _result(self, image: Image, spot: Located, uri: str) -> dict:
        finding, layer = spot.finding, spot.layer
        properties: dict[str, Any] = {
            "layer": finding.layer,
            "layerKind": layer.kind,
            "layerFormat": layer.format,
            "offsetInLayer": finding.offset,
            "lengthInLayer": finding.length,
            "rejects": list(finding.rejects),
        }
        if spot.top is None:
            region = _region(finding.offset, finding.length)
        else:
            top = spot.top
            properties["codec"] = layer.codec
            properties["layerArtifactIndex"] = self.layer_artifacts[uri, finding.layer]
            if finding.offset is None:
                inside = f"about the decoded {layer.kind} as a whole"
            else:
                inside = f"at {where(image, finding.layer, finding.offset)} of the decoded bytes"
            note = f"{_layer_label(top)} stored here; the finding is {inside}"
            region = _region(top.offset, top.size, note)
        physical: dict[str, Any] = {"artifactLocation": {"uri": uri, "index": self.by_uri[uri]},
                                    "region": region}  # fmt: skip
        identity = f"{finding.rule}\0{layer.kind}\0{spot.occurrence}".encode()
        return {
            "ruleId": finding.rule,
            "ruleIndex": self.rule_index[finding.rule],
            "level": LEVEL[finding.severity],
            "message": {"text": finding.message},
            "locations": [{"physicalLocation": physical}],
            "partialFingerprints": {FINGERPRINT: hashlib.sha256(identity).hexdigest()[:32]},
            "properties": properties,
        }


def _layer_label(layer: Layer) -> str:
    codec = f"{layer.codec}-compressed " if layer.codec else ""
    return f"{codec}{layer.kind} ({layer.format})"


def report_sarif(report: Report, config: str | None = None) -> str:
    return json.dumps(_Run(report, config).build(), indent=2) + "\n"
