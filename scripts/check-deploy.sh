#!/usr/bin/env bash
# Offline checks of the deployment files, run by CI (.ci/run); no container engine or cluster
# needed:
#   - `docker-compose config` (Debian's docker-compose package, installed when missing and
#     root) resolves docker-compose.yml with .env.example, with and without the trainer profiles;
#   - `kubectl kustomize deploy/k8s` renders the Kubernetes set;
#   - scripts/check_deploy.py checks both against the official Kubernetes client's schemas,
#     the references between objects, and every environment variable they set against the
#     ones verdict and policy-trainer read (asked from the binaries' own --help);
#   - verdict loads deploy/verdict.toml (the ConfigMap's text).
# Extra arguments go to cargo build (e.g. --locked).
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "check-deploy: $*"; }

if ! command -v docker-compose >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing Debian's docker-compose (apt-get install docker-compose)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker-compose >/dev/null
  else
    say "docker-compose is missing (Debian package docker-compose)" >&2
    exit 1
  fi
fi
if ! command -v kubectl >/dev/null 2>&1; then
  say "kubectl is missing; it renders deploy/k8s (kubectl kustomize) offline" >&2
  exit 1
fi

# The Kubernetes client's models are the schema; the venv is rebuilt only when the pin changes.
k8s_client="kubernetes==37.0.2"
venv="${VERDICT_DEPLOY_VENV:-$HOME/.cache/verdict/deploy-venv-$(echo "$k8s_client" | sha256sum | cut -c1-12)}"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import kubernetes, yaml' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "$k8s_client"
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

say "docker-compose config (default services, then with the cpu and gpu profiles)"
docker-compose --env-file .env.example config -q
docker-compose --env-file .env.example --profile cpu --profile gpu config >"$work/compose.yml"
# The required passwords really are required: without them compose refuses to start.
if docker-compose --env-file deploy/docker/empty.env config -q 2>/dev/null; then
  say "docker-compose.yml accepts an empty .env: the passwords must be required" >&2
  exit 1
fi

say "kubectl kustomize deploy/k8s"
kubectl kustomize deploy/k8s >"$work/k8s.yml"

cargo build --quiet --bin verdict "$@"
target_dir="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
verdict="$target_dir/debug/verdict"
trainer_args=()
if cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; sys.exit(0 if any(p["name"] == "policy-trainer" for p in json.load(sys.stdin)["packages"]) else 1)'; then
  cargo build --quiet -p policy-trainer --bin policy-trainer "$@"
  trainer_args=(--trainer "$target_dir/debug/policy-trainer")
else
  echo "check-deploy: ##############################################################" >&2
  echo "check-deploy: SKIPPED the policy-trainer checks: the crate is not in this workspace" >&2
  echo "check-deploy: ##############################################################" >&2
fi

say "verdict accepts deploy/verdict.toml"
"$verdict" check --input /dev/null --config deploy/verdict.toml >/dev/null

"$venv/bin/python" scripts/check_deploy.py --compose "$work/compose.yml" --k8s "$work/k8s.yml" \
  --verdict "$verdict" "${trainer_args[@]}"

for script in scripts/*.sh deploy/docker/verdict-healthcheck deploy/postgres/initdb/*.sh; do
  bash -n "$script"
done
say "ok"
