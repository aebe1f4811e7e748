#!/usr/bin/env bash
# Pin the base images of the Dockerfile and docker-compose.yml by digest, so a build or a
# `docker compose pull` gets exactly the image that was reviewed, not whatever the tag points at
# today.
#
#   deploy/pin-images.sh           read each image's digest for its tag and write it in the files
#   deploy/pin-images.sh --check   only tell which images are unpinned (exit 1 if any); no registry
#
# Run it on a machine that reaches the registries (Docker Hub), with one of: crane, skopeo, or
# docker with buildx. It reads the digest of the tag's top-level manifest (the multi-platform
# index), so each platform still pulls its own image. It rewrites only the references:
#   Dockerfile           ARG PYTHON_IMAGE=python:3.11-slim-bookworm@sha256:<digest>
#   docker-compose.yml   image: temporalio/server:${TEMPORAL_VERSION:-1.31.0@sha256:<digest>}
#
# Bumping an image: change its tag in the file (e.g. 1.31.0 -> 1.32.0), run this script again,
# review and commit the diff. Running it with the tags unchanged picks up the tags' newest builds
# (security fixes of the base image). A compose variable set in .env replaces tag and digest
# together: TEMPORAL_VERSION=1.32.0 runs 1.32.0 unpinned, TEMPORAL_VERSION=1.32.0@sha256:... pinned.
#
# PIN_IMAGES_ROOT overrides the repository root (for tests).
set -euo pipefail

root="${PIN_IMAGES_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
dockerfile="$root/Dockerfile"
compose="$root/docker-compose.yml"
check_only=false
case "${1:-}" in
    --check) check_only=true ;;
    "") ;;
    *) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac

# name:tag[@sha256:...] in a Dockerfile ARG, and name:${VAR:-tag[@sha256:...]} in compose.
arg_line='^(ARG [A-Z_]+_IMAGE=)([^@[:space:]]+)(@sha256:[0-9a-f]{64})?[[:space:]]*$'
image_line='^([[:space:]]+image: )([^$:[:space:]]+):\$\{([A-Z_]+):-([^}@]+)(@sha256:[0-9a-f]{64})?\}[[:space:]]*$'

digest_of() {
    local ref=$1 digest
    if command -v crane >/dev/null 2>&1; then
        digest=$(crane digest "$ref")
    elif command -v skopeo >/dev/null 2>&1; then
        digest=$(skopeo inspect --format '{{.Digest}}' "docker://$ref")
    elif docker buildx version >/dev/null 2>&1; then
        digest=$(docker buildx imagetools inspect --format '{{println .Manifest.Digest}}' "$ref")
    else
        echo "pin-images: need crane, skopeo or docker buildx to read digests" >&2
        return 1
    fi
    digest=$(printf '%s' "$digest" | tr -d '[:space:]')
    if [[ ! $digest =~ ^sha256:[0-9a-f]{64}$ ]]; then
        echo "pin-images: no digest for $ref (got '$digest')" >&2
        return 1
    fi
    printf '%s\n' "$digest"
}

unpinned=0
note_unpinned() {
    unpinned=$((unpinned + 1))
    if $check_only; then echo "unpinned: $1: $2" >&2; fi
}
declare -A cache=()

pin() {  # pin FILE: rewrite every image reference line of FILE
    local file=$1 name=${1#"$root"/} line out="" ref digest
    while IFS= read -r line || [[ -n $line ]]; do
        ref=""
        if [[ $line =~ $arg_line ]]; then
            ref=${BASH_REMATCH[2]}
            [[ -n ${BASH_REMATCH[3]} ]] || note_unpinned "$name" "$ref"
            if ! $check_only; then
                digest=${cache[$ref]:-$(digest_of "$ref")}
                cache[$ref]=$digest
                line="${BASH_REMATCH[1]}$ref@$digest"
            fi
        elif [[ $line =~ $image_line && ${BASH_REMATCH[2]##*/} != stackchain ]]; then
            # (stackchain's own image is built from the Dockerfile, not pulled)
            ref="${BASH_REMATCH[2]}:${BASH_REMATCH[4]}"
            [[ -n ${BASH_REMATCH[5]} ]] || note_unpinned "$name" "$ref"
            if ! $check_only; then
                digest=${cache[$ref]:-$(digest_of "$ref")}
                cache[$ref]=$digest
                line="${BASH_REMATCH[1]}${BASH_REMATCH[2]}:\${${BASH_REMATCH[3]}:-${BASH_REMATCH[4]}@$digest}"
            fi
        fi
        out+="$line"$'\n'
    done <"$file"
    if ! $check_only; then
        printf '%s' "$out" >"$file.pin-images"
    fi
}

# Both files are written only once every digest was read: a registry that fails half-way
# leaves them as they were.
trap 'rm -f "$dockerfile.pin-images" "$compose.pin-images"' EXIT
pin "$dockerfile"
pin "$compose"
if ! $check_only; then
    mv "$dockerfile.pin-images" "$dockerfile"
    mv "$compose.pin-images" "$compose"
fi

if $check_only; then
    if ((unpinned > 0)); then
        echo "pin-images: $unpinned image reference(s) unpinned; run deploy/pin-images.sh" >&2
        exit 1
    fi
    echo "pin-images: every image is pinned by digest"
else
    for ref in "${!cache[@]}"; do
        echo "pinned $ref@${cache[$ref]}"
    done
fi
