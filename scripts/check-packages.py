"""Checks the tarballs scripts/pack.sh wrote, as a registry would receive them.

For each tarball: the package.json has no file:, link: or workspace: dependency, and the files
are exactly what the package needs at run time. For each platform package: its .node is of the
platform's format and architecture (`file`), and its dynamic dependencies are the platform's
C library only: glibc symbol versions at most the floor for -gnu, musl's loader for -musl, and
libSystem for darwin (Node itself provides the N-API symbols, so they are undefined here).
Prints what it checked; exits 1 on the first package that fails.

Usage: python3 scripts/check-packages.py DIST_DIR [GLIBC_FLOOR]
"""
import json
import re
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

PLATFORMS = {
    # key: (`file` must say, architecture words)
    "linux-x64-gnu": ("ELF 64-bit LSB shared object", "x86-64"),
    "linux-arm64-gnu": ("ELF 64-bit LSB shared object", "ARM aarch64"),
    "linux-x64-musl": ("ELF 64-bit LSB shared object", "x86-64"),
    "linux-arm64-musl": ("ELF 64-bit LSB shared object", "ARM aarch64"),
    "darwin-x64": ("Mach-O 64-bit", "x86_64"),
    "darwin-arm64": ("Mach-O 64-bit", "arm64"),
}
NATIVE = "proxy-sigv4-native"
# The Backstage packages, each depending on one of ours (the addon, or the node library) by a
# semver range.
NODE_LIBRARY = "backstage-plugin-proxy-sigv4-node"
PLUGINS = ["backstage-plugin-proxy-sigv4-backend", NODE_LIBRARY, "backstage-plugin-scaffolder-backend-module-proxy-sigv4"]
LOCAL_SPEC = re.compile(r"^(file|link|workspace|portal):")


def fail(message):
    print(f"check-packages: FAILED: {message}", file=sys.stderr)
    sys.exit(1)


def read_tarball(path):
    with tarfile.open(path) as tar:
        files = sorted(m.name.removeprefix("package/") for m in tar.getmembers() if m.isfile())
        manifest = json.load(tar.extractfile("package/package.json"))
        blobs = {m.name.removeprefix("package/"): tar.extractfile(m).read() for m in tar.getmembers() if m.name.endswith(".node")}
    return manifest, files, blobs


def check_no_local_dependencies(path, manifest):
    for field in ("dependencies", "optionalDependencies", "peerDependencies", "devDependencies"):
        for name, spec in (manifest.get(field) or {}).items():
            if LOCAL_SPEC.match(spec):
                fail(f"{path.name}: {field}.{name} is '{spec}'")


def glibc_versions(binary):
    """The GLIBC_x.y versions the binary's undefined symbols need."""
    text = subprocess.run(["objdump", "-T", str(binary)], capture_output=True, text=True, check=True).stdout
    return sorted({tuple(map(int, v.split("."))) for v in re.findall(r"GLIBC_(\d+\.\d+(?:\.\d+)?)", text)})


def elf_needed(binary):
    text = subprocess.run(["readelf", "-d", str(binary)], capture_output=True, text=True, check=True).stdout
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", text)


def macho_dylibs(binary):
    text = subprocess.run(["llvm-objdump", "--macho", "--dylibs-used", str(binary)], capture_output=True, text=True, check=True).stdout
    return [line.split(" (")[0].strip() for line in text.splitlines()[1:] if line.strip()]


def check_binary(key, name, blob, glibc_floor):
    expected_format, expected_arch = PLATFORMS[key]
    with tempfile.NamedTemporaryFile(suffix=".node") as tmp:
        tmp.write(blob)
        tmp.flush()
        description = subprocess.run(["file", "-b", tmp.name], capture_output=True, text=True, check=True).stdout.strip()
        if expected_format not in description or expected_arch not in description:
            fail(f"{name}: `file` says '{description}', expected {expected_format} {expected_arch}")
        if key.startswith("darwin"):
            own_id, *libs = macho_dylibs(tmp.name)
            if own_id != f"@rpath/proxy-sigv4.{key}.node":
                fail(f"{name}: its install name is {own_id}, a path of the build machine")
            if any(not lib.startswith(("/usr/lib/", "/System/Library/Frameworks/")) for lib in libs):
                fail(f"{name}: links {libs}; only system libraries are expected")
            deps = f"dylibs {', '.join(libs)}"
        else:
            needed = elf_needed(tmp.name)
            deps = f"NEEDED {', '.join(needed)}"
            if key.endswith("-gnu"):
                newest = max(glibc_versions(tmp.name), default=(0,))
                floor = tuple(map(int, glibc_floor.split(".")))
                if newest > floor:
                    fail(f"{name}: needs GLIBC_{'.'.join(map(str, newest))}, above the floor {glibc_floor}")
                if any("musl" in lib for lib in needed):
                    fail(f"{name}: a glibc build links {needed}")
                deps += f"; newest glibc symbol version {'.'.join(map(str, newest))} (floor {glibc_floor})"
            elif not any("musl" in lib or lib == "libc.so" for lib in needed):
                fail(f"{name}: a musl build links {needed}, no musl libc")
        print(f"  {name}: {description.split(',')[0]}, {expected_arch}; {deps}")


def main():
    dist = Path(sys.argv[1])
    glibc_floor = sys.argv[2] if len(sys.argv) > 2 else "2.28"
    tarballs = sorted(dist.glob("*.tgz"))
    print(f"check-packages: {len(tarballs)} tarballs in {dist}")
    seen = {}
    for path in tarballs:
        manifest, files, blobs = read_tarball(path)
        check_no_local_dependencies(path, manifest)
        seen[manifest["name"]] = manifest
        print(f"- {path.name}: {', '.join(files)}")
        for key in PLATFORMS:
            if manifest["name"] == f"{NATIVE}-{key}":
                if files != sorted(["README.md", "package.json", f"proxy-sigv4.{key}.node"]):
                    fail(f"{path.name}: unexpected files {files}")
                check_binary(key, path.name, blobs[f"proxy-sigv4.{key}.node"], glibc_floor)
    wanted = [f"{NATIVE}-{key}" for key in PLATFORMS] + [NATIVE, *PLUGINS]
    missing = [name for name in wanted if name not in seen]
    if missing:
        fail(f"missing packages: {', '.join(missing)}")
    native = seen[NATIVE]
    versions = {name: seen[name]["version"] for name in wanted}
    if len(set(versions.values())) != 1:
        fail(f"versions differ: {versions}")
    optional = native.get("optionalDependencies") or {}
    if optional != {f"{NATIVE}-{key}": native["version"] for key in PLATFORMS}:
        fail(f"{NATIVE}'s optionalDependencies are {optional}")
    for plugin in PLUGINS:
        ours = {name: spec for name, spec in seen[plugin]["dependencies"].items() if name in (NATIVE, NODE_LIBRARY)}
        if not ours:
            fail(f"{plugin} depends on neither {NATIVE} nor {NODE_LIBRARY}")
        for name, spec in ours.items():
            if not re.match(r"^[\^~]?\d+\.\d+\.\d+$", spec):
                fail(f"{plugin} depends on {name} by '{spec}', not a semver range")
    print(f"check-packages: all {len(wanted)} packages at {native['version']}, no local dependencies")


if __name__ == "__main__":
    main()
