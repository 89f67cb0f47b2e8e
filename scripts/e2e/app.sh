#!/usr/bin/env bash
# Scaffolds a fresh Backstage app with @backstage/create-app (pinned in lib.sh), ONCE, into
#   ${PROXY_SIGV4_CACHE:-$HOME/.cache/proxy-sigv4}/app-<create-app version>/app
# with Node 22 and Yarn 4 from tools.sh, exactly as a new user would:
#   BACKSTAGE_APP_NAME=app backstage-create-app --path DIR   (runs `yarn install` and `yarn tsc`)
# and records what made it in app-<version>/e2e-app.env. run.sh copies that app; it never
# changes the cached one. A rerun finds the record and returns at once; delete the folder to
# scaffold again. Prints the app's path on stdout.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

app_cache="$E2E_CACHE/app-$E2E_CREATE_APP_VERSION"
record="$app_cache/e2e-app.env"
if [ -f "$record" ] && [ -f "$app_cache/app/package.json" ]; then
  log "cached app: $app_cache/app (made by: $(grep -E '^(CREATE_APP|NODE|YARN|BACKSTAGE_RELEASE)=' "$record" | tr '\n' ' '))"
  printf '%s\n' "$app_cache/app"
  exit 0
fi

"$E2E_DIR/tools.sh" >/dev/null
# create-app itself, from the registry, pinned (npx would pick whatever its cache holds).
create_app_dir="$E2E_TOOLS/create-app-$E2E_CREATE_APP_VERSION"
e2e_npm_install_once "$create_app_dir" "@backstage/create-app@$E2E_CREATE_APP_VERSION"
create_app_bin="$create_app_dir/node_modules/@backstage/create-app/bin/backstage-create-app"
[ -f "$create_app_bin" ] || die "no create-app bin at $create_app_bin"

# create-app refuses Node 20 and needs yarn (and python3 for node-gyp) on PATH.
e2e_clean_env 22
partial="$app_cache.partial"
rm -rf "$partial"
mkdir -p "$partial"
log "scaffolding with @backstage/create-app@$E2E_CREATE_APP_VERSION (node $E2E_NODE22_VERSION, yarn $E2E_YARN_VERSION): a few minutes, log in ${partial#"$E2E_CACHE"/}/create-app.log"
start=$SECONDS
# create-app builds in os.tmpdir() and moves the result to --path; it runs `yarn install` (which
# compiles better-sqlite3 & co. with node-gyp) and `yarn tsc`. 45 min bound for a busy machine.
if ! (cd "$partial" && e2e_run BACKSTAGE_APP_NAME=app timeout 2700 node "$create_app_bin" --path "$partial/app") \
  > "$partial/create-app.log" 2>&1; then
  tail -n 40 "$partial/create-app.log" >&2
  die "create-app failed (full log: $partial/create-app.log)"
fi
seconds=$((SECONDS - start))
[ -f "$partial/app/packages/backend/package.json" ] || die "create-app made no packages/backend"

json_field() { e2e_run node -p "require('$1').$2"; }
cat > "$partial/e2e-app.env" <<EOF
# What made the cached app (written by scripts/e2e/app.sh).
CREATE_APP=$E2E_CREATE_APP_VERSION
NODE=$(e2e_run node --version)
YARN=$(cd "$partial/app" && e2e_run yarn --version)
BACKSTAGE_RELEASE=$(json_field "$partial/app/backstage.json" version)
BACKEND_DEFAULTS=$(json_field "$partial/app/node_modules/@backstage/backend-defaults/package.json" version)
BACKEND_PLUGIN_API=$(json_field "$partial/app/node_modules/@backstage/backend-plugin-api/package.json" version)
PACKAGE_MANAGER=$(json_field "$partial/app/package.json" packageManager)
CREATED_AT=$(date -u +%Y-%m-%dT%H:%M:%SZ)
SCAFFOLD_SECONDS=$seconds
EOF
# The app is complete only once the record exists; move both into place together.
rm -rf "$app_cache"
mv "$partial" "$app_cache"
log "app scaffolded in ${seconds}s: $app_cache/app"
sed 's/^/    /' "$record" | grep -v '^    #' >&2
printf '%s\n' "$app_cache/app"
