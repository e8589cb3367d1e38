#!/usr/bin/env bash
# Builds the stand-in images examples/containers uses, from the Debian root filesystem of
# .ci/debian-rootfs.sh (nginx-light, redis-server), and pushes them to the loopback registry under
# the names the example pulls: docker.io/library/nginx:1.27 and docker.io/library/redis:7 (the
# registry stands in for docker.io, see .ci/runtimes.sh). They start as the official images do:
# nginx in the foreground serving /usr/share/nginx/html on port 80, redis-server on 6379 without
# protected mode (the official entrypoint's behaviour) in /data.
#
#   .ci/images.sh up    build and push what the registry lacks; idempotent (called by runtimes.sh up)
#
# An image already in the registry is not rebuilt (the registry's storage is the cache); one that
# is missing is rebuilt, so nothing relies on the cache. Needs root and a running registry.
set -euo pipefail

REGISTRY=${KAIDU_CI_REGISTRY:-127.0.0.1:5000}
# The Debian tree as an image, tagged by the tree's name (which changes with its package list).
BASE=
NGINX=library/nginx:1.27
REDIS=library/redis:7

log() { printf 'images: %s\n' "$*" >&2; }
die() { printf 'images: error: %s\n' "$*" >&2; exit 1; }

in_registry() {
  local path=${1%%:*} tag=${1##*:}
  curl -fs -o /dev/null -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
    "http://$REGISTRY/v2/$path/manifests/$tag"
}

# The Debian tree as one image layer (imported from a tar stream: the cached tree is never changed).
base() {
  local rootfs
  rootfs=$(bash "$(dirname "$0")/debian-rootfs.sh" path) || die "no Debian root filesystem"
  BASE=localhost/kaidu-ci-debian:$(basename "$rootfs")
  podman image exists "$BASE" && return 0
  log "importing $rootfs as $BASE"
  tar -C "$rootfs" --numeric-owner -c . | podman import -q - "$BASE" >/dev/null
}

# build <name:tag> <context dir>: build from the context's Containerfile and push it.
build_push() {
  local image=$1 ctx=$2
  log "building docker.io/$image"
  podman build -q --pull=never -t "localhost/kaidu-ci-$image" -f "$ctx/Containerfile" "$ctx" >/dev/null
  podman push -q --format v2s2 --tls-verify=false "localhost/kaidu-ci-$image" "$REGISTRY/$image"
}

nginx_image() {
  local ctx
  ctx=$(mktemp -d)
  cat >"$ctx/default" <<'CONF'
# The official image's default server: /usr/share/nginx/html on port 80, logs to the container's output.
server {
	listen 80 default_server;
	listen [::]:80 default_server;
	root /usr/share/nginx/html;
	index index.html index.htm;
	access_log /dev/stdout;
	error_log stderr;
	location / {
		try_files $uri $uri/ =404;
	}
}
CONF
  mkdir -p "$ctx/html"
  printf '<!doctype html>\n<title>Welcome to nginx!</title>\n<h1>Welcome to nginx!</h1>\n' >"$ctx/html/index.html"
  cat >"$ctx/Containerfile" <<CF
FROM $BASE
COPY default /etc/nginx/sites-available/default
COPY html/ /usr/share/nginx/html/
EXPOSE 80
STOPSIGNAL SIGQUIT
CMD ["nginx", "-g", "daemon off;"]
CF
  build_push "$NGINX" "$ctx"
  rm -rf "$ctx"
}

redis_image() {
  local ctx
  ctx=$(mktemp -d)
  # As the official image's entrypoint: a bare `redis-server ...` listens on every address
  # without protected mode (the container's network is the boundary).
  cat >"$ctx/entrypoint.sh" <<'SH'
#!/bin/sh
set -e
if [ "${1#-}" != "$1" ] || [ "${1%.conf}" != "$1" ]; then set -- redis-server "$@"; fi
if [ "$1" = redis-server ]; then shift; set -- redis-server --protected-mode no "$@"; fi
exec "$@"
SH
  chmod 0755 "$ctx/entrypoint.sh"
  cat >"$ctx/Containerfile" <<CF
FROM $BASE
COPY entrypoint.sh /usr/local/bin/docker-entrypoint.sh
WORKDIR /data
EXPOSE 6379
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["redis-server"]
CF
  build_push "$REDIS" "$ctx"
  rm -rf "$ctx"
}

up() {
  [[ $(id -u) -eq 0 ]] || die "needs root"
  curl -fsS -o /dev/null "http://$REGISTRY/v2/" || die "the registry $REGISTRY does not answer (run .ci/runtimes.sh up)"
  if ! in_registry "$NGINX" || ! in_registry "$REDIS"; then base; fi
  in_registry "$NGINX" || nginx_image
  in_registry "$REDIS" || redis_image
  log "up: docker.io/$NGINX, docker.io/$REDIS in $REGISTRY"
}

case ${1:-} in
  up) up ;;
  *) echo "usage: $0 up" >&2; exit 2 ;;
esac
