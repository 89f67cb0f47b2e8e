# Shared helpers of the e2e scripts (tools.sh, app.sh, run.sh). Sourced, not run.
#
# Everything the e2e scripts install or cache lives under one folder, so a fresh machine (or a
# CI cache key) only needs that folder:
#   ${PROXY_SIGV4_CACHE:-$HOME/.cache/proxy-sigv4}/
#     e2e-tools/     Node 22, Node 24, Yarn 4, the verifying upstream's npm dependencies (tools.sh)
#     app-0.9.2/     a fresh Backstage app made by @backstage/create-app 0.9.2 (app.sh)
#     yarn-global/   Yarn's global cache (YARN_GLOBAL_FOLDER): tarballs, so reinstalls are offline-fast
# Nothing here writes a registry host name to disk: the registry is read from npm at run time.

E2E_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
E2E_REPO="$(cd "$E2E_DIR/../.." && pwd)"
E2E_CACHE="${PROXY_SIGV4_CACHE:-$HOME/.cache/proxy-sigv4}"
E2E_TOOLS="$E2E_CACHE/e2e-tools"

# Pinned versions. Bump here; each pin is part of its cache folder's name, so a bump installs
# anew next to the old one instead of mutating it.
E2E_NODE22_VERSION=22.23.3
E2E_NODE24_VERSION=24.21.0
E2E_YARN_VERSION=4.13.0          # what create-app 0.9.2's template declares (packageManager yarn@4.13.0)
E2E_CREATE_APP_VERSION=0.9.2
# The verifying upstream (the repo's __test__/support) re-signs with the AWS SDK's own signer;
# these are the versions the repo's package-lock.json pins.
E2E_VERIFIER_DEPS=(@smithy/signature-v4@5.7.5 @smithy/protocol-http@5.6.2 @aws-crypto/sha256-js@5.2.0)

log() { printf '[e2e %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "FAIL: $*"; exit 1; }

# Phase timing: `phase NAME` starts a phase (ending the previous one); `phase_end` ends the
# last; `phase_report` prints them all. Times are wall-clock seconds.
E2E_PHASES=()
_e2e_phase_name=""
_e2e_phase_start=0
phase() {
  phase_end
  _e2e_phase_name="$1"
  _e2e_phase_start=$SECONDS
  log "==> $1"
}
phase_end() {
  if [ -n "$_e2e_phase_name" ]; then
    E2E_PHASES+=("$(printf '%5ds  %s' $((SECONDS - _e2e_phase_start)) "$_e2e_phase_name")")
    _e2e_phase_name=""
  fi
}
phase_report() {
  phase_end
  local line
  for line in "${E2E_PHASES[@]}"; do printf '  %s\n' "$line"; done
}

# The npm registry this machine uses, for Yarn (Yarn's built-in default host may be unreachable,
# and corepack's download host too). Read at run time, never written to a file.
e2e_registry() {
  local r
  r="$(npm config get registry 2>/dev/null || true)"
  [ -n "$r" ] || die "npm config get registry printed nothing (is npm installed?)"
  printf '%s\n' "${r%/}"
}

# `npm install` SPECS into DIR/node_modules once. DIR/.e2e-installed records the specs; a
# different set of specs installs again. Installs go to DIR.partial first and are moved into
# place whole, so an interrupted install is never mistaken for a finished one.
e2e_npm_install_once() {
  local dir="$1"; shift
  local want="$*"
  if [ -f "$dir/.e2e-installed" ] && [ "$(cat "$dir/.e2e-installed")" = "$want" ]; then return 0; fi
  log "installing $want into ${dir#"$E2E_CACHE"/} (once)"
  rm -rf "$dir.partial" "$dir"
  mkdir -p "$dir.partial"
  # --prefix with a fresh folder: npm makes its own package.json / package-lock.json there.
  (cd "$dir.partial" && npm install --prefix "$dir.partial" --no-audit --no-fund --loglevel=error "$@" >&2) \
    || die "npm install $want failed"
  printf '%s\n' "$want" > "$dir.partial/.e2e-installed"
  mv "$dir.partial" "$dir"
}

# Sets PATH and friends to the controlled environment used by app.sh and run.sh:
#   e2e_clean_env NODE_MAJOR   (22 or 24)
# afterwards E2E_ENV is an array for `env -i "${E2E_ENV[@]}" cmd ...`: a minimal PATH (that Node,
# Yarn, /usr/bin:/bin: no cargo, rustc or rustup), Yarn pointed at the registry npm uses, and
# node-gyp pointed at the headers the npm `node` package ships (node-gyp cannot download them
# here). Nothing of the caller's environment leaks in (no NODE_OPTIONS, NAPI_RS_*, AWS_*).
e2e_clean_env() {
  local major="$1" registry
  # shellcheck source=/dev/null
  source "$E2E_TOOLS/env.sh" || die "run scripts/e2e/tools.sh first"
  local nodebin nodedir
  case "$major" in
    22) nodebin="$E2E_NODE22_BIN"; nodedir="$E2E_NODE22_NODEDIR" ;;
    24) nodebin="$E2E_NODE24_BIN"; nodedir="$E2E_NODE24_NODEDIR" ;;
    *) die "unsupported Node major $major (22 or 24)" ;;
  esac
  registry="$(e2e_registry)"
  E2E_PATH="$nodebin:$E2E_YARN_BIN:/usr/bin:/bin"
  E2E_ENV=(
    "PATH=$E2E_PATH"
    "HOME=$HOME"
    "LANG=C.UTF-8"
    "TMPDIR=${TMPDIR:-/tmp}"
    "COREPACK_ENABLE_STRICT=0"            # the app's packageManager field names yarn@4.13.0; let our yarn run
    "YARN_NPM_REGISTRY_SERVER=$registry"
    "YARN_GLOBAL_FOLDER=$E2E_CACHE/yarn-global"
    "YARN_ENABLE_TELEMETRY=0"
    "YARN_ENABLE_PROGRESS_BARS=0"
    "YARN_ENABLE_INLINE_BUILDS=0"
    "npm_config_nodedir=$nodedir"         # node-gyp: headers from the npm node package, no download
    "npm_config_registry=$registry"
    # Not CI=1: Yarn then defaults to --immutable, and create-app's `yarn install` writes the lockfile.
  )
  # How this machine reaches the registry (a TLS-inspecting proxy's CA, a proxy) passes through;
  # npm's cafile, if any, is handed to Yarn too.
  local var cafile
  for var in NODE_EXTRA_CA_CERTS SSL_CERT_FILE SSL_CERT_DIR HTTP_PROXY HTTPS_PROXY NO_PROXY http_proxy https_proxy no_proxy; do
    if [ -n "${!var:-}" ]; then E2E_ENV+=("$var=${!var}"); fi
  done
  cafile="$(npm config get cafile 2>/dev/null || true)"
  if [ -n "$cafile" ] && [ "$cafile" != null ] && [ "$cafile" != undefined ]; then
    E2E_ENV+=("YARN_HTTPS_CA_FILE_PATH=$cafile")
  fi
  # The minimal PATH must not offer a Rust toolchain: the proof is that the app needs none.
  local tool
  for tool in cargo rustc rustup; do
    if env -i "${E2E_ENV[@]}" sh -c "command -v $tool" >/dev/null 2>&1; then
      die "$tool is on the minimal PATH ($E2E_PATH); the e2e must run without Rust"
    fi
  done
}

# Runs a command in the controlled environment (after e2e_clean_env).
e2e_run() { env -i "${E2E_ENV[@]}" "$@"; }

# Copies the cached app SRC to DST for one run. Mode `link` (default): everything outside
# node_modules (~160 files: package.json files, sources, yarn.lock, .yarn) is copied for real,
# the node_modules trees (~230k files, 2 GB) as hard links: ~15 s instead of ~4 min here. Yarn's
# linker replaces files (unlink + create), which leaves the cache alone; the file it rewrites in
# place (node_modules/.yarn-state.yml) is copied for real. Build scripts may write in place
# (cpu-features' does), so run.sh installs with YARN_ENABLE_SCRIPTS=0 in the copy, and checks
# afterwards that no cached file changed (e2e_check_app_untouched).
# Mode `full` (or another filesystem): a plain `cp -a`.
e2e_copy_app() {
  local src="$1" dst="$2" mode="${3:-link}"
  mkdir -p "$dst"
  if [ "$mode" = link ] && [ "$(stat -c %d "$src")" != "$(stat -c %d "$dst")" ]; then
    log "the temp folder is on another filesystem than the cache: full copy"
    mode=full
  fi
  if [ "$mode" = full ]; then
    cp -a "$src/." "$dst/"
    return
  fi
  (cd "$src" && tar --exclude=node_modules -cf - .) | (cd "$dst" && tar -xf -)
  local nm
  while IFS= read -r nm; do
    mkdir -p "$dst/$(dirname "$nm")"
    cp -al "$src/$nm" "$dst/$nm"
  done < <(cd "$src" && find . -name node_modules -prune -print)
  local f
  while IFS= read -r f; do
    cp --remove-destination "$src/$f" "$dst/$f"
  done < <(cd "$src" && find . -path '*/node_modules/.yarn-state.yml' -print)
}

# After a `link` copy: fails if any file of the cached app was modified since STAMP was touched
# (a write through a hard link), and then drops the cache's record so app.sh scaffolds anew.
e2e_check_app_untouched() {
  local app="$1" stamp="$2" changed
  changed="$(find "$app" -newer "$stamp" -type f -print 2>/dev/null | head -n 20)"
  if [ -n "$changed" ]; then
    printf '%s\n' "$changed" >&2
    rm -f "$(dirname "$app")/e2e-app.env"
    die "files of the cached app changed during the run (listed above); the cache is dropped, rerun app.sh (or use E2E_COPY=full)"
  fi
}
