"""The HTML report at scale (issue 23): PROGRAMS objects x KERNELS kernels, timed in the browser.

    python benchmarks/bench_report.py [--kernels 1000] [--programs 20] [--jobs 2] [--repeat 5]

The kernels and programs are bench_fleet.py's (``make_fleet``: seeded layout edits of the
fixture's kernels, generated programs).  ``check --fleet`` runs once, in this process; its
results become the report page (``commands/report.py``), and a worst case beside it: the same
results with one synthetic reason line per kernel, so that every kernel is a group (a column)
of its own.  Each page is opened REPEAT times in headless chromium (Debian's, through
selenium) and timed by the browser's Performance API: the load event's end, the first
contentful paint, and the first frame after the page's script has run (two
requestAnimationFrame callbacks after load) -- "rendered".  Then the size of single layout
pages (sk_buff, net_device).  Targets: the 20 x 1,000 page rendered in under 2 s and under
5 MB; a layout page under 200 KB.  A benchmark, never a test.
"""

from __future__ import annotations

import argparse
import copy
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # this tree's btfmeta, not an installed one

from bench_fleet import make_fleet  # noqa: E402

from btfmeta.btf.load import load_spec  # noqa: E402
from btfmeta.commands import report  # noqa: E402
from btfmeta.fleet.check import check_fleet, groups  # noqa: E402
from btfmeta.fleet.inputs import discover  # noqa: E402

VMLINUX = REPO.parent / "shared" / "btf" / "debian-6.1.0-56" / "vmlinux.btf"

TIMING = """
const done = arguments[arguments.length - 1];
const measure = () => requestAnimationFrame(() => requestAnimationFrame(() => {
  const nav = performance.getEntriesByType('navigation')[0];
  const fcp = performance.getEntriesByName('first-contentful-paint')[0];
  const ready = performance.getEntriesByName('btfmeta-ready')[0];
  done({load: nav.loadEventEnd, fcp: fcp ? fcp.startTime : null, ready: ready ? ready.startTime : null,
        frame: performance.now(), cells: document.querySelectorAll('#m td').length});
}));
if (document.readyState === 'complete') measure(); else addEventListener('load', measure);
"""


def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1500,1000"):
        options.add_argument(arg)
    return webdriver.Chrome(options=options, service=Service(shutil.which("chromedriver")))


def time_page(driver, page: Path, repeat: int) -> dict[str, float]:
    """Medians (ms) over ``repeat`` fresh navigations to ``page``: the Performance API's
    times, and the renderer's main-thread CPU time (DevTools' ThreadTime), which other
    processes on a busy machine do not inflate."""
    runs = []
    driver.set_script_timeout(120)
    for _ in range(repeat):
        driver.get("about:blank")
        driver.execute_cdp_cmd("Performance.disable", {})
        driver.execute_cdp_cmd("Performance.enable", {"timeDomain": "threadTicks"})
        before = {m["name"]: m["value"] for m in driver.execute_cdp_cmd("Performance.getMetrics", {})["metrics"]}
        driver.get(page.resolve().as_uri())
        run = driver.execute_async_script(TIMING)
        after = {m["name"]: m["value"] for m in driver.execute_cdp_cmd("Performance.getMetrics", {})["metrics"]}
        run["cpu"] = (after["ThreadTime"] - before["ThreadTime"]) * 1000
        runs.append(run)
    return {k: statistics.median(r[k] or 0 for r in runs) for k in ("load", "fcp", "ready", "frame", "cells", "cpu")}


def distinct(results: list) -> list:
    """The worst case: each kernel's real result with a reason line naming it, so no two group."""
    out = []
    for r in results:
        r = copy.deepcopy(r)
        if r.verdicts:
            key = sorted(r.verdicts)[0]
            r.reasons[key] = [*r.reasons.get(key, []), f"synthetic: kernel {r.release}"]
        out.append(r)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kernels", type=int, default=1000)
    ap.add_argument("--programs", type=int, default=20)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        t0 = time.perf_counter()
        fleet, objs = make_fleet(tmp, args.kernels, args.programs)
        print(f"{args.kernels} kernels, {args.programs} objects made in {time.perf_counter() - t0:.0f} s", flush=True)
        objects = {p: Path(p).read_bytes() for p in objs}
        t0 = time.perf_counter()
        results = check_fleet(discover(fleet), objects, jobs=args.jobs)
        print(f"check --fleet -j {args.jobs}: {time.perf_counter() - t0:.0f} s", flush=True)
        for path in Path(fleet).rglob("*.btf"):  # the pages need the results only
            path.unlink()
        driver = browser()
        try:
            for label, rs in (("the fleet", results), ("worst case, every kernel a group", distinct(results))):
                t0 = time.perf_counter()
                page = tmp / "report.html"
                page.write_text(report.fleet_html(groups(rs), objs, fleet), encoding="utf-8")
                made = time.perf_counter() - t0
                t = time_page(driver, page, args.repeat)
                size = page.stat().st_size
                print(f"{label}: {len(groups(rs))} groups, {int(t['cells'])} cells, {size / 1e6:.2f} MB, written "
                      f"in {made:.2f} s; in the browser (median of {args.repeat}): load {t['load']:.0f} ms, first "
                      f"contentful paint {t['fcp']:.0f} ms, script done {t['ready']:.0f} ms, rendered (first frame "
                      f"after it) {t['frame']:.0f} ms, main-thread CPU {t['cpu']:.0f} ms -- target < 2000 ms, < 5 MB: "
                      f"{'HOLDS' if t['frame'] < 2000 and size < 5e6 else 'MISSES'}", flush=True)
            if VMLINUX.is_file():
                vmlinux = load_spec(VMLINUX)
                for name in ("sk_buff", "net_device"):
                    page = tmp / f"{name}.html"
                    page.write_text(report.layout_html(vmlinux, [name]), encoding="utf-8")
                    t = time_page(driver, page, args.repeat)
                    size = page.stat().st_size
                    print(f"layout {name}: {size / 1e3:.0f} KB, rendered in {t['frame']:.0f} ms -- target < 200 KB: "
                          f"{'HOLDS' if size < 200e3 else 'MISSES'}", flush=True)
        finally:
            driver.quit()
    return 0


if __name__ == "__main__":
    sys.exit(main())
