"""The release's action.yml, and the checks of the base image before a release publishes.

The repository's own ``action.yml`` says ``image: Dockerfile``: the self-test builds the image
of the commit under test. A release publishes a copy that runs the image it pushed, by digest,
so a workflow that uses the action pulls a prebuilt, immutable image instead of building one:

    python scripts/release_action.py render --image ghcr.io/owner/qs-jwt --digest sha256:<64 hex>
        rewrites action.yml in place (its `image:` line and two header lines change)
    python scripts/release_action.py base-image
        prints the Dockerfile's pinned base (the one `FROM name@sha256:<64 hex> AS base`)
    python scripts/release_action.py check-base INDEX.json
        INDEX.json is `docker buildx imagetools inspect --raw <base>`: exit 1 unless it is a
        multi-platform index with every platform the release builds

It needs only the standard library (the release workflow runs it with the runner's python3).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
ACTION_YML = ROOT / "action.yml"
DOCKERFILE = ROOT / "Dockerfile"

# The platforms .github/workflows/release.yml builds (tests/test_release.py keeps them equal).
PLATFORMS = ("linux/amd64", "linux/arm64")
SOURCE_IMAGE_LINE = "  image: Dockerfile"
DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
# A registry reference without tag or digest, lowercase as OCI requires: host/path[/path...].
IMAGE = re.compile(r"[a-z0-9.-]+(?::[0-9]+)?(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)+")
BASE_LINE = re.compile(r"^FROM (\S+@sha256:[0-9a-f]{64}) AS base$", re.MULTILINE)
INDEX_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
)


def released_image(image: str, digest: str) -> str:
    """``docker://IMAGE@DIGEST``, after checking both (no tag: the digest alone names it)."""
    if IMAGE.fullmatch(image) is None:
        raise ValueError(f"not an image name without tag or digest (lowercase): {image!r}")
    if DIGEST.fullmatch(digest) is None:
        raise ValueError(f"not an image digest (sha256:<64 lowercase hex>): {digest!r}")
    return f"docker://{image}@{digest}"


def render(action_yml: str, image: str, digest: str) -> str:
    """The released action.yml: the source's, with the prebuilt image instead of Dockerfile."""
    reference = released_image(image, digest)
    lines = action_yml.splitlines()
    if lines.count(SOURCE_IMAGE_LINE) != 1:
        raise ValueError(f"action.yml must have exactly one line {SOURCE_IMAGE_LINE.strip()!r}")
    runs = lines.index("runs:") if "runs:" in lines else -1
    at = lines.index(SOURCE_IMAGE_LINE)
    if not runs < at or "  using: docker" not in lines[runs:at]:
        raise ValueError("action.yml: the image line is not in `runs:` of a docker action")
    lines[at] = f'  image: "{reference}"'  # quoted: a plain scalar may not hold `@` here
    header = [
        "# Released action: runs the image the release workflow pushed, by its digest",
        "# (.github/workflows/release.yml; the source's action.yml builds the Dockerfile).",
    ]
    return "\n".join(header + lines) + "\n"


def base_image(dockerfile: str) -> str:
    """The Dockerfile's one pinned base reference (``name:tag@sha256:...``)."""
    found = BASE_LINE.findall(dockerfile)
    if len(found) != 1:
        raise ValueError("the Dockerfile needs one line 'FROM name@sha256:<64 hex> AS base'")
    return str(found[0])


def check_base_index(raw: str, platforms: tuple[str, ...] = PLATFORMS) -> list[str]:
    """What is wrong with the base's index (``imagetools inspect --raw``); empty when fine."""
    try:
        index: Any = json.loads(raw)
    except ValueError:
        return ["the registry's answer is not JSON"]
    if not isinstance(index, dict):
        return ["the registry's answer is not a JSON object"]
    if index.get("mediaType") not in INDEX_TYPES:
        return [
            f"the base digest names a {index.get('mediaType')!r}, not a multi-platform index: "
            "pin the digest of the index (the `Digest:` line of imagetools inspect)"
        ]
    found = set()
    for manifest in index.get("manifests") or []:
        platform = (manifest.get("platform") or {}) if isinstance(manifest, dict) else {}
        found.add(f"{platform.get('os')}/{platform.get('architecture')}")
    return [f"the base image has no {p} manifest" for p in platforms if p not in found]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="release_action.py", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    render_cmd = commands.add_parser("render", help="rewrite action.yml for a release")
    render_cmd.add_argument("--image", required=True, help="e.g. ghcr.io/owner/qs-jwt")
    render_cmd.add_argument("--digest", required=True, help="sha256:<64 hex> of the pushed index")
    render_cmd.add_argument("--path", type=Path, default=ACTION_YML)
    commands.add_parser("base-image", help="print the Dockerfile's pinned base")
    check_cmd = commands.add_parser("check-base", help="check the base's raw index")
    check_cmd.add_argument("index", type=Path, help="output of imagetools inspect --raw")
    args = parser.parse_args(argv)
    try:
        if args.command == "render":
            path: Path = args.path
            path.write_text(
                render(path.read_text(encoding="utf-8"), args.image, args.digest), encoding="utf-8"
            )
            sys.stderr.write(f"{path.name}: image: {released_image(args.image, args.digest)}\n")
        elif args.command == "base-image":
            sys.stdout.write(base_image(DOCKERFILE.read_text(encoding="utf-8")) + "\n")
        else:
            problems = check_base_index(args.index.read_text(encoding="utf-8"))
            for problem in problems:
                sys.stderr.write(f"release_action: {problem}\n")
            if problems:
                return 1
            sys.stderr.write(f"base image index has {', '.join(PLATFORMS)}\n")
    except (ValueError, OSError) as error:
        sys.stderr.write(f"release_action: {error}\n")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
