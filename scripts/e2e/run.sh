#!/usr/bin/env bash
# The end-to-end proof: proxy-sigv4's npm tarballs installed into a fresh Backstage app as a new
# user would, with no Rust toolchain on PATH, serving signed requests in
#   1. the app's backend, new backend system (`yarn workspace backend start`),
#   2. a legacy-system backend in the same app (createRouter + createLegacyAuthAdapters),
#   3. the production bundle (`yarn build:backend`), installed the way the app's
#      packages/backend/Dockerfile installs it, in a folder outside the app.
#
#   scripts/e2e/run.sh DIST_DIR
#
# DIST_DIR holds the packed tarballs: proxy-sigv4-native-*.tgz, backstage-plugin-proxy-sigv4-backend-*.tgz,
# backstage-plugin-proxy-sigv4-node-*.tgz, backstage-plugin-scaffolder-backend-module-proxy-sigv4-*.tgz
# and, in the final layout, the per-platform proxy-sigv4-native-<platform>-*.tgz. Every
# proxy-sigv4-native* and Backstage package tarball found there is installed through the app's root
# `resolutions` (name -> file:./vendor/proxy-sigv4/<tarball>), so the same script serves the
# interim set (addon with its .node inside) and the final one (addon + platform packages).
#
# Environment (all optional):
#   PROXY_SIGV4_CACHE   cache root (default ~/.cache/proxy-sigv4): tools, the scaffolded app, Yarn's cache
#   E2E_TMP             where the run's temp folders go (default ${TMPDIR:-/tmp}); same filesystem
#                       as the cache makes the app copy fast (hard links, see lib.sh)
#   E2E_COPY            link (default) or full: how the cached app is copied
#   E2E_DEV_NODE        Node major for the app and its dev backends (default 22)
#   E2E_PROD_NODE       Node major for the production install and start (default 22). The
#                       template's Dockerfile says FROM node:24-trixie-slim, but its
#                       better-sqlite3 12.x aborts on Node >= 24.19 (node::ObjectWrap cleanup
#                       hooks; also without proxy-sigv4). For 24, give E2E_BETTER_SQLITE3 too.
#   E2E_BETTER_SQLITE3  a range (e.g. ^13.2.0) to pin better-sqlite3 to through the root
#                       resolutions: 13.x is Node-API with prebuilds and runs on Node 24
#   E2E_START_TIMEOUT   seconds a backend may take to answer (default 240; 2 busy cores are slow)
#   E2E_KEEP=1          keep the temp folders (they are kept anyway when the run fails)
#
# Needs: bash, tar, curl, setsid, timeout, pgrep, python3/make/g++ (node-gyp, for better-sqlite3 in
# the production install), and npm once (tools.sh fetches Node and Yarn with it).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[ $# -eq 1 ] || { sed -n '2,30p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }
[ -d "$1" ] || die "no such folder: $1"
dist="$(cd "$1" && pwd)"
dev_node="${E2E_DEV_NODE:-22}"
prod_node="${E2E_PROD_NODE:-22}"
better_sqlite3="${E2E_BETTER_SQLITE3:-}"
start_timeout="${E2E_START_TIMEOUT:-240}"
copy_mode="${E2E_COPY:-link}"
tmp_base="${E2E_TMP:-${TMPDIR:-/tmp}}"

# ---------------------------------------------------------------------------------------------
# Background processes, each in its own process group (setsid), stopped group-wise on exit.
bg_pids=()
tmp=""
prod=""
ok=0
summary=()
say() { summary+=("$*"); log "$*"; }

start_bg() { # LOGFILE CMD...: starts CMD in a new session; its pid (= process group) in $bg_pid
  local logfile="$1"; shift
  setsid "$@" > "$logfile" 2>&1 < /dev/null &
  bg_pid=$!
  bg_pids+=("$bg_pid")
  # setsid runs in the forked child: wait until it made the child a group leader, so that group
  # signals reach it from now on.
  local i
  for i in $(seq 1 50); do
    [ "$(ps -o pgid= -p "$bg_pid" 2>/dev/null | tr -d ' ')" = "$bg_pid" ] && return 0
    kill -0 "$bg_pid" 2>/dev/null || return 0
    sleep 0.1
  done
}

stop_bg() { # PGID NAME: SIGTERM to the group, up to 30 s, then SIGKILL
  local pgid="$1" name="$2" i
  kill -0 -- "-$pgid" 2>/dev/null || return 0
  kill -TERM -- "-$pgid" 2>/dev/null || true
  for i in $(seq 1 60); do
    kill -0 -- "-$pgid" 2>/dev/null || { log "stopped $name (group $pgid) after ~$((i / 2))s"; return 0; }
    sleep 0.5
  done
  log "$name (group $pgid) ignored SIGTERM for 30 s: SIGKILL"
  kill -KILL -- "-$pgid" 2>/dev/null || true
  sleep 1
}

cleanup() {
  local rc=$?
  local pid
  for pid in "${bg_pids[@]}"; do stop_bg "$pid" "background process"; done
  if [ "$ok" != 1 ]; then
    [ -n "$tmp" ] && log "run failed (rc $rc); kept for inspection: $tmp${prod:+ and $prod} (logs in $tmp/logs)"
    # A failed run must not leave a silently modified cache behind either.
    if [ "$copy_mode" = link ] && [ -n "$tmp" ] && [ -f "$tmp/start-stamp" ] && [ -n "${app_src:-}" ]; then
      (e2e_check_app_untouched "$app_src" "$tmp/start-stamp") || true
    fi
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Waits until URL answers with one of the wanted HTTP codes (a regex), or the process group
# died, or TIMEOUT seconds passed.
wait_http() { # URL CODES_REGEX PGID LOGFILE TIMEOUT NAME
  local url="$1" want="$2" pgid="$3" logfile="$4" limit="$5" name="$6" start=$SECONDS code
  while :; do
    if ! kill -0 "$pgid" 2>/dev/null; then
      tail -n 60 "$logfile" >&2
      die "$name exited before answering (log: $logfile)"
    fi
    code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$url" || true)"
    if [[ "$code" =~ ^($want)$ ]]; then
      log "$name answers (HTTP $code on $url) after $((SECONDS - start))s"
      return 0
    fi
    if [ $((SECONDS - start)) -ge "$limit" ]; then
      tail -n 60 "$logfile" >&2
      die "$name did not answer $url within ${limit}s (last HTTP code: $code; log: $logfile)"
    fi
    sleep 2
  done
}

# Which proxy-sigv4 native binary the processes of group PGID have mapped, from which package,
# on which node: read from /proc/PID/maps, i.e. what the kernel loaded, not what we expect.
report_addon() { # PGID LABEL
  local pgid="$1" label="$2" pid so dir found=0
  for pid in $(pgrep -g "$pgid" || true); do
    while IFS= read -r so; do
      found=1
      dir="$(dirname "$so")"
      while [ "$dir" != / ] && [ ! -f "$dir/package.json" ]; do dir="$(dirname "$dir")"; done
      local pkg node_exe
      pkg="$(e2e_run node -p "const p=require('$dir/package.json'); p.name + '@' + p.version")"
      node_exe="$(readlink "/proc/$pid/exe")"
      say "[$label] native binary loaded: $so"
      say "[$label]   from package $pkg ($dir)"
      say "[$label]   by pid $pid running $node_exe ($("$node_exe" --version))"
      if [ -n "$platform_pkg" ] && [ "${pkg%@*}" != "$platform_pkg" ]; then
        say "[$label]   WARNING: $platform_pkg is in the dist folder but the binary came from ${pkg%@*}"
      fi
    done < <(awk '$6 ~ /proxy-sigv4[^\/]*\.node$/ { print $6 }' "/proc/$pid/maps" 2>/dev/null | sort -u)
  done
  [ "$found" = 1 ] || die "[$label] no process of group $pgid has a proxy-sigv4 .node mapped"
}

# The app's scaffolder lists the module's actions (GET /api/scaffolder/v2/actions, the list the
# template editor shows), so the module loaded with the node library's service behind it.
check_scaffolder_actions() { # BASE LABEL
  local body id missing=""
  body="$(curl -sf --max-time 30 -H "Authorization: Bearer $static_token" "$1/api/scaffolder/v2/actions")" \
    || die "[$2] GET /api/scaffolder/v2/actions failed"
  for id in aws:sigv4:request aws:bootstrap:terraform-state; do
    printf '%s' "$body" | grep -qE "\"id\": ?\"$id\"" || missing+=" $id"
  done
  [ -z "$missing" ] || die "[$2] the app's scaffolder does not list:$missing"
  say "[$2] the app's scaffolder lists aws:sigv4:request and aws:bootstrap:terraform-state (GET /api/scaffolder/v2/actions)"
}

aws_env=(
  AWS_ACCESS_KEY_ID="AKIAE2E$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n' | tr a-f A-F)"
  AWS_SECRET_ACCESS_KEY="$(od -An -N20 -tx1 /dev/urandom | tr -d ' \n')"
  AWS_REGION=us-east-1
  AWS_EC2_METADATA_DISABLED=true
  AWS_CONFIG_FILE=/nonexistent
  AWS_SHARED_CREDENTIALS_FILE=/nonexistent
)

# ---------------------------------------------------------------------------------------------
phase "tools (tools.sh)"
"$E2E_DIR/tools.sh" > /dev/null
phase "scaffolded app (app.sh)"
app_src="$("$E2E_DIR/app.sh")"
# shellcheck source=/dev/null
app_record="$(dirname "$app_src")/e2e-app.env"
backstage_release="$(sed -n 's/^BACKSTAGE_RELEASE=//p' "$app_record")"
say "app: @backstage/create-app $E2E_CREATE_APP_VERSION, Backstage release $backstage_release ($(sed -n 's/^BACKEND_DEFAULTS=/backend-defaults /p' "$app_record")), scaffolded with node $(sed -n 's/^NODE=//p' "$app_record"), yarn $(sed -n 's/^YARN=//p' "$app_record")"

e2e_clean_env "$dev_node"
dev_env=("${E2E_ENV[@]}")
say "minimal PATH: $E2E_PATH (no cargo, rustc or rustup on it: checked)"

# ---------------------------------------------------------------------------------------------
phase "inputs: tarballs and the verifying upstream"
mkdir -p "$tmp_base"
tmp="$(mktemp -d "$tmp_base/proxy-sigv4-e2e.XXXXXX")"
mkdir -p "$tmp/logs" "$tmp/results"
log "temp folder: $tmp"
touch "$tmp/start-stamp"

# Read each tarball's own package.json: names and versions come from the packages, not from
# file names.
declare -A tarball_of=()
plugin_pkg=backstage-plugin-proxy-sigv4-backend
node_library_pkg=backstage-plugin-proxy-sigv4-node
scaffolder_pkg=backstage-plugin-scaffolder-backend-module-proxy-sigv4
platform_pkg=""
shopt -s nullglob
for f in "$dist"/*.tgz; do
  manifest="$(tar -xzOf "$f" package/package.json 2>/dev/null)" || { log "skipping $f: no package/package.json"; continue; }
  name="$(printf '%s' "$manifest" | e2e_run node -p 'JSON.parse(require("fs").readFileSync(0, "utf8")).name')"
  case "$name" in
    proxy-sigv4-native* | "$plugin_pkg" | "$node_library_pkg" | "$scaffolder_pkg") ;;
    *) log "skipping $f ($name): not one of ours"; continue ;;
  esac
  [ -z "${tarball_of[$name]:-}" ] || die "two tarballs for $name in $dist"
  tarball_of[$name]="$f"
  # What Yarn would run on install: none of ours may need a build (that is the point of
  # shipping prebuilt binaries), and the dev phase below runs with scripts off.
  scripts="$(printf '%s' "$manifest" | e2e_run node -p 'const s=JSON.parse(require("fs").readFileSync(0,"utf8")).scripts||{}; ["preinstall","install","postinstall"].filter(k=>s[k]).join(" ")')"
  [ -z "$scripts" ] || die "$name declares install scripts ($scripts): it would build on install"
  if tar -tzf "$f" | grep -q '^package/binding\.gyp$'; then die "$name has a binding.gyp: it would build on install"; fi
done
shopt -u nullglob
for name in "$plugin_pkg" "$node_library_pkg" "$scaffolder_pkg"; do
  [ -n "${tarball_of[$name]:-}" ] || die "no $name tarball in $dist"
done
[ -n "${tarball_of[proxy-sigv4-native]:-}" ] || die "no proxy-sigv4-native tarball in $dist"
[ -z "${tarball_of[proxy-sigv4-native-linux-x64-gnu]:-}" ] || platform_pkg=proxy-sigv4-native-linux-x64-gnu
plugin_version="$(tar -xzOf "${tarball_of[$plugin_pkg]}" package/package.json | e2e_run node -p 'JSON.parse(require("fs").readFileSync(0,"utf8")).version')"
# Platform packages the addon lists must all be in the folder: a missing one would be looked up
# in the registry.
for opt in $(tar -xzOf "${tarball_of[proxy-sigv4-native]}" package/package.json \
  | e2e_run node -p 'Object.keys(JSON.parse(require("fs").readFileSync(0,"utf8")).optionalDependencies||{}).join(" ")'); do
  [ -n "${tarball_of[$opt]:-}" ] || die "proxy-sigv4-native lists optional dependency $opt, which is not in $dist"
done
for name in $(printf '%s\n' "${!tarball_of[@]}" | sort); do say "input: $name <- ${tarball_of[$name]}"; done

# The verifying upstream: the repo's test tooling, copied here (with the SDK signer it verifies
# with, from the tools cache) so nothing of the run reads the repo afterwards.
support_src="${PROXY_SIGV4_UPSTREAM_SUPPORT:-$E2E_REPO/__test__/support}"
[ -f "$support_src/verifying-upstream.js" ] || die "no verifying-upstream.js in $support_src (set PROXY_SIGV4_UPSTREAM_SUPPORT)"
mkdir -p "$tmp/upstream"
cp -a "$support_src" "$tmp/upstream/support"
ln -s "$E2E_VERIFIER_NODE_MODULES" "$tmp/upstream/node_modules"
cp "$E2E_DIR/lib/upstream.cjs" "$E2E_DIR/lib/check.mjs" "$E2E_DIR/lib/legacy-token.cjs" "$E2E_DIR/lib/free-port.cjs" "$tmp/upstream/"

# ---------------------------------------------------------------------------------------------
phase "copy the cached app ($copy_mode)"
app="$tmp/app"
e2e_copy_app "$app_src" "$app" "$copy_mode"
mkdir -p "$app/vendor/proxy-sigv4"
for name in "${!tarball_of[@]}"; do cp "${tarball_of[$name]}" "$app/vendor/proxy-sigv4/"; done

# ---------------------------------------------------------------------------------------------
phase "install the plugin (yarn workspace backend add)"
# Root resolutions: each package name -> its tarball, relative to the app root, so the lockfile
# and a production install of the bundle never name this machine's paths.
resolutions_json="{"
for name in "${!tarball_of[@]}"; do
  resolutions_json+="\"$name\": \"file:./vendor/proxy-sigv4/$(basename "${tarball_of[$name]}")\","
done
[ -z "$better_sqlite3" ] || resolutions_json+="\"better-sqlite3\": \"$better_sqlite3\","
resolutions_json="${resolutions_json%,}}"
(cd "$app" && e2e_run node -e '
  const fs = require("fs");
  const p = JSON.parse(fs.readFileSync("package.json", "utf8"));
  p.resolutions = { ...p.resolutions, ...JSON.parse(process.argv[1]) };
  fs.writeFileSync("package.json", JSON.stringify(p, null, 2) + "\n");
' "$resolutions_json")
say "root package.json resolutions: $resolutions_json"

# The legacy backend: a second workspace package, compiled by the app's `yarn tsc` like the rest.
cp -a "$E2E_DIR/legacy" "$app/packages/backend-legacy"

# The new backend: add the plugin, drop signals-backend. create-app 0.9.2's signals-backend fails
# at startup against its backend-defaults 0.18 (httpRouter.addWebSocketHandler is not a
# function) and takes the backend down with it; that is the template's problem, not ours.
index="$app/packages/backend/src/index.ts"
grep -q "^backend.add(import('@backstage/plugin-signals-backend'));$" "$index" || die "signals-backend line not found in $index"
sed -i "\#^backend.add(import('@backstage/plugin-signals-backend'));\$#d" "$index"
[ "$(grep -c '^backend.start();$' "$index")" = 1 ] || die "expected one backend.start(); in $index"
sed -i "s#^backend.start();\$#backend.add(import('$plugin_pkg'));\nbackend.add(import('$scaffolder_pkg'));\n\nbackend.start();#" "$index"
say "packages/backend/src/index.ts: added backend.add(import('$plugin_pkg')); and backend.add(import('$scaffolder_pkg')); removed backend.add(import('@backstage/plugin-signals-backend')); (it crashes this template's backend at startup)"

# YARN_ENABLE_SCRIPTS=0: the copied app's native modules (better-sqlite3 & co.) are already built
# for this Node; Yarn's build hash includes absolute paths, so in a copied app it would rebuild
# all of them (~2 min) for nothing. Our packages have no install scripts (checked above); the
# production install below runs with scripts on, as the Dockerfile does.
(cd "$app" && e2e_run YARN_ENABLE_SCRIPTS=0 timeout 1200 yarn workspace backend add "$plugin_pkg@^$plugin_version" "$scaffolder_pkg@^$plugin_version") \
  > "$tmp/logs/yarn-add.log" 2>&1 || { tail -n 40 "$tmp/logs/yarn-add.log" >&2; die "yarn workspace backend add failed"; }
grep -E 'YN0001|YN0009' "$tmp/logs/yarn-add.log" >&2 && die "yarn reported errors (log: $tmp/logs/yarn-add.log)"
say "yarn workspace backend add $plugin_pkg@^$plugin_version $scaffolder_pkg@^$plugin_version: ok (also installed packages/backend-legacy with @backstage/backend-common $(e2e_run node -p "require('$app/node_modules/@backstage/backend-common/package.json').version"))"

# ---------------------------------------------------------------------------------------------
phase "yarn tsc (app root)"
(cd "$app" && e2e_run timeout 900 yarn tsc) > "$tmp/logs/tsc.log" 2>&1 \
  || { cat "$tmp/logs/tsc.log" >&2; die "yarn tsc failed"; }
say "yarn tsc at the app root: passed (includes packages/backend-legacy/src/plugins/proxy-sigv4.ts)"

# ---------------------------------------------------------------------------------------------
phase "new backend: start (yarn workspace backend start)"
start_bg "$tmp/logs/upstream.log" env -i "${dev_env[@]}" "${aws_env[@]/#/E2E_}" \
  node "$tmp/upstream/upstream.cjs" "$tmp/upstream/support" "$tmp/upstream/port" "$tmp/upstream/requests.jsonl"
upstream_pid=$bg_pid
for _ in $(seq 1 50); do [ -f "$tmp/upstream/port" ] && break; sleep 0.2; done
[ -f "$tmp/upstream/port" ] || { cat "$tmp/logs/upstream.log" >&2; die "the verifying upstream did not start"; }
up_port="$(cat "$tmp/upstream/port")"
say "verifying upstream (strict, @smithy/signature-v4 re-signing) on 127.0.0.1:$up_port"

static_token="e2e-$(od -An -N18 -tx1 /dev/urandom | tr -d ' \n')"
bad_token="e2e-wrong-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
proxysigv4_yaml="proxysigv4:
  '/demo':
    target: http://127.0.0.1:$up_port/base
    service: execute-api
    region: us-east-1"
write_local_config() { # FILE PORT
  cat > "$1" <<EOF
# Written by scripts/e2e/run.sh.
backend:
  baseUrl: http://127.0.0.1:$2
  listen:
    host: 127.0.0.1
    port: $2
  auth:
    externalAccess:
      - type: static
        options:
          token: $static_token
          subject: e2e-client
$proxysigv4_yaml
EOF
}
dev_port="$(e2e_run node "$tmp/upstream/free-port.cjs")"
write_local_config "$app/app-config.local.yaml" "$dev_port"

start_bg "$tmp/logs/backend-dev.log" env -i "${dev_env[@]}" "${aws_env[@]}" \
  sh -c "cd '$app' && exec yarn workspace backend start"
dev_pid=$bg_pid
wait_http "http://127.0.0.1:$dev_port/.backstage/health/v1/readiness" 200 "$dev_pid" "$tmp/logs/backend-dev.log" "$start_timeout" "new backend (dev)"

phase "new backend: requests"
report_addon "$dev_pid" "new backend"
e2e_run node "$tmp/upstream/check.mjs" --base "http://127.0.0.1:$dev_port" --token "$static_token" \
  --bad-token "$bad_token" --upstream-log "$tmp/upstream/requests.jsonl" --label "new backend" \
  --out "$tmp/results/new-backend.json" | tee "$tmp/logs/check-dev.log" \
  || die "new backend: checks failed (backend log: $tmp/logs/backend-dev.log)"
summary+=("$(cat "$tmp/logs/check-dev.log")")
check_scaffolder_actions "http://127.0.0.1:$dev_port" "new backend"
stop_bg "$dev_pid" "new backend (dev)"

# ---------------------------------------------------------------------------------------------
phase "legacy backend: start (yarn workspace backend-legacy start)"
legacy_port="$(e2e_run node "$tmp/upstream/free-port.cjs")"
legacy_secret="$(e2e_run node -p 'require("crypto").randomBytes(32).toString("base64url")')"
# *.local.yaml: the app's .gitignore and .dockerignore keep it out of git and images.
cat > "$app/app-config.legacy.local.yaml" <<EOF
# Written by scripts/e2e/run.sh: config of packages/backend-legacy only.
backend:
  baseUrl: http://127.0.0.1:$legacy_port
  listen:
    host: 127.0.0.1
    port: $legacy_port
  auth:
    externalAccess:
      - type: legacy
        options:
          secret: $legacy_secret
          subject: e2e-legacy-client
$proxysigv4_yaml
EOF
legacy_token="$(e2e_run node "$tmp/upstream/legacy-token.cjs" "$legacy_secret")"
start_bg "$tmp/logs/backend-legacy.log" env -i "${dev_env[@]}" "${aws_env[@]}" \
  sh -c "cd '$app' && exec yarn workspace backend-legacy start --config ../../app-config.legacy.local.yaml"
legacy_pid=$bg_pid
# The legacy service builder has no health endpoint: wait for the proxy's own 401.
wait_http "http://127.0.0.1:$legacy_port/api/proxy-sigv4/demo/hello" 401 "$legacy_pid" "$tmp/logs/backend-legacy.log" "$start_timeout" "legacy backend"

phase "legacy backend: requests"
report_addon "$legacy_pid" "legacy backend"
e2e_run node "$tmp/upstream/check.mjs" --base "http://127.0.0.1:$legacy_port" --token "$legacy_token" \
  --bad-token "$bad_token" --upstream-log "$tmp/upstream/requests.jsonl" --label "legacy backend" \
  --out "$tmp/results/legacy-backend.json" | tee "$tmp/logs/check-legacy.log" \
  || die "legacy backend: checks failed (backend log: $tmp/logs/backend-legacy.log)"
summary+=("$(cat "$tmp/logs/check-legacy.log")")
stop_bg "$legacy_pid" "legacy backend"

# ---------------------------------------------------------------------------------------------
phase "yarn build:backend"
(cd "$app" && e2e_run timeout 2400 yarn build:backend) > "$tmp/logs/build-backend.log" 2>&1 \
  || { tail -n 60 "$tmp/logs/build-backend.log" >&2; die "yarn build:backend failed"; }
for f in skeleton.tar.gz bundle.tar.gz; do
  [ -f "$app/packages/backend/dist/$f" ] || die "yarn build:backend made no packages/backend/dist/$f"
done
say "yarn build:backend: packages/backend/dist/skeleton.tar.gz ($(du -h "$app/packages/backend/dist/skeleton.tar.gz" | cut -f1)), bundle.tar.gz ($(du -h "$app/packages/backend/dist/bundle.tar.gz" | cut -f1))"

# ---------------------------------------------------------------------------------------------
phase "production install, as packages/backend/Dockerfile (node $prod_node)"
sqlite_version="$(e2e_run node -p "require('$app/node_modules/better-sqlite3/package.json').version")"
say "better-sqlite3 in the app: $sqlite_version${better_sqlite3:+ (pinned by E2E_BETTER_SQLITE3=$better_sqlite3)}"
if [ "$prod_node" -ge 24 ] && [ "${sqlite_version%%.*}" -lt 13 ]; then
  log "WARNING: better-sqlite3 $sqlite_version aborts on Node >= 24.19 ('Assertion failed: (env) != nullptr' in Statement::~Statement), with or without proxy-sigv4; set E2E_BETTER_SQLITE3=^13.2.0"
fi
e2e_clean_env "$prod_node"
prod_env=("${E2E_ENV[@]}" NODE_ENV=production)
prod="$(mktemp -d "$tmp_base/proxy-sigv4-prod.XXXXXX")"
log "production folder: $prod"
# Each step mirrors a Dockerfile line; .dockerignore leaves out .yarn/cache,
# .yarn/install-state.gz, node_modules, packages/*/src, plugins and *.local.yaml.
#   COPY .yarn ./.yarn ; COPY .yarnrc.yml ./ ; COPY backstage.json ./
(cd "$app" && tar --exclude=.yarn/cache --exclude=.yarn/install-state.gz -cf - .yarn) | (cd "$prod" && tar -xf -)
cp "$app/.yarnrc.yml" "$app/backstage.json" "$prod/"
#   COPY yarn.lock package.json packages/backend/dist/skeleton.tar.gz ./ ; RUN tar xzf skeleton.tar.gz
cp "$app/yarn.lock" "$app/package.json" "$app/packages/backend/dist/skeleton.tar.gz" "$prod/"
(cd "$prod" && tar xzf skeleton.tar.gz && rm skeleton.tar.gz)
#   NOT in the template's Dockerfile: the tarballs the root resolutions point at. With packages
#   from a registry this line is not needed; with tarballs it is `COPY vendor ./vendor`.
cp -a "$app/vendor" "$prod/vendor"
#   RUN yarn workspaces focus --all --production   (ENV NODE_ENV=production; build scripts on)
(cd "$prod" && env -i "${prod_env[@]}" timeout 2400 yarn workspaces focus --all --production) \
  > "$tmp/logs/prod-focus.log" 2>&1 || { tail -n 60 "$tmp/logs/prod-focus.log" >&2; die "yarn workspaces focus --all --production failed"; }
grep -E 'YN0009' "$tmp/logs/prod-focus.log" >&2 && log "note: some package failed to build in the production install (log: $tmp/logs/prod-focus.log)"
#   COPY examples ./examples ; COPY packages/backend/dist/bundle.tar.gz app-config*.yaml ./ ; RUN tar xzf bundle.tar.gz
cp -a "$app/examples" "$prod/examples"
cp "$app/packages/backend/dist/bundle.tar.gz" "$prod/"
for f in "$app"/app-config*.yaml; do case "$f" in *.local.yaml) ;; *) cp "$f" "$prod/" ;; esac; done
(cd "$prod" && tar xzf bundle.tar.gz && rm bundle.tar.gz)
say "production install: yarn workspaces focus --all --production on node $(env -i "${prod_env[@]}" node --version) in $prod (outside the app)"
say "production install: packages of ours in node_modules: $(cd "$prod/node_modules" && ls -d proxy-sigv4-native* backstage-plugin-proxy-sigv4-* backstage-plugin-scaffolder-backend-module-proxy-sigv4 2>/dev/null | tr '\n' ' ')"

phase "production backend: start and requests"
prod_port="$(e2e_run node "$tmp/upstream/free-port.cjs")"
# The Dockerfile's CMD names app-config.production.yaml; the template's points at PostgreSQL,
# so the local test gives app-config.local.yaml (what a mounted config would be in a container).
write_local_config "$prod/app-config.local.yaml" "$prod_port"
start_bg "$tmp/logs/backend-prod.log" env -i "${prod_env[@]}" "${aws_env[@]}" \
  sh -c "cd '$prod' && exec node packages/backend --config app-config.yaml --config app-config.local.yaml"
prod_pid=$bg_pid
wait_http "http://127.0.0.1:$prod_port/.backstage/health/v1/readiness" 200 "$prod_pid" "$tmp/logs/backend-prod.log" "$start_timeout" "production backend"
report_addon "$prod_pid" "production"
e2e_run node "$tmp/upstream/check.mjs" --base "http://127.0.0.1:$prod_port" --token "$static_token" \
  --bad-token "$bad_token" --upstream-log "$tmp/upstream/requests.jsonl" --label "production" \
  --out "$tmp/results/production.json" | tee "$tmp/logs/check-prod.log" \
  || die "production backend: checks failed (backend log: $tmp/logs/backend-prod.log)"
summary+=("$(cat "$tmp/logs/check-prod.log")")
check_scaffolder_actions "http://127.0.0.1:$prod_port" "production"
stop_bg "$prod_pid" "production backend"
stop_bg "$upstream_pid" "verifying upstream"

# ---------------------------------------------------------------------------------------------
phase "production folder: no path back to the build"
# Nothing in the production folder's lockfile, manifests, node_modules or symlinks may name the
# app it was built from, the dist folder, or the repository.
leak_patterns=("$tmp" "$dist" "$E2E_REPO")
[ "$E2E_REPO" = /work/main ] || leak_patterns+=(/work/main)
grep_args=()
for p in "${leak_patterns[@]}"; do grep_args+=(-e "$p"); done
# Source maps are left out: the frontend bundle's (packages/app/dist/static/*.map, built by
# build:backend) name JSON modules by their absolute build path; they are never read at run time.
leaks="$(cd "$prod" && grep -rIlF --exclude='*.map' "${grep_args[@]}" yarn.lock package.json packages node_modules .yarnrc.yml 2>/dev/null | head -n 20 || true)"
maps="$(cd "$prod" && grep -rIlF --include='*.map' "${grep_args[@]}" packages node_modules 2>/dev/null | wc -l || true)"
links="$(find "$prod" -type l -printf '%p -> %l\n' | grep -F "${grep_args[@]}" | head -n 20 || true)"
if [ -n "$leaks$links" ]; then
  printf '%s\n' "$leaks" "$links" >&2
  die "the production folder points back at the build (listed above)"
fi
say "production folder: no file in yarn.lock, package.json, packages/, node_modules/ names ${leak_patterns[*]}; no symlink points there"
[ "$maps" = 0 ] || say "production folder: note: $maps source map(s) name the build folder in their sources list (Backstage's frontend bundle; not read at run time)"
while IFS= read -r line; do
  say "production yarn.lock: ${line}"
done < <(grep -E '^  resolution: "(proxy-sigv4-native|backstage-plugin-proxy-sigv4-backend|backstage-plugin-proxy-sigv4-node|backstage-plugin-scaffolder-backend-module-proxy-sigv4)[^"]*@' "$prod/yarn.lock" | sed 's/^  resolution: //; s/#.*//; s/"//g')

# ---------------------------------------------------------------------------------------------
if [ "$copy_mode" = link ]; then
  phase "cached app untouched"
  e2e_check_app_untouched "$app_src" "$tmp/start-stamp"
fi
ok=1
if [ "${E2E_KEEP:-0}" = 1 ]; then
  log "E2E_KEEP=1: keeping $tmp and $prod"
else
  phase "cleanup (rm -rf temp folders)"
  rm -rf "$tmp" "$prod"
fi
phase_end

printf '\n==== proxy-sigv4 e2e: what this run proved ====\n'
printf '%s\n' "${summary[@]}"
printf '\n==== timings ====\n'
phase_report
