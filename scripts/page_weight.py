"""Page weight as served: the bytes a reader downloads on a first visit to each page, and on a later visit.

    ./run weight [SITE_DIR]     (builds the site first when no directory is given)

Each page is opened in headless Chromium twice: in a fresh context (cold cache: the first visit), and in a fresh
context that has just opened the same language's home page (the later visit: what the second page adds). A byte
counts when it crosses the wire, as Chromium reports it (`encodedDataLength`: headers and body, 0 for a memory-cache
hit); the search index counts because Material's search worker fetches it at start. The site is served by
Python's http.server, uncompressed, so the figures are an upper bound for a host that compresses.
Exit status 1 when a page is over budget.
"""
import argparse
import functools
import http.server
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIRST_VISIT_BUDGET = 1_000_000
LATER_VISIT_BUDGET = 200_000
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--no-first-run", "--disable-sync"]


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def serve(site: Path):
    """Serve `site` on 127.0.0.1 in a background thread; return (base URL, server)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}", server


def pages(site: Path) -> list:
    """URL paths of every page of the built site, both languages."""
    return sorted(("/" + p.parent.relative_to(site).as_posix() + "/").replace("/./", "/")
                  for p in site.rglob("index.html") if "assets" not in p.relative_to(site).parts)


def home_of(path: str) -> str:
    return "/zh/" if path.startswith("/zh/") else "/"


def _transferred(context, url: str) -> dict:
    """Open `url` in a new tab of `context`, wait until the network is idle; return bytes per resource type."""
    tab = context.new_page()
    cdp = context.new_cdp_session(tab)
    cdp.send("Network.enable")
    kinds, sizes = {}, {}
    cdp.on("Network.responseReceived", lambda e: kinds.__setitem__(e["requestId"], e["type"]))
    cdp.on("Network.loadingFinished", lambda e: sizes.__setitem__(e["requestId"], e["encodedDataLength"]))
    tab.goto(url, wait_until="networkidle")
    tab.close()
    out = {}
    for rid, size in sizes.items():
        kind = kinds.get(rid, "Other")
        out[kind] = out.get(kind, 0) + int(size)
    return out


def measure(browser, base_url: str, path: str) -> dict:
    """First-visit and later-visit bytes of one page."""
    context = browser.new_context()
    first = _transferred(context, base_url + path)
    context.close()
    context = browser.new_context()
    home = home_of(path) if path != home_of(path) else ("/softmax/" if path == "/" else "/zh/softmax/")
    _transferred(context, base_url + home)
    later = _transferred(context, base_url + path)
    context.close()
    return {"path": path, "first": sum(first.values()), "later": sum(later.values()), "first_by_type": first}


def measure_site(site: Path, paths=None) -> list:
    from playwright.sync_api import sync_playwright
    base_url, server = serve(site)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_FLAGS)
            rows = [measure(browser, base_url, path) for path in (paths or pages(site))]
            browser.close()
    finally:
        server.shutdown()
        server.server_close()
    return rows


def over_budget(row: dict) -> list:
    problems = []
    if row["first"] > FIRST_VISIT_BUDGET:
        problems.append(f"{row['path']}: first visit {row['first'] / 1e3:.0f} KB > {FIRST_VISIT_BUDGET / 1e3:.0f} KB")
    if row["later"] > LATER_VISIT_BUDGET:
        problems.append(f"{row['path']}: later visit {row['later'] / 1e3:.0f} KB > {LATER_VISIT_BUDGET / 1e3:.0f} KB")
    return problems


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("site", nargs="?", type=Path, help="a built site (default: build one)")
    args = parser.parse_args(argv)
    site = args.site
    if site is None:
        site = Path(tempfile.mkdtemp(prefix="weight-site-"))
        subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(site)], cwd=ROOT, check=True)
    rows = measure_site(site)
    kinds = sorted({k for r in rows for k in r["first_by_type"]})
    print(f"{'page':32} {'first KB':>9} {'later KB':>9}  " + " ".join(f"{k[:10]:>10}" for k in kinds))
    for r in rows:
        print(f"{r['path']:32} {r['first'] / 1e3:9.0f} {r['later'] / 1e3:9.0f}  "
              + " ".join(f"{r['first_by_type'].get(k, 0) / 1e3:10.0f}" for k in kinds))
    problems = [p for r in rows for p in over_budget(r)]
    worst_first = max(rows, key=lambda r: r["first"])
    worst_later = max(rows, key=lambda r: r["later"])
    print(f"\n{len(rows)} pages; heaviest first visit {worst_first['path']} {worst_first['first'] / 1e3:.0f} KB "
          f"(budget {FIRST_VISIT_BUDGET / 1e3:.0f}); heaviest later visit {worst_later['path']} "
          f"{worst_later['later'] / 1e3:.0f} KB (budget {LATER_VISIT_BUDGET / 1e3:.0f})")
    print("\n".join(problems) or "every page within budget")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
