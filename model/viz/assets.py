"""Fill Solara's asset cache from the npm registry, so the page works with no CDN in reach.

The Solara server serves `/_solara/cdn/<package>@<version>/<file>` from its proxy cache
(`solara.server.settings.assets.proxy_cache_dir`, SOLARA_ASSETS_PROXY_CACHE_DIR, by default
`share/solara/cdn` in the environment) and only on a miss fetches from a public CDN, which
research networks often cannot reach. The packages are read from the installed solara's own
templates and Vue components (every `<cdn>/<package>@<version>/` they build), so an upgraded
solara asks for its new versions by itself; each one is fetched with `npm pack` (exact versions,
and ranges such as `vega@5` resolved as jsdelivr would) and unpacked where the proxy looks.

Run `python -m model.viz.assets` (the Makefile's `assets` target); it is quiet and skips what is
there already.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

# `${this.getCdn()}/vega@5/`, `{{cdn}}/@widgetti/solara-vuetify-app@10.1.1/`, `${cdn}/requirejs@2.3.6/`
_CDN_URL = re.compile(r"(?i)cdn[\w.()]*\}*/((?:@[\w.-]+/)?[\w.-]+@[\w.^~-]+)/")
_SOURCES = {".vue", ".j2", ".js", ".py", ".html"}
_DONE = "package.json"  # present once a package is fully unpacked (every npm package has one)


def cache_dir() -> Path:
    """Where the installed Solara server looks for proxied CDN files."""
    from solara.server import settings

    return Path(settings.assets.proxy_cache_dir)


def wanted() -> list[str]:
    """`name@version` (or range) of every package the installed solara loads from its CDN."""
    import solara
    from solara.server import server, settings

    root = Path(solara.__file__).parent
    specs = set()
    for path in root.rglob("*"):
        if path.suffix in _SOURCES and "website" not in path.parts and path.is_file():
            specs.update(_CDN_URL.findall(path.read_text(errors="ignore")))
    if settings.assets.fontawesome_enabled:
        specs.add(settings.assets.fontawesome_path.strip("/").split("/")[0])
    if not server.vue3:  # the page loads the Vue 3 app only with ipyvue 3 (74 MB we never serve)
        specs = {s for s in specs if not s.startswith("@widgetti/solara-vuetify3-app@")}
    return sorted(specs)


def missing(directory: Path | None = None) -> list[str]:
    directory = directory or cache_dir()
    return [spec for spec in wanted() if not (directory / spec / _DONE).exists()]


def fill(directory: Path | None = None, npm: str = "npm") -> list[str]:
    """Unpack each missing package into `directory/<spec>/`; returns the specs fetched."""
    directory = directory or cache_dir()
    todo = missing(directory)
    if not todo:
        return []
    if shutil.which(npm) is None:
        raise RuntimeError(f"{npm} not found: it fetches Solara's assets ({', '.join(todo)}) from the npm registry")
    directory.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=directory, prefix=".npm-pack-") as tmp:
        done = subprocess.run([npm, "pack", "--json", "--pack-destination", tmp, *todo],
                              capture_output=True, text=True, cwd=tmp)
        if done.returncode != 0:
            raise RuntimeError(f"npm pack {' '.join(todo)} failed:\n{done.stderr.strip()}")
        tarballs = {packed["name"]: packed["filename"] for packed in json.loads(done.stdout)}
        for spec in todo:
            _unpack(Path(tmp) / tarballs[spec.rsplit("@", 1)[0]], directory / spec, Path(tmp))
    return todo


def _unpack(tarball: Path, target: Path, scratch: Path) -> None:
    """Extract the tarball's `package/` to `target` in one rename, so a half-done copy never shows."""
    staging = Path(tempfile.mkdtemp(dir=scratch))
    with tarfile.open(tarball) as tar:
        tar.extractall(staging, filter="data")
    if target.exists():  # an earlier, interrupted fill
        shutil.rmtree(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    (staging / "package").rename(target)


def main() -> int:
    try:
        fetched = fill()
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if fetched:
        print(f"solara assets: cached {', '.join(fetched)} in {cache_dir()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
