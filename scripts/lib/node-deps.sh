# Sourced by scripts that need the workspace's JavaScript dependencies.
# install_node_deps DIR: npm ci in DIR only when its package-lock.json or Node's ABI (native
# modules such as better-sqlite3 are built for one) changed since the last install there.
install_node_deps() {
  local dir="$1" stamp="$1/node_modules/.proxy-sigv4-lock" wanted
  wanted="$(cat "$dir/package-lock.json"; echo "node ABI $(node -p process.versions.modules)")"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted" ]; then return; fi
  echo "==> npm ci in $dir" >&2
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  printf '%s\n' "$wanted" > "$stamp"
}
