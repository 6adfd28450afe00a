"""report.html: one self-contained file, rendered by a real headless browser (Debian's chromium)."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess

import pytest

from robustgan.cli import main
from robustgan.report import html_page, json_markdown


def _browser() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    if os.environ.get("ROBUSTGAN_NO_BROWSER") == "1":
        pytest.skip("ROBUSTGAN_NO_BROWSER=1: no headless browser on this machine")
    pytest.fail("no chromium found: `apt-get install -y chromium` (.ci/run installs it), "
                "or set ROBUSTGAN_NO_BROWSER=1 to skip the browser test")


def _headless(*args, timeout=90):
    cmd = [_browser(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
           "--disable-dev-shm-usage", "--virtual-time-budget=5000", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("html") / "report"
    code = main(["evaluate", "--attacks", "fgsm,pgd,fmn", "--norms", "linf", "-n", "60", "--num-minimal", "20",
                 "--no-checks", "--quiet", "--device", "cpu", "--out", str(out)])
    assert code in (0, None)
    return out


def test_the_report_is_one_self_contained_file(report_dir):
    page = (report_dir / "report.html").read_text()
    report = json.loads((report_dir / "report.json").read_text())
    sources = re.findall(r'<img[^>]*\bsrc="([^"]+)"', page)
    assert len(sources) == len(report["figures"]) >= 2
    assert all(s.startswith("data:image/png;base64,") for s in sources)
    assert "http://" not in page and "https://" not in page  # nothing fetched from the network
    assert f"{100 * report['clean_accuracy']:.1f}%" in page


def test_the_report_renders_in_a_headless_browser(report_dir, tmp_path):
    report = json.loads((report_dir / "report.json").read_text())
    shot = tmp_path / "shot.png"
    done = _headless(f"--screenshot={shot}", "--window-size=1200,1800", (report_dir / "report.html").as_uri())
    assert shot.is_file(), done.stderr[-2000:]
    from PIL import Image

    pixels = Image.open(shot).convert("L")
    colours = pixels.getcolors(maxcolors=256 * 256) or []
    assert len(colours) > 20  # text, table rules and plots: not a blank page
    assert pixels.getextrema()[0] < 60  # dark text is drawn
    # the page as the browser built it, with every embedded image decoded (its natural width read)
    probe = tmp_path / "probe.html"
    script = ("<script>window.addEventListener('load', () => { document.body.setAttribute('data-widths', "
              "[...document.images].map(i => i.naturalWidth).join(',')); });</script>")
    probe.write_text((report_dir / "report.html").read_text().replace("</body>", script + "</body>"))
    dom = _headless("--dump-dom", probe.as_uri()).stdout
    widths = [int(w) for w in re.search(r'data-widths="([^"]*)"', dom).group(1).split(",")]
    assert len(widths) == len(report["figures"]) and min(widths) > 100
    text = re.sub(r"<[^>]+>", " ", dom)
    assert "Robustness report" in text and f"Clean accuracy: {100 * report['clean_accuracy']:.1f}%" in text
    for row in report["headline"]:
        assert f"{100 * row['robust_accuracy']:.1f}%" in text


def test_json_reports_become_tables_with_their_warnings_first(tmp_path):
    from PIL import Image

    Image.new("RGB", (30, 20), "red").save(tmp_path / "fig.png")
    md = json_markdown("GAN metrics", {"fid_local": 12.5, "warnings": ["KID subsets overlap"],
                                       "classes": {"0": 3, "1": 4}, "rows": [{"a": 1, "b": 2.0}]},
                       {"figure": "fig.png", "absent": "nope.png"})
    page = html_page("t", md, tmp_path)
    assert page.index("KID subsets overlap") < page.index("fid_local")
    assert "<table>" in page and "data:image/png;base64," in page and "missing figure: nope.png" in page
