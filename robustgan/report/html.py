"""Self-contained HTML reports: one file with its tables, plots and image grids embedded (no network).

The page is rendered from the same Markdown as ``report.md`` (Python-Markdown, tables extension), so
the two never disagree; every ``<img src="file.png">`` next to the report is inlined as a data URI.
Reports that exist only as JSON get their Markdown from :func:`json_markdown`.
"""
from __future__ import annotations

import base64
import html
import mimetypes
import re
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional

STYLE = """
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; max-width: 1100px; margin: 2em auto;
       padding: 0 1em; color: #1b1f24; background: #fff; }
h1 { border-bottom: 2px solid #d0d7de; padding-bottom: .3em; }
h2 { margin-top: 1.8em; border-bottom: 1px solid #d0d7de; }
table { border-collapse: collapse; margin: 1em 0; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #d0d7de; padding: .3em .7em; text-align: left; }
th { background: #f3f5f7; }
tr:nth-child(even) td { background: #fafbfc; }
img { max-width: 100%; border: 1px solid #d0d7de; margin: .5em 0; image-rendering: pixelated; }
code { background: #f3f5f7; padding: .1em .3em; border-radius: 3px; }
footer { margin-top: 3em; color: #57606a; font-size: 13px; }
"""


def _inline_images(body: str, base: Path) -> str:
    """Replace each local image source with a data URI; a missing file keeps a visible note."""

    def swap(match: "re.Match[str]") -> str:
        src = html.unescape(match.group(2))
        if src.startswith(("data:", "http:", "https:")):
            return match.group(0)
        path = (base / src)
        if not path.is_file():
            return f"<em>[missing figure: {html.escape(src)}]</em>"
        kind = mimetypes.guess_type(path.name)[0] or "image/png"
        data = base64.b64encode(path.read_bytes()).decode("ascii")
        return f'{match.group(1)}data:{kind};base64,{data}"{match.group(3)}'

    return re.sub(r'(<img\b[^>]*?\bsrc=")([^"]+)"([^>]*>)', swap, body)


def html_page(title: str, markdown_text: str, base: Path) -> str:
    """The whole page: Markdown rendered, images from ``base`` embedded."""
    import markdown

    body = markdown.markdown(markdown_text, extensions=["tables", "fenced_code"], output_format="html")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{html.escape(title)}</title>"
            f"<style>{STYLE}</style></head><body>\n{_inline_images(body, Path(base))}\n"
            "<footer>Written by robustgan; this file is self-contained.</footer></body></html>\n")


def write_html(path: Path, title: str, markdown_text: str) -> Path:
    """Write :func:`html_page` atomically next to the files it embeds."""
    from ..runs import atomic_write_text

    path = Path(path)
    atomic_write_text(html_page(title, markdown_text, path.parent), path)
    return path


def _cell(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, (list, tuple)) and len(v) > 8:
        return f"{len(v)} values"
    return str(v).replace("|", "\\|").replace("\n", " ")


def json_markdown(title: str, report: Mapping[str, Any], figures: Optional[Dict[str, str]] = None,
                  skip: tuple = ()) -> str:
    """Markdown for a JSON report: its scalar fields in one table, each list of records (or mapping of
    mappings) as a table of its own, then the figures."""
    parts: List[str] = [f"# {title}"]
    warnings = report.get("warnings") or []
    if warnings:
        parts.append("**Warnings**\n\n" + "\n".join(f"- ⚠ {w}" for w in warnings))
    scalars = [(k, v) for k, v in report.items() if k not in skip and not isinstance(v, (dict, list))]
    if scalars:
        parts.append("| | |\n|---|---|\n" + "\n".join(f"| {k} | {_cell(v)} |" for k, v in scalars))
    for key, value in report.items():
        if key in skip:
            continue
        rows = list(value.values()) if isinstance(value, dict) and value and all(
            isinstance(v, dict) for v in value.values()) else value
        names = list(value) if rows is not value else None
        if isinstance(rows, list) and rows and all(isinstance(r, dict) for r in rows):
            columns = list(dict.fromkeys(c for r in rows for c in r if not isinstance(r[c], (dict, list))))
            head = ([""] if names else []) + columns
            lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
            for i, r in enumerate(rows):
                cells = ([str(names[i])] if names else []) + [_cell(r.get(c, "")) for c in columns]
                lines.append("| " + " | ".join(cells) + " |")
            parts += [f"## {key}", "\n".join(lines)]
        elif isinstance(value, dict) and value and all(not isinstance(v, (dict, list)) for v in value.values()):
            parts += [f"## {key}", "| | |\n|---|---|\n" + "\n".join(f"| {k} | {_cell(v)} |" for k, v in value.items())]
    if figures:
        parts.append("## Figures")
        parts += [f"![{name}]({path})" for name, path in figures.items()]
    return "\n\n".join(parts) + "\n"


__all__ = ["html_page", "json_markdown", "write_html"]
