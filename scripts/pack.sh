#!/usr/bin/env bash
# Builds and packs every npm package a release publishes, into dist-packages/:
#   proxy-sigv4-native-<platform>-<v>.tgz   one per platform, holding its .node
#   proxy-sigv4-native-<v>.tgz               the loader and types, optionalDependencies on those
#   backstage-plugin-proxy-sigv4-backend-<v>.tgz, backstage-plugin-proxy-sigv4-node-<v>.tgz,
#   backstage-plugin-scaffolder-backend-module-proxy-sigv4-<v>.tgz
# The six binaries are cross-built on this Linux machine with cargo-zigbuild (zig as C compiler
# and linker; glibc targets link against glibc 2.28, musl ones dynamically so Node can load them).
#   scripts/pack.sh                      build all six binaries, then pack everything
#   scripts/pack.sh --target <triple>    only build that binary into dist-binaries/<platform>/
#   scripts/pack.sh --prebuilt <dir>     pack from <dir>/<platform>/*.node instead of building
# Installs what it needs (npm ci, zig, the Rust targets). Release profile (fat LTO).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=lib/node-deps.sh
source "$repo/scripts/lib/node-deps.sh"

# platform key (napi-rs's names, as in packages/native/platform.js) -> Rust target triple
declare -A TRIPLE=(
  [linux-x64-gnu]=x86_64-unknown-linux-gnu
  [linux-arm64-gnu]=aarch64-unknown-linux-gnu
  [linux-x64-musl]=x86_64-unknown-linux-musl
  [linux-arm64-musl]=aarch64-unknown-linux-musl
  [darwin-x64]=x86_64-apple-darwin
  [darwin-arm64]=aarch64-apple-darwin
)
PLATFORMS=(linux-x64-gnu linux-arm64-gnu linux-x64-musl linux-arm64-musl darwin-x64 darwin-arm64)
GLIBC_FLOOR=2.28

binaries="$repo/dist-binaries"
# The cross builds keep their own target directory outside the checkout: six release builds
# take ~25 min cold on two cores, and a later run (another clone, CI on the same machine)
# rebuilds only what changed. Cargo's fingerprints keep it correct.
export CARGO_TARGET_DIR="${PROXY_SIGV4_CACHE:-$HOME/.cache/proxy-sigv4}/cross-target"
out="$repo/dist-packages"
only_targets=()
prebuilt=""
while [ $# -gt 0 ]; do
  case "$1" in
    --target) only_targets+=("${2:?--target needs a Rust target triple}"); shift 2 ;;
    --prebuilt) prebuilt="$(cd "${2:?--prebuilt needs a directory}" && pwd)"; shift 2 ;;
    *) echo "pack.sh: unknown option $1 (see the top of scripts/pack.sh)" >&2; exit 2 ;;
  esac
done

platform_of() {
  local triple="$1" key
  for key in "${PLATFORMS[@]}"; do [ "${TRIPLE[$key]}" = "$triple" ] && { echo "$key"; return; }; done
  echo "pack.sh: $triple is not one of: ${TRIPLE[*]}" >&2
  exit 2
}

# The macOS frameworks the binary links (Security and CoreFoundation, for the system's trust
# store) as text stubs, since no macOS SDK can be had on Linux. A stub names the framework's
# install path and nothing else: the binary records it as a dependency, so macOS loads the
# framework with the addon, and its symbols bind at load time through `-undefined
# dynamic_lookup`, the flag every Node addon links with (N-API's own symbols bind that way).
framework_stubs() {
  local dir="$CARGO_TARGET_DIR/macos-framework-stubs" name
  for name in Security CoreFoundation; do
    mkdir -p "$dir/$name.framework"
    printf '%s\n' '--- !tapi-tbd' 'tbd-version:     4' 'targets:         [ x86_64-macos, arm64-macos ]' \
      "install-name:    '/System/Library/Frameworks/$name.framework/Versions/A/$name'" '...' \
      > "$dir/$name.framework/$name.tbd"
  done
  echo "$dir"
}

# Builds the binary of one platform into dist-binaries/<platform>/proxy-sigv4.<platform>.node.
build_binary() {
  local key="$1" triple="${TRIPLE[$1]}" zig_target built
  zig_target="$triple"
  case "$key" in
    *-gnu) zig_target="$triple.$GLIBC_FLOOR" ;;
    # musl's default is a static C runtime, and a cdylib cannot be loaded by Node with one.
    *-musl) export "CARGO_TARGET_$(echo "$triple" | tr 'a-z-' 'A-Z_')_RUSTFLAGS=-C target-feature=-crt-static" ;;
    # The install name is the binary's own name: by default it would be its path in target/.
    darwin-*) export "CARGO_TARGET_$(echo "$triple" | tr 'a-z-' 'A-Z_')_RUSTFLAGS=-C link-arg=-F$(framework_stubs) -C link-arg=-Wl,-install_name,@rpath/proxy-sigv4.$key.node" ;;
  esac
  echo "==> building $key ($zig_target)" >&2
  (cd "$repo" && cargo zigbuild --quiet --release --lib --features napi --target "$zig_target")
  case "$key" in
    darwin-*) built="$CARGO_TARGET_DIR/$triple/release/libproxy_sigv4.dylib" ;;
    *) built="$CARGO_TARGET_DIR/$triple/release/libproxy_sigv4.so" ;;
  esac
  mkdir -p "$binaries/$key"
  cp "$built" "$binaries/$key/proxy-sigv4.$key.node"
}

ensure_cross_tools() {
  local triples=() key
  for key in "$@"; do triples+=("${TRIPLE[$key]}"); done
  PATH="$("$repo/scripts/setup-cross.sh" "${triples[@]}"):$PATH"
  export PATH
}

if [ ${#only_targets[@]} -gt 0 ]; then
  keys=()
  for triple in "${only_targets[@]}"; do keys+=("$(platform_of "$triple")"); done
  ensure_cross_tools "${keys[@]}"
  for key in "${keys[@]}"; do build_binary "$key"; done
  exit 0
fi

if [ -z "$prebuilt" ]; then
  ensure_cross_tools "${PLATFORMS[@]}"
  for key in "${PLATFORMS[@]}"; do build_binary "$key"; done
  prebuilt="$binaries"
fi

install_node_deps "$repo"
# The Backstage packages (plugins/), the node library before the scaffolder module that uses it.
PLUGIN_PACKAGES=(proxy-sigv4-backend proxy-sigv4-node scaffolder-backend-module-proxy-sigv4)
for plugin in "${PLUGIN_PACKAGES[@]}"; do
  echo "==> building plugins/$plugin" >&2
  (cd "$repo/plugins/$plugin" && npm run --silent clean && npm run --silent build)
done

rm -rf "$out" && mkdir -p "$out"
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
version="$(node -p "require('$repo/packages/native/package.json').version")"

for key in "${PLATFORMS[@]}"; do
  binary="$(ls "$prebuilt/$key"/*.node 2>/dev/null | head -1)"
  [ -n "$binary" ] || { echo "pack.sh: no $prebuilt/$key/*.node" >&2; exit 1; }
  cp -r "$repo/packages/native/npm/$key" "$stage/$key"
  cp "$binary" "$stage/$key/proxy-sigv4.$key.node"
  (cd "$stage/$key" && npm pack --silent --pack-destination "$out" >/dev/null)
done

# The addon, with the platform packages as optionalDependencies at its own version (what
# `napi prepublish` adds): npm installs the one whose os/cpu/libc match the machine.
mkdir "$stage/native"
(cd "$repo/packages/native" && cp index.js index.d.ts platform.js "$stage/native/")
[ -f "$repo/packages/native/README.md" ] && cp "$repo/packages/native/README.md" "$stage/native/"
node -e '
  const [source, target, version, ...keys] = process.argv.slice(1);
  const pkg = require(source);
  pkg.optionalDependencies = Object.fromEntries(keys.map((k) => [`${pkg.name}-${k}`, version]));
  require("fs").writeFileSync(target, JSON.stringify(pkg, null, 2) + "\n");
' "$repo/packages/native/package.json" "$stage/native/package.json" "$version" "${PLATFORMS[@]}"
(cd "$stage/native" && npm pack --silent --pack-destination "$out" >/dev/null)

for plugin in "${PLUGIN_PACKAGES[@]}"; do
  (cd "$repo/plugins/$plugin" && npm pack --silent --pack-destination "$out" >/dev/null)
done

python3 "$repo/scripts/check-packages.py" "$out" "$GLIBC_FLOOR"
