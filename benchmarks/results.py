"""Write one benchmark's section of RESULTS.md, leaving every other section as it is."""
from __future__ import annotations

import re
from pathlib import Path

RESULTS = Path(__file__).with_name("RESULTS.md")


def write_section(key: str, text: str, path: Path = RESULTS) -> Path:
    """Replace the block between ``<!-- begin KEY -->`` and ``<!-- end KEY -->`` (append it if absent)."""
    begin, end = f"<!-- begin {key} -->", f"<!-- end {key} -->"
    block = f"{begin}\n{text.strip()}\n{end}"
    old = path.read_text() if path.exists() else "# Benchmarks\n"
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.S)
    new = pattern.sub(lambda _: block, old) if pattern.search(old) else old.rstrip() + "\n\n" + block + "\n"
    path.write_text(new)
    return path
