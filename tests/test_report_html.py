"""HTML reports (issue 23) opened in a real headless browser (Debian's chromium and
chromium-driver, driven by selenium): what the page shows, read back from the DOM, is what
the JSON formats say -- the fleet matrix's cells and reasons are ``check --fleet --format
json``'s, the byte maps' boxes have ``layout --format json``'s offsets and sizes (from their
geometry, not only their attributes), the diff picture marks ``diff --format json``'s
changes.  Every page loads with no console error and no network request (the browser's own
logs), and hostile names stay text.

Screenshots go to a temporary directory, or with ``BTFMETA_SCREENSHOTS=1`` to ``docs/``
(the README shows them).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import urllib.parse
from pathlib import Path

import pytest

from btfmeta import Spec
from btfmeta import types as T

from .conftest import REPO, need, run_cli
from .test_fleet_check import FLEET, fleet_program  # noqa: F401  (the fixture)
from .test_relocate_differential import INCLUDES

WORDS = {"vo": "ok", "vg": "guarded", "vr": "refused", "ve": "error"}
EVIL = "x</script><u id=pwned>&\"'"  # a name no page may turn into markup


@pytest.fixture(scope="module")
def browser():
    """A headless chromium that keeps its console and network logs."""
    need(shutil.which("chromium") is not None and shutil.which("chromedriver") is not None,
         "chromium and chromedriver not installed (apt-get install chromium chromium-driver)")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        need(False, "selenium not installed (pip install 'btfmeta[report]')")
    options = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1500,1000", "--hide-scrollbars", "--force-device-scale-factor=1"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(shutil.which("chromedriver")))
    yield driver
    driver.quit()


def visit(driver, page: Path, fragment: str = "") -> str:
    """Open ``page`` (its logs drained first); returns its URL."""
    driver.get_log("browser")
    driver.get_log("performance")
    url = page.resolve().as_uri()
    driver.get(url + fragment)
    return url


def assert_quiet(driver, url: str) -> None:
    """No console message of level WARNING or worse, and no request but the page itself (and
    the matrix's verdict shapes, images inlined as data: URLs, which the log lists too)."""
    console = [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "WARNING")]
    assert not console, console
    requests = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            requests.append(message["params"]["request"]["url"])
    assert requests and all(r == url or r.startswith("data:image/svg+xml,") for r in requests), requests


def screenshot(driver, name: str, tmp_path: Path) -> None:
    out = REPO / "docs" if os.environ.get("BTFMETA_SCREENSHOTS") == "1" else tmp_path
    out.mkdir(exist_ok=True)
    driver.save_screenshot(str(out / name))
    assert (out / name).stat().st_size > 10_000


# --- the fleet matrix ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def fleet_pages(tmp_path_factory, fleet_program):  # noqa: F811
    """``report`` and ``check --fleet --format json`` of the fleet program and the sample on
    the fixture with the ice module."""
    d = tmp_path_factory.mktemp("fleet-report")
    (d / "prog.bpf.o").write_bytes(fleet_program)
    shutil.copy(REPO / "samples" / "xdp_mynic.bpf.o", d)
    objs = ["prog.bpf.o", "xdp_mynic.bpf.o"]  # named as a user in that directory would
    with contextlib.chdir(d):
        r = run_cli("report", *objs, "--fleet", str(FLEET), "--modules", "ice", "-j", "2", "-o", "report.html")
        assert r.code == 0, r.stderr
        j = run_cli("check", *objs, "--fleet", str(FLEET), "--modules", "ice", "-j", "2", "--format", "json")
        assert j.code == 1, j.stderr
        h = run_cli("check", *objs, "--fleet", str(FLEET), "--modules", "ice", "--format", "html")
    assert h.stdout == (d / "report.html").read_bytes()  # the same page, byte for byte, from -j 1 and -j 2
    return d / "report.html", json.loads(j.stdout)


MATRIX = """
const rows = Array.from(document.querySelectorAll('#m tbody tr'));
const heads = Array.from(document.querySelectorAll('#m thead th.k'), (th) => th.title);
return {heads: heads, rows: rows.map((tr) => ({
  hidden: tr.hidden || tr.offsetParent === null,
  program: tr.querySelector('.pn').textContent, object: tr.querySelector('.po').textContent,
  target: (tr.querySelector('.pt') || {textContent: ''}).textContent,
  cells: Array.from(tr.querySelectorAll('td'), (td) => [td.className, getComputedStyle(td).backgroundImage])}))};
"""


def matrix(driver) -> dict:
    return driver.execute_script(MATRIX)


def kernels_of(title: str) -> list[str]:
    """A column header's kernels: its title is 'N kernels: a, b, ...'."""
    return title.split(": ", 1)[1].split(", ")


def test_matrix_is_check_fleet_json(browser, fleet_pages, tmp_path):
    page, doc = fleet_pages
    url = visit(browser, page)
    m = matrix(browser)
    shapes: dict[str, set[str]] = {}
    shown = set()
    for row in m["rows"]:
        for (cls, shape), title in zip(row["cells"], m["heads"], strict=True):
            shapes.setdefault(cls, set()).add(shape)
            if cls != "v-":
                shown |= {(k, row["object"], row["target"], row["program"], WORDS[cls]) for k in kernels_of(title)}
    expected = {(k["release"], r["object"], r["target"], r["program"], r["verdict"])
                for k in doc["kernels"] for r in k["results"]}
    assert shown == expected
    assert [kernels_of(t) for t in m["heads"]] == [g["kernels"] for g in doc["groups"]]
    assert {"ok", "guarded", "refused"} <= {v for *_, v in shown}
    # a shape as well as a colour: one image per verdict, each its own
    assert all(len(v) == 1 and "svg" in next(iter(v)) for v in shapes.values())
    assert len({next(iter(v)) for v in shapes.values()}) == len(shapes)
    # counts: a row's kernels per verdict, a column's programs per verdict
    first = browser.execute_script("return Array.from(document.querySelectorAll('#m tbody tr')[0]"
                                   ".querySelectorAll('.cnt i'), (i) => [i.className, i.textContent])")
    row0 = m["rows"][0]
    for cls, text in first:
        n = sum(len(kernels_of(t)) for (c, _), t in zip(row0["cells"], m["heads"], strict=True) if c == cls)
        assert text[1:] == str(n)
    foot = browser.execute_script("return Array.from(document.querySelectorAll('#m tfoot tr.fr td'), "
                                  "(td) => td.textContent)")
    assert foot == [str(sum(r["cells"][j][0] == "vr" for r in m["rows"])) for j in range(len(m["heads"]))]
    assert_quiet(browser, url)


def _reasons(driver) -> list[str]:
    return driver.execute_script("return Array.from(document.querySelectorAll('#reasons li, #others li'), "
                                 "(li) => li.textContent)")


def test_a_refused_cell_opens_its_reasons(browser, fleet_pages, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    page, doc = fleet_pages
    url = visit(browser, page)
    m = matrix(browser)
    i, j = next((i, j) for i, row in enumerate(m["rows"]) for j, (cls, _) in enumerate(row["cells"]) if cls == "vr"
                and row["object"] == "prog.bpf.o")
    row = m["rows"][i]
    cell = browser.find_elements(By.CSS_SELECTOR, "#m tbody tr")[i].find_elements(By.TAG_NAME, "td")[j]
    browser.execute_script("arguments[0].scrollIntoView({block: 'nearest', inline: 'nearest'})", cell)
    cell.click()
    kernel = kernels_of(m["heads"][j])[0]
    (result,) = [r for k in doc["kernels"] if k["release"] == kernel for r in k["results"]
                 if (r["object"], r["target"], r["program"]) == (row["object"], row["target"], row["program"])]
    assert result["verdict"] == "refused" and result["reasons"]
    assert browser.find_element(By.ID, "dword").text == "refused"
    assert browser.find_element(By.ID, "dprog").text == row["program"]
    assert sorted(_reasons(browser)) == sorted(result["reasons"])
    mine = browser.execute_script("return Array.from(document.querySelectorAll('#reasons li'), (li) => li.textContent)")
    assert mine and all(line.startswith(row["program"] + ": ") for line in mine)
    fragment = browser.execute_script("return location.hash")
    assert fragment.startswith("#prog=") and "&kernel=" in fragment
    browser.execute_script("window.scrollTo(0, 0)")
    screenshot(browser, "report-matrix.png", tmp_path)
    # the keyboard: the right arrow moves to the next group, Enter opens it
    cell.send_keys(Keys.ARROW_RIGHT)
    browser.switch_to.active_element.send_keys(Keys.ENTER)
    if j + 1 < len(m["heads"]):
        assert browser.find_element(By.ID, "dkernels").text.split(": ", 1)[1].split(", ")[0] == \
            kernels_of(m["heads"][j + 1])[0]
    # printed: no controls, the open cell's reasons below the matrix
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    assert browser.execute_script("return [getComputedStyle(document.getElementById('filters')).display, "
                                  "getComputedStyle(document.getElementById('detail')).position]") == ["none", "static"]
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
    assert_quiet(browser, url)
    # the URL opens the same cell, on any kernel of the group
    other = kernels_of(m["heads"][j])[-1]
    visit(browser, page, fragment.replace(f"kernel={kernel}", f"kernel={other}"))
    assert browser.find_element(By.ID, "dword").text == "refused"
    assert sorted(_reasons(browser)) == sorted(result["reasons"])
    assert browser.execute_script("return document.activeElement.parentNode.sectionRowIndex") == i


def test_filters_hide_exactly_the_rows_they_should(browser, fleet_pages):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    page, doc = fleet_pages
    url = visit(browser, page)
    everything = matrix(browser)["rows"]
    assert not any(r["hidden"] for r in everything)

    def visible() -> list[tuple[str, str, str]]:
        return [(r["object"], r["target"], r["program"]) for r in matrix(browser)["rows"] if not r["hidden"]]

    Select(browser.find_element(By.NAME, "module")).select_by_visible_text("ice")
    assert visible() == [(r["object"], r["target"], r["program"]) for r in everything if r["target"] == "ice"]
    browser.find_element(By.ID, "reset").click()
    for code in "oge":  # only "refused" stays ticked
        browser.find_element(By.CSS_SELECTOR, f"input[name=verdict][value={code}]").click()
    refused = {(r["object"], r["target"], r["program"]) for k in doc["kernels"] for r in k["results"]
               if r["verdict"] == "refused"}
    assert set(visible()) == refused and len(visible()) == len(refused)
    browser.find_element(By.ID, "reset").click()
    browser.find_element(By.NAME, "prog").send_keys("guarded")
    assert visible() == [(r["object"], r["target"], r["program"]) for r in everything if "guarded" in r["program"]]
    browser.find_element(By.ID, "reset").click()
    Select(browser.find_element(By.NAME, "flavor")).select_by_visible_text("rt-amd64")
    shown = browser.execute_script("return Array.from(document.querySelectorAll('#m thead th.k'))"
                                   ".map((th) => th.offsetParent !== null)")
    heads = matrix(browser)["heads"]
    assert shown == [any(k.endswith("-rt-amd64") for k in kernels_of(t)) for t in heads]
    assert_quiet(browser, url)


# --- layouts and diffs --------------------------------------------------------------------

GEOMETRY = """
return Array.from(document.querySelectorAll('svg.map'), (svg) => ({
  byteWidth: +svg.dataset.byteWidth, left: +svg.dataset.left,
  rows: Array.from(svg.querySelectorAll('rect.row'), (r) => [+r.getAttribute('y'), +r.getAttribute('height'),
                                                               +r.dataset.offset]),
  boxes: Array.from(svg.querySelectorAll('g.m'), (g) => ({
    name: g.dataset.name, type: g.dataset.type, offset: +g.dataset.offset, size: +g.dataset.size,
    bit_offset: +g.dataset.bitOffset, bit_size: +g.dataset.bitSize,
    rects: Array.from(g.querySelectorAll(':scope > rect:not(.bits)'),
                      (r) => [+r.getAttribute('x'), +r.getAttribute('y'), +r.getAttribute('width')])})),
  holes: Array.from(svg.querySelectorAll('g.gap.hole:not(.bits)'), (g) => +g.dataset.offset)}));
"""


def flat(members: list[dict]) -> list[dict]:
    out = []
    for m in members:
        out.append(m)
        out += flat(m["members"])
    return out


def check_layout_page(driver, page: Path, doc: dict) -> None:
    """Every box's place and size, from where it is drawn, is the JSON's."""
    url = visit(driver, page)
    maps = driver.execute_script(GEOMETRY)
    assert len(maps) == len(doc["types"])
    for picture, t in zip(maps, doc["types"], strict=True):
        members = flat(t["members"])
        assert len(picture["boxes"]) == len(members)
        for box, m in zip(picture["boxes"], members, strict=True):
            assert {k: box[k] for k in ("name", "type", "offset", "size", "bit_offset", "bit_size")} == \
                {k: m[k] for k in ("name", "type", "offset", "size", "bit_offset", "bit_size")}
            spans = []
            for x, y, w in box["rects"]:
                (row_offset,) = [off for top, h, off in picture["rows"] if top <= y < top + h]
                bits_per_px = 8 / picture["byteWidth"]
                spans.append((row_offset * 8 + (x - picture["left"]) * bits_per_px, w * bits_per_px))
            assert min(s for s, _ in spans) == m["bit_offset"], (t["name"], m["name"])
            assert sum(w for _, w in spans) == (m["bit_size"] or m["size"] * 8), (t["name"], m["name"])
        assert picture["holes"] == [h["offset"] for h in t["holes"]]
    assert_quiet(driver, url)


def test_layout_boxes_are_layout_json(browser, shared_btf, tmp_path):
    for name in ("sk_buff", "net_device"):
        page = tmp_path / f"{name}.html"
        with contextlib.chdir(shared_btf):
            r = run_cli("layout", "vmlinux.btf", name, "--format", "html")
            doc = json.loads(run_cli("layout", "vmlinux.btf", name, "--format", "json").stdout)
        assert r.code == 0, r.stderr
        assert len(r.stdout) < 200_000  # a single layout page
        page.write_bytes(r.stdout)
        check_layout_page(browser, page, doc)
        if name == "sk_buff":
            browser.execute_script("window.scrollTo(0, 0)")
            screenshot(browser, "report-layout.png", tmp_path)


def test_sample_layouts(browser, tmp_path):
    for header in ("mynic_metadata.h", "mynic_metadata_v2.h", "xdp_rx_meta.h"):
        btf = tmp_path / (header + ".btf")
        assert run_cli("compile", str(REPO / "samples" / header), "-o", str(btf)).code == 0
        page = tmp_path / (header + ".html")
        page.write_bytes(run_cli("layout", str(btf), "--format", "html").stdout)
        check_layout_page(browser, page, json.loads(run_cli("layout", str(btf), "--format", "json").stdout))


DIFF = """
return Array.from(document.querySelectorAll('svg.diffmap'), (svg) => ({
  rows: Array.from(svg.querySelectorAll('g.row'), (g) => [g.dataset.side, g.dataset.field, g.dataset.changes,
                                                          g.getAttribute('class')]),
  links: Array.from(svg.querySelectorAll('path.link'), (p) => [p.dataset.field, p.getAttribute('class')])}));
"""


def test_diff_marks_and_connects_the_changes(browser, tmp_path):
    btfs = ["mynic_metadata.btf", "mynic_metadata_v2.btf"]
    with contextlib.chdir(tmp_path):
        for header, btf in zip(("mynic_metadata.h", "mynic_metadata_v2.h"), btfs, strict=True):
            assert run_cli("compile", str(REPO / "samples" / header), "-o", btf).code == 0
        r = run_cli("diff", *btfs, "--format", "html")
        doc = json.loads(run_cli("diff", *btfs, "--format", "json").stdout)
    assert r.code == 1, r.stderr  # something changed, as with text and json
    (tmp_path / "diff.html").write_bytes(r.stdout)
    url = visit(browser, tmp_path / "diff.html")
    (picture,) = browser.execute_script(DIFF)
    (struct,) = [t for t in doc["types"] if t["kind"] == "struct"]
    fields = {(c["change"], c["field"]) for c in struct["changes"] if "field" in c}
    marked = {(change, field) for side, field, changes, _ in picture["rows"] for change in changes.split(",") if change}
    assert fields <= marked  # every change the JSON lists is marked on its field
    assert {f for side, f, *_ in picture["rows"] if side == "old"} - {""} >= {f for c, f in fields if c == "removed"}
    assert not {f for side, f, *_ in picture["rows"] if side == "new"} & {f for c, f in fields if c == "removed"}
    assert not {f for side, f, *_ in picture["rows"] if side == "old"} & {f for c, f in fields if c == "added"}
    moved = {f for c, f in fields if c == "moved"}
    assert moved and moved <= {f for f, cls in picture["links"] if "moved" in cls.split()}
    assert_quiet(browser, url)
    screenshot(browser, "report-diff.png", tmp_path)


# --- hostile names ------------------------------------------------------------------------

def hostile_btf(path: Path) -> Path:
    """A layout whose type, flavor and member names hold markup, and the field a program reads."""
    spec = Spec()
    u32 = spec.add(T.Int(name="unsigned int", size=4, nr_bits=32))
    spec.add(T.Struct(name="mynic_metadata___" + EVIL, size=8, members=[
        T.Member(name="m" + EVIL, type=u32, bits_offset=0), T.Member(name="hash", type=u32, bits_offset=32)]))
    spec.add(T.Struct(name=EVIL, size=4, members=[T.Member(name=EVIL, type=u32, bits_offset=0)]))
    path.write_bytes(spec.to_bytes())
    return path


HOSTILE_PROGRAM = r"""
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
struct mynic_metadata { unsigned int csum_level; } __attribute__((preserve_access_index));
SEC("xdp") int prog(struct xdp_md *ctx) __asm__("p<u id=pwned>&\"'</script>");
SEC("xdp") int prog(struct xdp_md *ctx) { struct mynic_metadata *m = (void *)(long)ctx->data_meta;
    if ((void *)(m + 1) > (void *)(long)ctx->data) return 0; return m->csum_level; }
char LICENSE[] SEC("license") = "GPL";
"""


def assert_inert(driver, url: str) -> None:
    """The names are text: nothing they spell became an element, the script ran."""
    assert driver.execute_script("return document.querySelectorAll('u, #pwned').length") == 0
    assert driver.execute_script("return document.querySelectorAll('script').length") <= 2
    assert_quiet(driver, url)


def test_hostile_names_stay_text(browser, tmp_path, clang):
    from selenium.webdriver.common.by import By

    where = tmp_path / "d<u id=pwned>&\"'<" / "script>"  # a path that holds '</script>'
    where.mkdir(parents=True)
    assert "</script>" in str(where)
    obj = where / "o.bpf.o"
    src = tmp_path / "evil.c"
    src.write_text(HOSTILE_PROGRAM)
    subprocess.run([clang, "-g", "-O2", "-target", "bpf", *INCLUDES, "-c", str(src), "-o", str(obj)], check=True)
    btf = hostile_btf(where / f"k{EVIL.replace('/', '')}.btf")
    program = "p<u id=pwned>&\"'</script>"
    # the layout: type and member names
    page = tmp_path / "layout.html"
    page.write_bytes(run_cli("layout", str(btf), "--format", "html").stdout)
    url = visit(browser, page)
    names = browser.execute_script("return Array.from(document.querySelectorAll('g.m'), (g) => g.dataset.name)")
    assert names == ["m" + EVIL, "hash", EVIL]
    heads = browser.execute_script("return Array.from(document.querySelectorAll('h2'), (h) => h.textContent)")
    assert heads == ["struct mynic_metadata___" + EVIL, "struct " + EVIL]
    assert str(btf) in browser.find_element(By.TAG_NAME, "h1").text
    assert_inert(browser, url)
    # the diff: the hostile struct against the sample
    sample = tmp_path / "v1.btf"
    assert run_cli("compile", str(REPO / "samples" / "mynic_metadata.h"), "-o", str(sample)).code == 0
    page = tmp_path / "diff.html"
    page.write_bytes(run_cli("diff", str(sample), str(btf), "--format", "html").stdout)
    url = visit(browser, page)
    fields = browser.execute_script("return Array.from(document.querySelectorAll('g.row'), (g) => g.dataset.field)")
    assert "m" + EVIL in fields
    assert_inert(browser, url)
    # the matrix: program, object path, layout path and the flavor named in the reasons
    page = tmp_path / "check.html"
    page.write_bytes(run_cli("check", str(obj), "--btf", str(btf), "--format", "html").stdout)
    url = visit(browser, page)
    assert browser.find_element(By.CSS_SELECTOR, "#m .pn").text == program
    assert browser.find_element(By.CSS_SELECTOR, "#m .po").text == str(obj)
    browser.find_element(By.CSS_SELECTOR, "#m tbody td").click()
    assert browser.find_element(By.ID, "dprog").text == program
    assert any(EVIL in line for line in _reasons(browser))
    assert_inert(browser, url)
    # a fleet whose directory and kernel release hold markup
    fleet = where / "fleet"
    fleet.mkdir()
    shutil.copy(btf, fleet / "6.1.0-1-x<b>&.btf")
    page = tmp_path / "fleet.html"
    r = run_cli("report", str(obj), "--fleet", str(fleet), "-o", str(page))
    assert r.code == 0, r.stderr
    url = visit(browser, page, "#prog=" + urllib.parse.quote(program, safe="") +
                "&kernel=6.1.0-1-x%3Cb%3E%26")
    assert browser.find_element(By.ID, "dkernels").text == "1: 6.1.0-1-x<b>&"
    assert browser.execute_script("return document.querySelectorAll('b:not(.legend b)').length") == 0
    assert_inert(browser, url)


def test_pages_are_deterministic(shared_btf, tmp_path):
    args = ("layout", str(shared_btf / "vmlinux.btf"), "sk_buff", "xdp_buff", "--format", "html")
    assert run_cli(*args).stdout == run_cli(*args).stdout


def test_script_json_cannot_close_its_tag():
    from btfmeta.render.html import script_json

    text = str(script_json({"a": "</script><!--&\u2028\u2029"}))
    assert not any(c in text for c in "<>&\u2028\u2029")
    assert json.loads(text) == {"a": "</script><!--&\u2028\u2029"}


def test_release_series_and_flavor():
    from btfmeta.commands.report import series_flavor

    assert series_flavor("6.1.0-47-amd64") == ("6.1", "amd64")
    assert series_flavor("6.1.0-47-rt-amd64") == ("6.1", "rt-amd64")
    assert series_flavor("6.12.100+deb12-cloud-amd64") == ("6.12", "cloud-amd64")
    assert series_flavor("5.15.0-91-generic") == ("5.15", "generic")
    assert series_flavor("4.18.0-305.el8.x86_64") == ("4.18", "")
    assert series_flavor("custom") == ("", "")


def test_a_module_that_cannot_be_read_keeps_its_rows_and_error():
    from btfmeta.commands.report import fleet_model
    from btfmeta.fleet.check import KernelResult, groups

    r = KernelResult("6.1.0-1-amd64", verdicts={("o", "vmlinux"): {"p": "ok"}, ("o", "ice"): {}},
                     reasons={("o", "ice"): ["ice.btf: malformed BTF"]})
    m = fleet_model(groups([r]), ["o"])
    assert [(row["target"], row["program"], row["cells"]) for row in m["rows"]] == [("vmlinux", "p", "o"),
                                                                                     ("ice", "p", "-")]
    assert m["reasons"][m["why"][m["rows"][1]["ot"]][0]] == ["ice.btf: malformed BTF"]
