#!/usr/bin/env bash
# Builds the real control plane the controlplane test tier starts (etcd,
# kube-apiserver, kube-scheduler, kube-controller-manager) from the Go
# modules pinned in this directory's go.mod, into target/controlplane/bin/.
# Built once; built again only when the pins (go.mod, go.sum), this script
# or the Go toolchain change: target/controlplane/stamp records what the
# binaries were built from. Go's module and build caches are Go's defaults.
#
#   tests/controlplane/build.sh          # build if the stamp is stale
#   tests/controlplane/build.sh --force  # build again
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$(cd "$here/../.." && pwd)/target/controlplane"
bin="$out/bin"
cd "$here"

command -v go >/dev/null 2>&1 || {
  echo "build.sh: go is missing: the control plane is built from Go modules" >&2
  exit 1
}

kube=$(awk '$1 == "k8s.io/kubernetes" { print $2; exit }' go.mod)
etcd=$(awk '$1 == "go.etcd.io/etcd/server/v3" { print $2; exit }' go.mod)
stamp_now=$(
  {
    echo "kubernetes $kube"
    echo "etcd $etcd"
    go version
    sha256sum go.mod go.sum tools.go build.sh
  } | sha256sum | cut -d' ' -f1
)
components="etcd kube-apiserver kube-scheduler kube-controller-manager"
have_all=yes
for c in $components; do [ -x "$bin/$c" ] || have_all=no; done
if [ "${1:-}" != "--force" ] && [ "$have_all" = yes ] && [ -f "$out/stamp" ] &&
  [ "$(cat "$out/stamp")" = "$stamp_now" ]; then
  echo "control plane: kubernetes $kube, etcd $etcd already built in $bin"
  exit 0
fi

start=$(date +%s)
rm -f "$out/stamp"
mkdir -p "$bin"
# What Kubernetes' own build (hack/lib/version.sh) stamps in, so that
# /version and the components' compatibility version say $kube.
minor=${kube#v1.}
minor=${minor%%.*}
build_date=$(date -u +%Y-%m-%dT%H:%M:%SZ)
kube_ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  kube_ldflags+=" -X $pkg.gitVersion=$kube -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
  kube_ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$build_date"
done
export CGO_ENABLED=0
echo "control plane: building kubernetes $kube and etcd $etcd with $(go version)"
go mod download
for c in kube-apiserver kube-scheduler kube-controller-manager; do
  echo "  $c"
  go build -trimpath -ldflags "$kube_ldflags" -o "$bin/$c.new" "k8s.io/kubernetes/cmd/$c"
  mv "$bin/$c.new" "$bin/$c"
done
echo "  etcd"
go build -trimpath -ldflags "-s -w" -o "$bin/etcd.new" go.etcd.io/etcd/server/v3
mv "$bin/etcd.new" "$bin/etcd"
echo "$kube" >"$out/kubernetes-version"
echo "$stamp_now" >"$out/stamp"
took=$(($(date +%s) - start))
echo "control plane: built in ${took}s: $(du -sh "$bin" | cut -f1) in $bin"
