"""`pvhlint check` reports as a user gets them: real subprocesses, real files.

SARIF is validated against the OASIS schema kept beside the repository
(../shared/schemas/sarif-schema-2.1.0.json); JSON keys must be documented in
docs/check-json.md; GitHub workflow commands must parse and be escaped.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote

import pytest

from fixtures.catalogue import catalogue
from pvhlint.output.github import command, escape_data, escape_property
from pvhlint.output.sarif import artifact_uri
from pvhlint.profiles import LOADER_OF, PROFILES, Profile
from pvhlint.rule import TARGETS, discover_rules

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "check-json.md"
SCHEMA = ROOT.parent / "shared" / "schemas" / "sarif-schema-2.1.0.json"
FIXTURES = ("bzimage-bad-crc", "bzimage-xz", "gzip-elf64-pvh", "elf32-mb1", "flat-mb1-inside")
LEVEL = {"error": "error", "warning": "warning", "info": "note"}
GITHUB_LINE = re.compile(r"^::(error|warning|notice) file=([^,:\r\n]*),title=([^,:\r\n]*)::(.*)$")

# A rule added from outside the package, to put a finding where the shipped rules may not
# (inside a decoded layer, with a message that needs escaping). Run with `probe_pvhlint`.
PROBE_RULE = '''
"""Test probe.

What:
  A finding in every layer.
"""
from pvhlint.rule import TARGETS, Hit, Rule

MESSAGE = "100% sure, really: yes\\nsecond line\\r"


def check(image):
    for layer in image.layers:
        yield Hit(f"{MESSAGE} layer {layer.index}", layer.index, 0x10, 8)
    yield Hit("whole file", 0)


RULE = Rule(id="zz-probe", title="probe", severity="warning", targets=TARGETS,
            doc=__doc__, check=check)
'''
PROBE_MAIN = (
    "import sys, pvhlint.rules as r; r.__path__.append(sys.argv.pop(1)); "
    "sys.argv[0] = 'pvhlint'; from pvhlint.cli import main; main()"
)


def pvhlint(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pvhlint", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=300)  # fmt: skip


def probe_pvhlint(rules_dir: Path, *args: str | Path, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", PROBE_MAIN, str(rules_dir), *map(str, args)],
                          cwd=cwd, capture_output=True, text=True, timeout=300)  # fmt: skip


def one_line_error(done: subprocess.CompletedProcess[str], *words: str) -> None:
    assert done.returncode == 2, (done.returncode, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "Traceback" not in done.stderr
    for word in words:
        assert word in lines[0], (word, lines[0])


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding the fixtures; tests run with it as the working directory, so
    paths are relative and no configuration file above the repository applies."""
    folder = tmp_path_factory.mktemp("images")
    every = catalogue()
    for name in FIXTURES:
        (folder / name).write_bytes(every[name].data)
    return folder


@pytest.fixture(scope="module")
def probe(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("probe")
    (folder / "zz_probe.py").write_text(PROBE_RULE)
    return folder


@pytest.fixture(scope="module")
def sarif_validator():
    if not SCHEMA.is_file():
        message = f"the SARIF schema is missing: {SCHEMA}"
        if os.environ.get("CI", "").lower() in ("true", "1"):
            pytest.fail(message)
        pytest.skip(message)
    import jsonschema

    schema = json.loads(SCHEMA.read_text())
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def check_json(*args: str | Path, cwd: Path) -> tuple[int, dict]:
    done = pvhlint("check", "--format", "json", *args, cwd=cwd)
    assert done.returncode in (0, 1, 2) and "Traceback" not in done.stderr, done.stderr
    return done.returncode, json.loads(done.stdout)


def sarif(*args: str | Path, cwd: Path) -> tuple[subprocess.CompletedProcess[str], dict]:
    done = pvhlint("check", "--format", "sarif", *args, cwd=cwd)
    assert "Traceback" not in done.stderr, done.stderr
    return done, json.loads(done.stdout)


def regions_of(result: dict) -> list[dict]:
    return [loc["physicalLocation"].get("region") for loc in result["locations"]]


# --- SARIF ------------------------------------------------------------------------------------


def test_sarif_validates_with_good_bad_and_unreadable_images(images, sarif_validator):
    done, log = sarif(*FIXTURES, "missing.img", cwd=images)
    assert done.returncode == 2
    sarif_validator.validate(log)
    assert log["version"] == "2.1.0" and len(log["runs"]) == 1
    run = log["runs"][0]
    import pvhlint

    assert run["tool"]["driver"]["name"] == "pvhlint"
    assert run["tool"]["driver"]["version"] == pvhlint.__version__
    invocation = run["invocations"][0]
    assert invocation["executionSuccessful"] is False
    [note] = invocation["toolExecutionNotifications"]
    assert note["level"] == "error" and "missing.img" in note["message"]["text"]
    uri = note["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == "missing.img"
    crc = [r for r in run["results"] if r["ruleId"] == "bzimage-crc"]
    assert len(crc) == 1 and crc[0]["level"] == "warning"
    assert crc[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == (
        "bzimage-bad-crc"
    )


def test_sarif_without_problems_is_successful(images, sarif_validator):
    done, log = sarif("--require", "xen-pvh", "--select", "bzimage-crc", "bzimage-xz", cwd=images)
    assert done.returncode == 0, done.stderr
    sarif_validator.validate(log)
    run = log["runs"][0]
    assert run["results"] == []
    assert run["invocations"][0]["executionSuccessful"] is True
    assert "toolExecutionNotifications" not in run["invocations"][0]
    [artifact] = [a for a in run["artifacts"] if "parentIndex" not in a]
    assert artifact["location"]["uri"] == "bzimage-xz"


def test_sarif_results_match_the_json_report(images):
    """Same findings, same order; regions are bytes, exact in layer 0, on line 1 (GitHub
    code scanning requires a start line; an image is one line)."""
    _, log = sarif(*FIXTURES, cwd=images)
    _, report = check_json(*FIXTURES, cwd=images)
    findings = [(image, f) for image in report["images"] for f in image["findings"]]
    results = log["runs"][0]["results"]
    assert len(results) == len(findings)
    for result, (image, finding) in zip(results, findings, strict=True):
        assert result["ruleId"] == finding["rule"]
        assert result["level"] == LEVEL[finding["severity"]]
        assert result["message"]["text"] == finding["message"]
        location = result["locations"][0]["physicalLocation"]
        assert location["artifactLocation"]["uri"] == image["path"]
        props = result["properties"]
        assert props["layer"] == finding["layer"] and props["layerKind"] == finding["layer_kind"]
        assert props["offsetInLayer"] == finding["offset"]
        assert props["lengthInLayer"] == finding["length"]
        assert props["rejects"] == finding["rejects"]
        region = location["region"]
        assert region["startLine"] == 1
        assert not {"endLine", "startColumn", "endColumn", "charOffset"} & set(region)
        if finding["offset"] is None and finding["layer"] == 0:
            assert region == {"startLine": 1}
            continue
        if finding["layer"] == 0:
            assert region["byteOffset"] == finding["offset"]
            assert region.get("byteLength") == finding["length"]
        else:
            layer = image["layers"][finding["layer"]]
            while layer["parent"] != 0:
                layer = image["layers"][layer["parent"]]
            assert (region["byteOffset"], region["byteLength"]) == (layer["offset"], layer["size"])


def test_sarif_rules_are_every_discovered_rule(images):
    _, log = sarif(*FIXTURES, cwd=images)
    driver = log["runs"][0]["tool"]["driver"]
    rules = discover_rules()
    assert [d["id"] for d in driver["rules"]] == [rule.id for rule in rules]
    for descriptor, rule in zip(driver["rules"], rules, strict=True):
        assert descriptor["shortDescription"]["text"] == rule.title
        assert descriptor["fullDescription"]["text"]
        assert descriptor["defaultConfiguration"]["level"] == LEVEL[rule.severity]
        assert descriptor["properties"]["targets"] == list(rule.targets)
        assert re.fullmatch(r"[A-Z][A-Za-z0-9]*", descriptor["name"])
        if rule.sections().get("why"):
            assert "Why" in descriptor["help"]["text"] and descriptor["help"]["markdown"]
    ids = [d["id"] for d in driver["rules"]]
    for result in log["runs"][0]["results"]:
        assert ids[result["ruleIndex"]] == result["ruleId"]


def test_sarif_carries_the_verdicts(images):
    _, log = sarif(*FIXTURES, cwd=images)
    _, report = check_json(*FIXTURES, cwd=images)
    run = log["runs"][0]
    files = {a["location"]["uri"]: a for a in run["artifacts"] if "parentIndex" not in a}
    for image in report["images"]:
        props = files[image["path"]]["properties"]
        assert props["verdicts"] == image["verdicts"]
        assert list(props["verdicts"]) == list(TARGETS)
        assert props["required"] == image["required"]
        assert props["requiredFrom"] == image["required_from"]
    for artifact in run["artifacts"]:  # nested layers point at their parent
        if "parentIndex" in artifact:
            assert 0 <= artifact["parentIndex"] < run["artifacts"].index(artifact)


def test_sarif_is_byte_identical_across_runs_and_uris_are_stable(images, sarif_validator):
    first, _ = sarif(*FIXTURES, cwd=images)
    again, _ = sarif(*FIXTURES, cwd=images)
    assert first.stdout == again.stdout
    _, dotted = sarif("./bzimage-bad-crc", cwd=images)
    _, absolute = sarif(images / "bzimage-bad-crc", cwd=images.parent)
    uris = [log["runs"][0]["artifacts"][0]["location"]["uri"] for log in (dotted, absolute)]
    assert uris == ["bzimage-bad-crc", (images / "bzimage-bad-crc").as_uri()]
    sarif_validator.validate(absolute)


def test_sarif_uri_of_an_awkward_name(images, sarif_validator, tmp_path):
    name = "odd name,with:colon%and#hash"
    (tmp_path / name).write_bytes((images / "bzimage-bad-crc").read_bytes())
    _, log = sarif(name, cwd=tmp_path)
    sarif_validator.validate(log)
    uri = log["runs"][0]["artifacts"][0]["location"]["uri"]
    assert ":" not in uri and "#" not in uri and " " not in uri
    assert unquote(uri) == name
    assert artifact_uri("sub/../a b") == "sub/../a%20b"
    assert artifact_uri("/abs/x y") == "file:///abs/x%20y"


def test_sarif_findings_inside_decoded_layers(images, probe, sarif_validator):
    """A finding in a bzImage payload or a gzip layer: the file region of the stored
    (compressed) bytes, and the exact place in properties and a nested artifact."""
    done = probe_pvhlint(probe, "check", "--format", "sarif", "--require", "xen-pvh",
                         "--select", "zz-probe", "bzimage-xz", "gzip-elf64-pvh",
                         cwd=images)  # fmt: skip
    assert done.returncode == 0, done.stderr
    log = json.loads(done.stdout)
    sarif_validator.validate(log)
    run = log["runs"][0]
    artifacts = run["artifacts"]
    nested = [r for r in run["results"] if r["properties"]["layer"] > 0]
    assert {r["properties"]["layerKind"] for r in nested} == {"payload", "gzip"}
    for result in run["results"]:
        props = result["properties"]
        physical = result["locations"][0]["physicalLocation"]
        region = physical.get("region")
        if props["layer"] == 0:
            if props["offsetInLayer"] is None:
                assert region == {"startLine": 1}
            else:
                assert region == {"startLine": 1, "byteOffset": 0x10, "byteLength": 8}
            continue
        assert (props["offsetInLayer"], props["lengthInLayer"]) == (0x10, 8)
        layer_artifact = artifacts[props["layerArtifactIndex"]]
        assert layer_artifact["properties"]["layer"] == props["layer"]
        assert layer_artifact["parentIndex"] == physical["artifactLocation"]["index"]
        assert region["byteOffset"] == layer_artifact["offset"]
        assert region["byteLength"] == layer_artifact["properties"]["storedLength"]
        assert "0x10" in region["message"]["text"]
        assert props["codec"] in ("xz", "gzip")


# --- GitHub -----------------------------------------------------------------------------------


def test_github_escaping():
    # Control characters become printable escapes first (issue 16.14: one line per message).
    assert escape_data("100% a\r\nb") == "100%25 a\\r\\nb"
    assert escape_property("a,b:c%d\n") == "a%2Cb%3Ac%25d\\n"
    assert escape_data("a,b:c") == "a,b:c"  # only properties escape ',' and ':'
    assert command("warning", "x\ny", file="p,q", title="r:s") == (
        "::warning file=p%2Cq,title=r%3As::x\\ny"
    )
    assert command("notice", "50%") == "::notice::50%25"


def github_unescape(text: str) -> str:
    return re.sub(r"%(25|0D|0A|3A|2C)", lambda m: chr(int(m[1], 16)), text)


def test_github_output_parses_and_is_escaped(images, probe, tmp_path):
    name = "odd,name:here%"
    (tmp_path / name).write_bytes((images / "bzimage-xz").read_bytes())
    args = ("--select", "zz-probe,bzimage-crc", name, images / "bzimage-bad-crc", "gone.img")
    done = probe_pvhlint(probe, "check", "--format", "github", *args, cwd=tmp_path)
    assert done.returncode == 2 and "gone.img" in done.stderr
    as_json = probe_pvhlint(probe, "check", "--format", "json", *args, cwd=tmp_path)
    report = json.loads(as_json.stdout)
    expected = []
    for image in report["images"]:
        if "error" in image:
            expected.append(("error", image["path"], "pvhlint", image["error"]))
            continue
        for finding in image["findings"]:
            command_name = {"info": "notice"}.get(finding["severity"], finding["severity"])
            expected.append((command_name, image["path"], finding["rule"], finding["message"]))
    lines = done.stdout.split("\n")
    assert lines[-1] == "" and len(lines) - 1 == len(expected)
    for line, (level, path, title, message) in zip(lines[:-1], expected, strict=True):
        match = GITHUB_LINE.match(line)
        assert match, line
        assert match[1] == level and github_unescape(match[2]) == path
        assert github_unescape(match[3]) == title
        text = github_unescape(match[4])
        assert text.startswith(message)
        if title == "zz-probe" and "layer 1" in message:
            assert "%25" in match[4] and "\\n" in text and "\n" not in text
            assert "payload+0x10, 8 bytes" in text and "file offset 0x" in text
    assert f"file={escape_property(name)}," in done.stdout
    assert "::error file=gone.img,title=pvhlint::no such file" in done.stdout
    crc = [line for line in lines if "title=bzimage-crc" in line]
    assert len(crc) == 1 and crc[0].startswith("::warning ") and "(file+0x" in crc[0]


# --- JSON -------------------------------------------------------------------------------------


def _keys(value: object, found: set[str]) -> set[str]:
    """Every key, except the version numbers keying a VERDICT's `versions` (checked apart)."""
    if isinstance(value, dict):
        for key, item in value.items():
            found.add(key)
            if key == "versions":
                for per_version in item.values():
                    _keys(per_version, found)
                continue
            _keys(item, found)
    elif isinstance(value, list):
        for item in value:
            _keys(item, found)
    return found


def test_json_keys_are_documented(images):
    _, report = check_json(*FIXTURES, "missing.img", cwd=images)
    assert report["version"] == 1 and len(report["images"]) == len(FIXTURES) + 1
    text = DOC.read_text()
    spans = re.findall(r"`([^`]+)`", text)
    documented = {w for span in spans for w in re.findall(r"[a-z_0-9-]+", span)}
    keys = _keys(report, set())
    undocumented = {key for key in keys if key not in documented}
    assert not undocumented, f"document these keys in {DOC.name}: {sorted(undocumented)}"
    for image in report["images"]:
        if "error" in image:
            assert set(image) == {"path", "error"}
            continue
        assert set(image) == {"path", "format", "kernel_format", "layers", "required",
                              "required_from", "pvh_only", "findings", "verdicts"}  # fmt: skip
        assert list(image["verdicts"]) == list(TARGETS)
        for target, verdict in image["verdicts"].items():
            expected = {"verdict", "rules", "required", "versions"} | (
                {"path"} if target == "qemu" else set()
            )
            assert expected <= set(verdict) <= expected | {"message", "undefined"}
            if verdict["verdict"] == "accept":  # a message says where the loader stops
                assert "message" not in verdict and "undefined" not in verdict
            # The default profile, debian13: one version of each target's loader.
            assert list(verdict["versions"]) == [PROFILES[Profile.DEBIAN13][LOADER_OF[target]]]
            assert verdict["verdict"] in ("accept", "reject")
            assert (verdict["verdict"] == "accept") == (not verdict["rules"])
            assert verdict["required"] == (target in image["required"])
        for finding in image["findings"]:
            assert set(finding) == {"rule", "severity", "message", "layer", "layer_kind",
                                    "offset", "length", "rejects", "fix"}  # fmt: skip


# --- exit codes -------------------------------------------------------------------------------


def test_exit_0_when_clean(images):
    code, report = check_json("-r", "xen-pvh", "--select", "bzimage-crc", "bzimage-xz", cwd=images)
    assert code == 0 and report["images"][0]["findings"] == []


@pytest.mark.parametrize(
    ("args", "code"),
    [
        ((), 0),  # bzimage-crc is a warning; the default --fail-on is error
        (("--severity", "bzimage-crc=error"), 1),
        (("--fail-on", "warning"), 1),
        (("--fail-on", "info"), 1),
        (("--severity", "bzimage-crc=error", "--fail-on", "never"), 0),
        (("--severity", "bzimage-crc=info", "--fail-on", "warning"), 0),
    ],
)
def test_exit_1_at_or_above_fail_on(images, args, code):
    done = pvhlint("check", "-r", "linux", "--select", "bzimage-crc", *args, "bzimage-bad-crc",
                   cwd=images)  # fmt: skip
    assert done.returncode == code, (done.stdout, done.stderr)
    assert "bzimage-crc" in done.stdout


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("missing.img",), ("missing.img", "no such file")),
        (("--require", "xen-hvm", "bzimage-xz"), ("xen-hvm",)),
        (("--format", "xml", "bzimage-xz"), ("--format",)),
        (("--fail-on", "sometimes", "bzimage-xz"), ("--fail-on",)),
        (("--severity", "no-such-rule=error", "bzimage-xz"), ("no-such-rule",)),
        (("--severity", "bzimage-crc=fatal", "bzimage-xz"), ("fatal",)),
    ],
)
def test_exit_2_for_bad_input(images, args, words):
    one_line_error(pvhlint("check", *args, cwd=images), *words)


def test_exit_2_for_a_bad_config(images, tmp_path):
    bad = tmp_path / "pvhlint.toml"
    bad.write_text("require = [\n")
    one_line_error(pvhlint("check", "--config", bad, images / "bzimage-xz", cwd=images), str(bad))


def test_files_and_directories_together(images, tmp_path):
    tree = tmp_path / "tree"
    (tree / "sub" / "deeper").mkdir(parents=True)
    (tree / "bzimage-bad-crc").write_bytes((images / "bzimage-bad-crc").read_bytes())
    (tree / "sub" / "deeper" / "mb1").write_bytes((images / "elf32-mb1").read_bytes())
    (tree / "sub" / "README.txt").write_text("not a kernel\n" * 20)
    (tree / "sub" / "empty").write_bytes(b"")
    code, report = check_json("--select", "bzimage-crc", "--fail-on", "never", tree,
                              images / "bzimage-xz", cwd=tmp_path)  # fmt: skip
    assert code == 0
    paths = [image["path"] for image in report["images"]]
    assert paths == [str(tree / "bzimage-bad-crc"), str(tree / "sub" / "deeper" / "mb1"),
                     str(images / "bzimage-xz")]  # fmt: skip
    # Selected, plus any reject of a required target (never hidden).
    shown = [f["rule"] for f in report["images"][0]["findings"] if not f["rejects"]]
    assert shown == ["bzimage-crc"]


def test_a_non_kernel_required_to_boot_gets_the_loaders_verdicts(images, tmp_path):
    """A file of no known format gets seven verdicts: QEMU -kernel takes any file without a
    header it knows as an old zImage (this one is too short for it), the other loaders refuse
    it. (Without --require it claims no target: tests/test_gate.py.)"""
    text = tmp_path / "notes.txt"
    text.write_text("not a kernel\n" * 20)
    args = ("--require", "qemu", images / "bzimage-bad-crc", text, images / "bzimage-xz")
    done = pvhlint("check", "--format", "json", *args, cwd=tmp_path)
    assert done.returncode == 1 and done.stderr == "", done.stderr  # qemu rejects notes.txt
    report = json.loads(done.stdout)
    assert [image["path"] for image in report["images"]] == [str(a) for a in args[2:]]
    raw = report["images"][1]
    assert raw["format"] == "raw" and len(raw["verdicts"]) == 7
    assert not any(v["verdict"] == "accept" for v in raw["verdicts"].values())
    assert raw["verdicts"]["qemu"]["rules"] == ["bzimage-truncated"]
    console = pvhlint("check", *args, cwd=tmp_path)
    assert f"{text}  raw" in console.stdout and str(images / "bzimage-xz") in console.stdout


def test_console_prints_file_names_as_they_are(tmp_path: Path):
    """rich would turn `:fire:` into an emoji and `[b]` into bold."""
    image = tmp_path / "k:fire:[b]z"
    image.write_bytes(catalogue()["bzimage-xz"].data)
    done = pvhlint("check", image, cwd=tmp_path)
    assert f"{image}  bzimage" in done.stdout, done.stdout


def test_loaders_all_splits_xen_417_and_420(tmp_path, sarif_validator):
    """PADDR_OFFSET without VIRT_BASE: Xen 4.17 refuses the PVH kernel, 4.20 boots it
    (xen.git b77ed96fce); --loaders all shows both, in every format."""
    from fixtures.variants import variants

    kernel = tmp_path / "paddr"
    kernel.write_bytes(variants()["pvh64-paddr-offset-no-virt-base"].data)
    done = pvhlint("check", "--loaders", "all", kernel, cwd=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    text = " ".join(done.stdout.split())
    assert "loaders: Xen 4.17/4.20, QEMU 7.2/10.0, GRUB 2.06/2.12, linux-loader 0.14" in text
    assert "xen-pvh* 4.17 reject, 4.20 accept xen-paddr-offset" in text
    assert "ELF image is not 32bit" in text and 'Found PVH image"' in text
    code, report = check_json("--loaders", "all", kernel, cwd=tmp_path)
    pvh = report["images"][0]["verdicts"]["xen-pvh"]
    # Xen 4.17's own words (elf_xen_addr_calc_check), as its domain builder logs them
    assert pvh["versions"] == {"4.17": {"verdict": "reject", "rules": ["xen-paddr-offset"],
                                        "message": "ELF_PADDR_OFFSET set, VIRT_BASE unset"},
                               "4.20": {"verdict": "accept", "rules": []}}  # fmt: skip
    assert pvh["verdict"] == "reject" and code == 1
    finding = next(f for f in report["images"][0]["findings"] if f["rule"] == "xen-paddr-offset")
    assert finding["rejects"] == ["xen-pvh@4.17"] and finding["severity"] == "error"
    # The default profile, debian13 (Xen 4.20): accepted, the finding a warning.
    code, report = check_json(kernel, cwd=tmp_path)
    assert report["images"][0]["verdicts"]["xen-pvh"]["verdict"] == "accept" and code == 0
    done, log = sarif("--loaders", "all", kernel, cwd=tmp_path)
    sarif_validator.validate(log)
    run = log["runs"][0]
    assert run["invocations"][0]["properties"]["loaders"] == "all"
    props = run["artifacts"][0]["properties"]["verdicts"]["xen-pvh"]
    assert props["versions"]["4.17"]["verdict"] == "reject"


def test_loader_options_are_checked(tmp_path):
    kernel = tmp_path / "k"
    kernel.write_bytes(b"\x7fELF" + bytes(60))
    done = pvhlint("check", "--loaders", "debian11", kernel, cwd=tmp_path)
    one_line_error(done, "debian11", "debian12, debian13, all")
    done = pvhlint("check", "--require", "xen-pvh@4.18", kernel, cwd=tmp_path)
    one_line_error(done, "4.18", "4.17, 4.20")
    (tmp_path / "pvhlint.toml").write_text('loaders = "debian9"\n')
    done = pvhlint("check", kernel, cwd=tmp_path)
    one_line_error(done, "pvhlint.toml", "debian9")


def test_loaders_from_the_configuration(tmp_path):
    from fixtures.variants import variants

    kernel = tmp_path / "paddr"
    kernel.write_bytes(variants()["pvh64-paddr-offset-no-virt-base"].data)
    (tmp_path / "pvhlint.toml").write_text('loaders = "debian12"\n')
    code, report = check_json(kernel, cwd=tmp_path)
    pvh = report["images"][0]["verdicts"]["xen-pvh"]
    assert list(pvh["versions"]) == ["4.17"] and pvh["verdict"] == "reject" and code == 1
    code, report = check_json("--loaders", "debian13", kernel, cwd=tmp_path)  # the flag wins
    assert report["images"][0]["verdicts"]["xen-pvh"]["verdict"] == "accept" and code == 0


# --- console off a terminal -------------------------------------------------------------------


def _console_both_ways(report, **kw) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    """The console report as rich prints it off a terminal, and as Plain writes it."""
    import contextlib
    import io

    from pvhlint.cli import console
    from pvhlint.output.check_console import Plain, RichOut, print_console

    through_rich, plain = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(through_rich):
        print_console(report, RichOut(console(False)), **kw)
    with contextlib.redirect_stdout(plain):
        print_console(report, Plain(lambda: RichOut(console(False))), **kw)
    return through_rich.getvalue(), plain.getvalue()


def test_console_off_a_terminal_is_what_rich_prints(tmp_path: Path):
    """Off a terminal `check` writes the console report without rich: byte for byte what
    rich printed there, for every fixture alone and all together (the summary tables),
    each verdict split per version, quiet, a configuration line and awkward names."""
    from pvhlint.checker import Options, check_paths
    from pvhlint.profiles import Profile

    for name, fixture in catalogue().items():
        (tmp_path / name).write_bytes(fixture.data)
    for name in ("k:fire:[b]z", "a\\[red]b\\", "tab\there é 名"):
        (tmp_path / name).write_bytes(catalogue()["bzimage-xz"].data)
    images = sorted(str(path) for path in tmp_path.iterdir())
    options = (Options(), Options(loaders=Profile.ALL, require=("xen-pvh@4.17",)),
               Options(pvh_only=True))  # fmt: skip
    compared = 0
    for option in options:
        reports = [check_paths([image], option) for image in images]
        reports.append(check_paths(images, option))
        for report in reports:
            for kw in ({}, {"quiet": True}, {"config": "a[b]/pyproject.toml"}):
                through_rich, plain = _console_both_ways(report, **kw)
                assert plain == through_rich, (report.results[0].path, kw)
                compared += bool(through_rich)
    assert compared > 3 * len(images)


def test_console_table_rich_lays_out_goes_to_rich():
    """A table wider than the 160 columns off a terminal: rich wraps it, and Plain leaves
    it to rich rather than lay it out otherwise."""
    import contextlib
    import io

    from pvhlint.cli import console
    from pvhlint.output.check_console import Plain, RichOut

    rows = [[[("xen-pvh", "")], [("reject", "red")], [("", "")],
             [(", ".join(f"rule-{n}" for n in range(30)), "")]]]  # fmt: skip
    header = ("target", "verdict", "path", "rejected by")
    through_rich, plain = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(through_rich):
        RichOut(console(False)).table(header, rows)
    with contextlib.redirect_stdout(plain):
        Plain(lambda: RichOut(console(False))).table(header, rows)
    assert plain.getvalue() == through_rich.getvalue()
    assert len(plain.getvalue().splitlines()) > 2  # wrapped: rich's layout, not one line a row
