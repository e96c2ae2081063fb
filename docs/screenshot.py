"""Screenshot of an evaluation report for the docs, in headless Chromium (Debian's, driven by Playwright).

    .venv/bin/python docs/screenshot.py benchmarks/results/banking77-report/report.html docs/report-banking77.png

Takes the top of the page (overall figures, the first head's cards, plots and per-class table) at 1400 px
wide; ``--element CSS`` takes one element instead (e.g. ``"#head-category figure.confusion"``).
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from playwright.sync_api import sync_playwright


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("report", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--height", type=int, default=1500)
    parser.add_argument("--element", default=None)
    args = parser.parse_args()
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("needs Debian's chromium (make browser)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1400, "height": args.height})
        page.goto(args.report.resolve().as_uri())
        target = page.locator(args.element) if args.element else page
        target.screenshot(path=str(args.out))
        browser.close()
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
