#!/usr/bin/env bash
# Publish the released action: a commit on top of the tagged source whose action.yml runs the
# pushed image by digest, then the version tag and the major tag moved to it.
#
#   scripts/publish-action.sh TAG SOURCE_SHA IMAGE DIGEST
#
#   TAG         the release tag, vX.Y.Z (it triggered the release and names SOURCE_SHA)
#   SOURCE_SHA  the commit the release built (github.sha); must be checked out
#   IMAGE       the image without tag or digest, e.g. ghcr.io/owner/qs-jwt
#   DIGEST      sha256:<64 hex> of the pushed multi-platform index
#
# Run by .github/workflows/release.yml from a checkout of SOURCE_SHA whose `origin` it may push
# to (tests/test_release.py runs it against a local bare repository). Steps:
#   1. The remote TAG must name SOURCE_SHA (first run) or a commit whose parent is SOURCE_SHA
#      and whose action.yml runs IMAGE@DIGEST (a re-run: nothing new is made). Anything else
#      is refused: someone moved the tag.
#   2. First run: scripts/release_action.py renders action.yml, the commit is made, and TAG
#      is force-pushed to it as an annotated tag. Every way to name the version then gets the
#      prebuilt image: @vX.Y.Z, @vMAJOR, and a SHA pin with a `# vX.Y.Z` comment, which is
#      how Dependabot finds the SHA. The source stays reachable as the commit's parent.
#   3. The major tag (v1) moves to it, unless a higher vMAJOR.x.y exists (a patch release of
#      an older line does not pull v1 back).
# The release commit's SHA is the only line printed on stdout.
set -euo pipefail

[ "$#" -eq 4 ] || { sed -n '4,10p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
tag=$1 source_sha=$2 image=$3 digest=$4
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
python=${PYTHON:-python3}
die() { echo "publish-action: error: $*" >&2; exit 1; }

[[ "$tag" =~ ^v(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$ ]] || die "not a release tag: $tag"
major=v${BASH_REMATCH[1]}
[ "$(git rev-parse HEAD)" = "$source_sha" ] || die "HEAD is not the source commit $source_sha"
expected="  image: \"docker://$image@$digest\""

git_as_bot() {
  git -c user.name="github-actions[bot]" \
    -c user.email="41898282+github-actions[bot]@users.noreply.github.com" "$@"
}

# 1. where the remote tag points (the peeled commit of an annotated tag)
remote=$(git ls-remote origin "refs/tags/$tag" "refs/tags/$tag^{}" | awk '{ print $1 }' | tail -n 1)
[ -n "$remote" ] || die "the remote has no tag $tag"

if [ "$remote" = "$source_sha" ]; then
  # 2. the release commit
  "$python" "$here/release_action.py" render --image "$image" --digest "$digest" --path action.yml
  grep -qxF -- "$expected" action.yml || die "action.yml does not name $image@$digest"
  git add action.yml
  git_as_bot commit -q -m "Release $tag: action.yml runs $image@$digest" \
    -m "Source: $source_sha (this commit's parent). Made by scripts/publish-action.sh."
  release=$(git rev-parse HEAD)
  git_as_bot tag -f -a "$tag" -m "qs-jwt ${tag#v}: the action runs $image@$digest (source $source_sha)" "$release" >/dev/null
  git push -q --force origin "refs/tags/$tag:refs/tags/$tag"
  echo "publish-action: $tag moved from the source $source_sha to the release commit $release" >&2
else
  git fetch -q --no-tags origin "+refs/tags/$tag:refs/publish-action/tag"
  release=$(git rev-parse "refs/publish-action/tag^{commit}")
  [ "$(git rev-parse "$release^1" 2>/dev/null)" = "$source_sha" ] ||
    die "the remote $tag names $remote, neither the source $source_sha nor a release commit on it"
  git show "$release:action.yml" | grep -qxF -- "$expected" ||
    die "the remote $tag is a release commit for another image or digest"
  git update-ref -d refs/publish-action/tag
  echo "publish-action: $tag already names the release commit $release" >&2
fi

# 3. the major tag, unless a higher release of the same major exists
highest=$(git ls-remote --tags --refs origin "refs/tags/$major.*" | sed 's|.*refs/tags/||' |
  grep -E '^v[0-9]+\.[0-9]+\.[0-9]+$' | sort -V | tail -n 1)
if [ "$highest" = "$tag" ]; then
  git push -q --force origin "$release:refs/tags/$major"
  echo "publish-action: $major -> $release" >&2
else
  echo "publish-action: $major stays: $highest is newer than $tag" >&2
fi
echo "$release"
