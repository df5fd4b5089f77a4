"""What a newcomer reads is true: the README's and the docs' code runs as printed, and no page
points outside the project."""

from __future__ import annotations

import importlib.util
import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
PAGES = sorted((ROOT / "docs").glob("*.rst"))


def _markdown_blocks(text: str, lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", text, flags=re.S)


def _rst_blocks(text: str) -> list[str]:
    """The bodies of ``.. code-block:: python`` directives (dedented)."""
    blocks = []
    for m in re.finditer(r"\.\. code-block:: python\n((?:\n|   .*\n|\s*\n)+)", text):
        lines = [ln[3:] if ln.startswith("   ") else ln for ln in m.group(1).splitlines()]
        blocks.append("\n".join(lines).strip("\n") + "\n")
    return blocks


def _imports(code: str) -> list[str]:
    names = []
    for line in code.splitlines():
        m = re.match(r"\s*import (.+)", line) or re.match(r"\s*from (\S+) import", line)
        if m:
            names += [part.split(" as ")[0].strip().split(".")[0] for part in m.group(1).split(",")]
    return names


def _missing(code: str) -> list[str]:
    return [name for name in _imports(code) if importlib.util.find_spec(name) is None]


def _run(code: str, tmp_path: pathlib.Path) -> str:
    script = tmp_path / "block.py"
    script.write_text(code)
    out = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=600, cwd=tmp_path
    )
    assert out.returncode == 0, code + "\n" + out.stdout[-2000:] + out.stderr[-3000:]
    return out.stdout


def test_readme_example_runs_as_printed_and_prints_what_it_says(tmp_path):
    blocks = [b for b in _markdown_blocks((ROOT / "README.md").read_text(), "python") if "matsqrt." in b]
    assert len(blocks) == 2  # the example, and the powm lines that continue it
    code = "\n".join(blocks)
    if _missing(code):
        pytest.skip(f"needs {', '.join(_missing(code))}")
    printed = _run(code, tmp_path).split()
    claimed = [
        re.findall(r"\d\.\d+e[-+]\d+", line.split("#", 1)[1])[0]
        for line in code.splitlines()
        if line.startswith("print(") and "#" in line
    ]
    assert len(printed) == len(claimed) == 4
    for got, said in zip(printed, claimed, strict=True):
        assert float(said) / 3 <= float(got) <= 3 * float(said), (got, said)


@pytest.mark.parametrize("page", [p.name for p in PAGES])
def test_docs_code_blocks_run(page, tmp_path):
    """Every python block of a page runs, in order, in one namespace (blocks whose library is
    not installed are left out, with the blocks after them that use their names)."""
    blocks = _rst_blocks((ROOT / "docs" / page).read_text())
    runnable = [b for b in blocks if not _missing(b)]
    if not runnable:
        pytest.skip("no python block runnable here" if blocks else "no python blocks")
    _run("\n".join(runnable), tmp_path)


def test_no_page_points_outside_the_project():
    """Users see the repository and public URLs only: no steering files, no relative paths out."""
    sources = [ROOT / "README.md", *PAGES, *sorted((ROOT / "docs" / "examples").glob("*.py"))]
    for path in sources:
        text = path.read_text()
        for banned in ("SPEC.md", "../shared", "steering"):
            assert banned not in text, f"{path.name} mentions {banned!r}"
        targets = re.findall(r"\]\(([^)]+)\)", text) + re.findall(r"`[^`<]*<([^>]+)>`_", text)
        for target in targets:
            if re.match(r"https?://", target):
                continue
            assert (path.parent / target).exists(), f"{path.name} links to {target!r}, not in the project"


def test_headline_numbers_agree_between_pages():
    """A range quoted as a headline on more than one page is the same range everywhere."""
    pages = {p.name: p.read_text() for p in [ROOT / "README.md", *PAGES]}
    rng = r"(\d+(?:\.\d+)?–\d+(?:\.\d+)?)×"
    claims = {
        "forward alone, torch / JAX / NumPy": rng
        + r" (?:the published forward )?on torch,\s+(\S+)× on JAX,?\s+(?:and\s+)?(\S+)× on NumPy",
        "more accurate in the benchmark's rows": rng + r" more accurate in those rows",
        "root, accuracy table": rng
        + r" (?:smaller errors |more accurate than the paper's configuration at condition\s+number 100 )?for the root",
        "inverse root, accuracy table": rng + r" for the inverse root",
    }
    for what, pattern in claims.items():
        found = {name: sorted(set(re.findall(pattern, text))) for name, text in pages.items()}
        found = {name: v for name, v in found.items() if v}
        assert found, what  # the claim is still made somewhere
        assert len({tuple(v) for v in found.values()}) == 1, (what, found)
