"""Every example in the docs runs: README.md and docs/*.md, so they cannot rot.

Fenced blocks marked ``python`` run in order, in one namespace per document; blocks marked
``sh`` run one command at a time (``\\`` continues a line, ``#`` starts a comment) with bash,
each expected to exit 0 (write ``|| echo …`` after a command meant to fail). Other blocks
(``text``, output) are not run. Each document runs in its own empty folder holding a link to
``fixtures/``, with ``boundaries`` and ``python`` the ones under test; ``make …`` lines are
not run (``make test`` is this suite).

docs/usage.md's examples (and any README example that does the same) name a user's own files
(``addresses.csv.gz``, ``communes.geojson``, ``official.geojson``…) in département 94: they run on
the bundled town (département 99) put under those names, with the codes changed to the town's
(:data:`README_CODES`). The README's example output is checked against what the commands print
(:func:`test_readme_output_is_what_the_commands_print`).
"""

from __future__ import annotations

import gzip
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, TOWN

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
#: The documents whose examples name a user's own files, given the bundled town under those names.
OWN_FILES = ("README.md", "usage.md")
#: The README's département and commune codes, and the bundled town's in their place.
README_CODES = {"--departement 94": "--departement 99", 'departement="94"': 'departement="99"',
                "--commune 94028": "--commune 99001"}

FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```\s*$", re.S | re.M)


def blocks(path: Path) -> list[tuple[str, str]]:
    """The (language, code) of each fenced block of a Markdown file, in order."""
    return [(m.group(1), m.group(2)) for m in FENCE.finditer(path.read_text(encoding="utf-8"))]


def commands(code: str) -> list[str]:
    """The shell commands of an ``sh`` block: continuation lines joined, comments and make dropped."""
    out = []
    for line in code.replace("\\\n", " ").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or line.startswith("make "):
            continue
        out.append(line)
    return out


def _folder(tmp_path: Path, doc: Path) -> Path:
    (tmp_path / "fixtures").symlink_to(ROOT / "fixtures", target_is_directory=True)
    if doc.name in OWN_FILES:
        with open(TOWN / "addresses.csv", "rb") as src, gzip.open(tmp_path / "addresses.csv.gz", "wb") as dst:
            shutil.copyfileobj(src, dst)
        shutil.copy(TOWN / "communes.geojson", tmp_path / "communes.geojson")
        shutil.copy(TOWN / "stations_truth.geojson", tmp_path / "official.geojson")
        shutil.copy(TOWN / "addresses.csv", tmp_path / "test-addresses.csv")
    return tmp_path


def _env(bin_dir: Path) -> dict:
    env = dict(os.environ)
    # `boundaries` and `python` are the ones of this interpreter, importing this checkout
    env["PATH"] = f"{bin_dir}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = str(ROOT)
    return env


def _bin(tmp_path_factory) -> Path:
    """A folder with ``boundaries`` (this checkout's command) and ``.venv/bin/boundaries`` for the README."""
    folder = tmp_path_factory.mktemp("bin")
    script = folder / "boundaries"
    script.write_text(f"#!/bin/sh\nexec {sys.executable} -m boundaries \"$@\"\n")
    script.chmod(0o755)
    return folder


@pytest.mark.parametrize("doc", DOCS, ids=[p.name for p in DOCS])
def test_examples_run(doc, tmp_path, tmp_path_factory, monkeypatch):
    found = [(lang, code) for lang, code in blocks(doc) if lang in ("python", "sh")]
    if not found:
        pytest.skip(f"{doc.name} has no python or sh example")
    folder = _folder(tmp_path, doc)
    bin_dir = _bin(tmp_path_factory)
    venv = folder / ".venv" / "bin"
    venv.mkdir(parents=True)
    (venv / "boundaries").symlink_to(bin_dir / "boundaries")
    env = _env(bin_dir)
    monkeypatch.chdir(folder)
    monkeypatch.setenv("PYTHONPATH", env["PYTHONPATH"])
    monkeypatch.setenv("PATH", env["PATH"])
    namespace: dict = {"__name__": f"doc_{doc.stem}"}
    for n, (lang, code) in enumerate(found, 1):
        if doc.name in OWN_FILES:
            for old, new in README_CODES.items():
                code = code.replace(old, new)
        where = f"{doc.relative_to(ROOT)}, example {n}"
        if lang == "python":
            try:
                exec(compile(code, where, "exec"), namespace)  # noqa: S102 — our own docs
            except Exception as exc:  # say which example broke, and how
                pytest.fail(f"{where} ({lang}) raised {type(exc).__name__}: {exc}\n{code}")
        else:
            for command in commands(code):
                run = subprocess.run(["bash", "-o", "pipefail", "-c", command], cwd=folder, env=env,
                                     capture_output=True, text=True, timeout=600)
                assert run.returncode == 0, f"{where}: `{command}` exited {run.returncode}:\n{run.stderr}"
                assert "Traceback" not in run.stderr, f"{where}: `{command}`:\n{run.stderr}"


def test_runner_sees_every_example():
    """The runner itself: it finds the blocks, and a failing command fails."""
    pipelines = ROOT / "docs" / "pipelines.md"
    langs = [lang for lang, _ in blocks(pipelines)]
    assert langs.count("python") >= 4 and langs.count("sh") >= 2
    assert commands("a \\\n  b  # not a comment\n# comment\nmake test\nc") == ["a    b  # not a comment", "c"]
    assert subprocess.run(["bash", "-o", "pipefail", "-c", "false | cat"]).returncode != 0


def test_method_parameter_table_is_the_code():
    """docs/method.md's table of parameters: every field, its option and default, and no other."""
    from dataclasses import fields

    from boundaries.params import Parameters

    text = (ROOT / "docs" / "method.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `(\w+)` \| `(--[\w-]+)` \| ([-\d.]+) \|", text, re.M)
    assert rows, "docs/method.md has no parameter table"
    table = {name: (flag, float(default)) for name, flag, default in rows}
    expected = {f.name: ("--" + f.name.replace("_", "-"), float(f.default)) for f in fields(Parameters)}
    assert table == expected


def _reference():
    """docs/make_reference.py, imported from its file (docs/ is not a package)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_reference", ROOT / "docs" / "make_reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_options_reference_is_current():
    """docs/options.md is what docs/make_reference.py generates from the click objects today."""
    expected = _reference().render()
    current = (ROOT / "docs" / "options.md").read_text(encoding="utf-8")
    assert current == expected, (
        "docs/options.md is out of date with the options of boundaries/cli.py: "
        "run `make docs` (.venv/bin/python docs/make_reference.py) and commit the result")


def test_options_reference_covers_every_option():
    """The generator itself: every command and every flag of every option is on the page, with its default."""
    import click

    from boundaries.cli import main

    text = _reference().render()
    ctx = click.Context(main, info_name="boundaries", **main.context_settings)
    for name in main.list_commands(ctx):
        command = main.get_command(ctx, name)
        section = text.split(f"## `boundaries {name}`\n", 1)[1].split("\n## ", 1)[0]
        sub = click.Context(command, info_name=name, parent=ctx)
        for param in command.get_params(sub):
            if isinstance(param, click.Option):
                row = next((line for line in section.splitlines() if line.startswith(f"| `{param.opts[0]}`")), None)
                assert row, f"{name} {param.opts[0]} is missing from docs/options.md"
                for flag in param.opts + param.secondary_opts:
                    assert f"`{flag}`" in row
                default = param.get_default(sub, call=False)
                if isinstance(default, (int, float)) and not isinstance(default, bool) and not param.required:
                    assert f"`{default:g}`" in row, f"{name} {param.opts[0]}: default {default} not shown"
    # a changed option changes the page: the generator reads the objects, not a copy of them
    fake = click.Group("boundaries", commands=[click.Command("build", params=[
        click.Option(["--smooth-window-m"], type=click.FloatRange(min=0), default=7.5, help="Made up.")])])
    page = _reference().render(fake)
    assert "| `--smooth-window-m` | number ≥ 0 | `7.5` | m | Made up. |" in page


#: A Markdown link or image whose target is not a URL or an anchor: [text](target) or [text](target#part)
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


def relative_links(path: Path) -> list[str]:
    """The relative targets of the links of a Markdown file, outside code blocks and code spans."""
    text = FENCE.sub("", path.read_text(encoding="utf-8"))
    text = re.sub(r"`[^`\n]*`", "", text)
    out = []
    for target in LINK.findall(text):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I) or target.startswith("#"):
            continue  # https://…, mailto:…, or an anchor on the same page
        out.append(target.split("#", 1)[0])
    return out


@pytest.mark.parametrize("doc", DOCS, ids=[p.name for p in DOCS])
def test_relative_links_resolve(doc):
    """Every relative link of README.md and docs/*.md points at a file or folder of the checkout."""
    links = relative_links(doc)
    missing = [t for t in links if not (doc.parent / t).exists()]
    assert not missing, f"{doc.relative_to(ROOT)} links to missing files: {missing}"


def test_link_finder_finds_links(tmp_path):
    """The link test itself: it sees links and images, ignores URLs, anchors and code."""
    page = tmp_path / "page.md"
    page.write_text("See [a](docs/a.md#x), ![b](b.png) and [c](https://x.org), [d](#here).\n"
                    "`[e](e.md)`\n```text\n[f](f.md)\n```\n", encoding="utf-8")
    assert relative_links(page) == ["docs/a.md", "b.png"]
    assert relative_links(ROOT / "README.md"), "README.md has no relative link at all"


def _normalise(text: str) -> str:
    """Output with what varies from run to run (the build time) blanked out."""
    return re.sub(r"built in [\d.]+ s", "built in … s", text).strip()


def test_readme_output_is_what_the_commands_print(tmp_path, tmp_path_factory):
    """Each ``text`` block right after an ``sh`` block of README.md is what those commands print (stdout,
    then stderr, command by command; the build time aside), and its ``json`` block is the first
    feature's properties of the first file the commands wrote."""
    found = blocks(ROOT / "README.md")
    pairs = [(code, found[i + 1][1]) for i, (lang, code) in enumerate(found[:-1])
             if lang == "sh" and found[i + 1][0] == "text"]
    assert len(pairs) >= 2, "README.md shows no command with its output"
    folder = _folder(tmp_path, ROOT / "README.md")
    venv = folder / ".venv" / "bin"
    venv.mkdir(parents=True)
    (venv / "boundaries").symlink_to(_bin(tmp_path_factory) / "boundaries")
    env = _env(venv)
    outputs = []
    for code, expected in pairs:
        printed = []
        for command in commands(code):
            run = subprocess.run(["bash", "-o", "pipefail", "-c", command], cwd=folder, env=env,
                                 capture_output=True, text=True, timeout=600)
            assert run.returncode == 0, f"README.md: `{command}` exited {run.returncode}:\n{run.stderr}"
            printed += [run.stdout, run.stderr]
            outputs += re.findall(r"-o (\S+\.geojson)\b", command)
        assert _normalise("".join(printed)) == _normalise(expected), (
            f"README.md's output of\n{code}\nis not what it prints today; paste the real output")
    import json

    shown = [code for lang, code in found if lang == "json"]
    assert shown, "README.md shows no feature"
    document = json.loads((folder / outputs[0]).read_text(encoding="utf-8"))
    assert json.loads(shown[0]) == document["features"][0]["properties"]


def test_readme_starts_with_the_two_commands():
    """The README's first lines give `make run` and `make test`, and the Makefile has both."""
    first = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()[:8]
    assert any(line.startswith("make run") for line in first) and any(line.startswith("make test") for line in first)
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^run: install$", makefile, re.M) and re.search(r"^test: install$", makefile, re.M)
