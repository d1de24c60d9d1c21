"""Front-end files from the npm registry, vendored into the package (never a CDN: government
intranets are offline).

    python -m zhida.web.assets      # fetch what is missing: `npm pack`, check sha512, extract

`assets.json` pins each package's version and its tarball's integrity; the extracted files live
in static/vendor/ (not committed: `make` runs this once, like installing a dependency). A file
whose tarball does not match its integrity is refused.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from zhida.errors import ZhidaError

HERE = Path(__file__).parent
STATIC = HERE / "static"
VENDOR = STATIC / "vendor"
LOCK = HERE / "assets.json"


def _packages() -> list[dict[str, object]]:
    return list(json.loads(LOCK.read_text(encoding="utf-8"))["packages"])


def missing_assets() -> list[str]:
    return [name for p in _packages() for name in dict(p["files"]).values()  # type: ignore[call-overload]
            if not (VENDOR / name).is_file()]


def fetch(force: bool = False) -> list[str]:
    """Fetch and extract every pinned package whose files are missing; returns what was written."""
    written: list[str] = []
    VENDOR.mkdir(parents=True, exist_ok=True)
    for p in _packages():
        files: dict[str, str] = dict(p["files"])  # type: ignore[call-overload]
        if not force and all((VENDOR / name).is_file() for name in files.values()):
            continue
        spec = f"{p['name']}@{p['version']}"
        with tempfile.TemporaryDirectory() as tmp:
            try:
                out = subprocess.run(["npm", "pack", spec, "--silent", "--pack-destination", tmp], check=True,
                                     capture_output=True, text=True, timeout=300).stdout.strip().splitlines()[-1]
            except (OSError, subprocess.CalledProcessError, subprocess.TimeoutExpired) as e:
                raise ZhidaError(f"无法从 npm 仓库取得 {spec}（{e}）；请确认已安装 npm 且能访问 npm 仓库。") from None
            tarball = Path(tmp) / out
            digest = "sha512-" + base64.b64encode(hashlib.sha512(tarball.read_bytes()).digest()).decode()
            if digest != p["integrity"]:
                raise ZhidaError(f"{spec} 的校验值不符（得到 {digest[:24]}…，应为 {str(p['integrity'])[:24]}…）；"
                                 "拒绝使用。请核实 npm 仓库或 assets.json。")
            with tarfile.open(tarball) as tar:
                for member, name in files.items():
                    source = tar.extractfile(member)
                    if source is None:
                        raise ZhidaError(f"{spec} 中没有文件 {member}；请核对 assets.json。")
                    with (VENDOR / name).open("wb") as target:
                        shutil.copyfileobj(source, target)
                    written.append(name)
    return written


if __name__ == "__main__":
    try:
        done = fetch(force="--force" in sys.argv)
    except ZhidaError as e:
        print(e, file=sys.stderr)
        raise SystemExit(2) from None
    print("前端文件已就绪" + (f"：新写入 {'、'.join(done)}" if done else "（无需更新）"))
