"""Offline checks of the deployment files (run by scripts/check-deploy.sh, which prepares the
inputs): the resolved compose file, the rendered Kubernetes manifests, .env.example and the
Dockerfiles agree with each other and with the binaries.

Environment variables are checked against what each binary actually reads: the `[env: NAME=]`
markers clap prints in the help of every (sub)command, so a variable that is renamed or
removed in the code fails here instead of being silently ignored in a deployment.

Kubernetes objects are checked against the models of the official Python client, which are
strict (every field known, of the right type, required fields present) and then for the references between them
(selectors, ports, probes, Secret keys, ConfigMap keys, the HPA target).

Usage: check_deploy.py --compose FILE --k8s FILE --verdict BIN [--trainer BIN]
Exits 1 listing every problem found.
"""

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
# Read by libraries rather than by clap: tracing's filter, Rust's backtraces.
NON_CLAP_VARS = {"RUST_LOG", "RUST_BACKTRACE"}
PROBLEMS = []


def problem(message):
    PROBLEMS.append(message)


def clap_env_vars(binary, path=()):
    """Every `[env: NAME=]` in the help of `binary` and all its subcommands, recursively."""
    clean = {k: v for k, v in os.environ.items() if not re.match(r"^(VERDICT|POLICY_TRAINER)_", k)}
    text = subprocess.run([binary, *path, "--help"], capture_output=True, text=True, env=clean, check=True).stdout
    names = set(re.findall(r"\[env: ([A-Z0-9_]+)=", text))
    in_commands = False
    for line in text.splitlines():
        if line.strip() == "Commands:":
            in_commands = True
            continue
        if in_commands:
            match = re.match(r"^  (\S+)", line)
            if not match:
                break
            if match.group(1) != "help":
                names |= clap_env_vars(binary, (*path, match.group(1)))
    return names


# --- Kubernetes: schema from the official client's models ---------------------------------


def k8s_model(api_version, kind):
    import kubernetes.client as models

    version = api_version.split("/")[-1]
    name = version[0].upper() + version[1:] + kind
    return getattr(models, name, None)


def check_schema(doc, model, where):
    """The client's models are strict pydantic models: unknown fields, wrong types and missing
    required fields all fail validation, with the path to the offending field."""
    import pydantic

    try:
        model.model_validate(doc)
    except pydantic.ValidationError as error:
        for err in error.errors():
            problem(f"{where}: {'.'.join(map(str, err['loc']))}: {err['msg']}")


def check_k8s(docs, verdict_vars, config_text):
    objects = {}
    for doc in docs:
        where = f"{doc.get('kind')}/{doc.get('metadata', {}).get('name')}"
        model = k8s_model(doc.get("apiVersion", ""), doc.get("kind", ""))
        if model is None:
            problem(f"{where}: unknown apiVersion/kind {doc.get('apiVersion')} {doc.get('kind')}")
            continue
        check_schema(doc, model, where)
        objects[(doc["kind"], doc["metadata"]["name"])] = doc
    if PROBLEMS:
        return  # the references below assume well-formed objects

    deployments = [d for (kind, _), d in objects.items() if kind == "Deployment"]
    if len(deployments) != 1:
        return problem(f"k8s: expected one Deployment, found {len(deployments)}")
    deployment = deployments[0]
    name = deployment["metadata"]["name"]
    pod = deployment["spec"]["template"]
    pod_labels = pod["metadata"].get("labels", {})

    def selects(selector, where):
        if not selector or any(pod_labels.get(k) != v for k, v in selector.items()):
            problem(f"{where}: selector {selector} does not select the pods (labels {pod_labels})")

    selects(deployment["spec"]["selector"].get("matchLabels"), f"Deployment/{name}")
    containers = pod["spec"]["containers"]
    container = next((c for c in containers if c["name"] == "verdict"), None)
    if container is None:
        return problem("Deployment: no container named verdict")
    port_names = {p.get("name") for p in container.get("ports", [])}
    port_numbers = {p["containerPort"] for p in container.get("ports", [])}

    for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
        get = container.get(probe, {}).get("httpGet")
        if not get or get.get("path") != path:
            problem(f"Deployment: {probe} must GET {path}")
        elif get.get("port") not in port_names | port_numbers:
            problem(f"Deployment: {probe} port {get.get('port')} is not a container port")

    # Environment: every name is one verdict reads; references resolve.
    env_names = set()
    for entry in container.get("env", []):
        env_names.add(entry["name"])
        ref = entry.get("valueFrom", {}).get("secretKeyRef") or entry.get("valueFrom", {}).get("configMapKeyRef")
        if ref:
            kind = "Secret" if "secretKeyRef" in entry["valueFrom"] else "ConfigMap"
            target = objects.get((kind, ref["name"]))
            keys = set((target or {}).get("data", {})) | set((target or {}).get("stringData", {}))
            if ref["key"] not in keys:
                problem(f"Deployment: env {entry['name']} refers to {kind}/{ref['name']} key {ref['key']}, which does not exist")
    for source in container.get("envFrom", []):
        for kind, key in (("Secret", "secretRef"), ("ConfigMap", "configMapRef")):
            if key in source:
                target = objects.get((kind, source[key]["name"]), {})
                env_names |= set(target.get("data", {})) | set(target.get("stringData", {}))
    for var in sorted(env_names - verdict_vars - NON_CLAP_VARS):
        problem(f"Deployment: env {var} is not read by verdict")
    if "VERDICT_DATABASE_URL" not in env_names:
        problem("Deployment: VERDICT_DATABASE_URL is not set")
    listen = next((e.get("value") for e in container.get("env", []) if e["name"] == "VERDICT_LISTEN"), None)
    if listen and int(listen.rsplit(":", 1)[1]) not in port_numbers:
        problem(f"Deployment: VERDICT_LISTEN {listen} is not a declared container port")

    # The config file: mounted from the ConfigMap where VERDICT_CONFIG says, same text as compose's.
    config_path = next((e.get("value") for e in container.get("env", []) if e["name"] == "VERDICT_CONFIG"), None)
    if config_path:
        volumes = {v["name"]: v for v in pod["spec"].get("volumes", [])}
        mount = next((m for m in container.get("volumeMounts", []) if m["mountPath"] == os.path.dirname(config_path)), None)
        cm_name = mount and volumes.get(mount["name"], {}).get("configMap", {}).get("name")
        cm = objects.get(("ConfigMap", cm_name or ""), {})
        text = cm.get("data", {}).get(os.path.basename(config_path))
        if text is None:
            problem(f"Deployment: VERDICT_CONFIG {config_path} is not a key of a mounted ConfigMap")
        elif text != config_text:
            problem(f"ConfigMap/{cm_name}: {os.path.basename(config_path)} differs from deploy/verdict.toml")

    if "cpu" not in container.get("resources", {}).get("requests", {}):
        problem("Deployment: no CPU request, which the HPA's utilisation target is relative to")

    for (kind, obj_name), obj in objects.items():
        if kind == "Service":
            selects(obj["spec"].get("selector"), f"Service/{obj_name}")
            for port in obj["spec"]["ports"]:
                if port.get("targetPort", port["port"]) not in port_names | port_numbers:
                    problem(f"Service/{obj_name}: targetPort {port.get('targetPort')} is not a container port")
        elif kind == "HorizontalPodAutoscaler":
            ref = obj["spec"]["scaleTargetRef"]
            if (ref["kind"], ref["name"]) != ("Deployment", name):
                problem(f"HorizontalPodAutoscaler/{obj_name}: scales {ref['kind']}/{ref['name']}, not Deployment/{name}")
            if not any(m.get("resource", {}).get("name") == "cpu" for m in obj["spec"].get("metrics", [])):
                problem(f"HorizontalPodAutoscaler/{obj_name}: no CPU metric")
        elif kind == "PodDisruptionBudget":
            selects(obj["spec"]["selector"].get("matchLabels"), f"PodDisruptionBudget/{obj_name}")
    for kind in ("Service", "HorizontalPodAutoscaler", "ConfigMap", "Secret"):
        if not any(k == kind for k, _ in objects):
            problem(f"k8s: no {kind}")


# --- Compose, .env.example, Dockerfiles ----------------------------------------------------


def check_compose(compose, verdict_vars, trainer_vars):
    services = compose.get("services", {})
    verdict = services.get("verdict")
    if verdict is None:
        return problem("compose: no verdict service")
    if "container_name" in verdict or verdict.get("ports"):
        problem("compose: verdict must have no container_name and no published ports, or --scale cannot run replicas")
    for var in sorted(set(verdict.get("environment", {})) - verdict_vars - NON_CLAP_VARS):
        problem(f"compose: verdict's environment sets {var}, which verdict does not read")
    config_path = verdict.get("environment", {}).get("VERDICT_CONFIG")
    if config_path:
        targets = [str(v).split(":")[1] if isinstance(v, str) else v.get("target") for v in verdict.get("volumes", [])]
        if config_path not in targets:
            problem(f"compose: VERDICT_CONFIG {config_path} is not mounted into verdict")
    conditions = verdict.get("depends_on", {})
    if not isinstance(conditions, dict) or conditions.get("postgres", {}).get("condition") != "service_healthy":
        problem("compose: verdict must wait for a healthy postgres")
    if "healthcheck" not in services.get("postgres", {}):
        problem("compose: postgres has no healthcheck")
    for profile in ("cpu", "gpu"):
        trainers = [n for n, s in services.items() if profile in s.get("profiles", [])]
        if not trainers:
            problem(f"compose: no service in profile {profile}")
        for trainer in trainers:
            env = set(services[trainer].get("environment", {}))
            if trainer_vars is None:
                continue
            for var in sorted(env - trainer_vars - NON_CLAP_VARS):
                problem(f"compose: {trainer}'s environment sets {var}, which policy-trainer does not read")
    gpu = [s for s in services.values() if "gpu" in s.get("profiles", [])]
    devices = [d for s in gpu for d in s.get("deploy", {}).get("resources", {}).get("reservations", {}).get("devices", [])]
    if not any("gpu" in d.get("capabilities", []) for d in devices):
        problem("compose: the gpu profile reserves no NVIDIA device")


def check_mounts(compose):
    """Bind-mounted files and folders exist (a typo would make Docker create an empty folder)."""
    for name, service in compose.get("services", {}).items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0] if isinstance(volume, str) else volume.get("source", "")
            if source.startswith("/") and not Path(source).exists():
                problem(f"compose: {name} mounts {source}, which does not exist")


def check_dockerfile_copies(path):
    """Every `COPY` from the build context names something that exists and .dockerignore keeps."""
    ignored = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines() if line.strip() and not line.startswith("#")]
    joined = (ROOT / path).read_text().replace("\\\n", " ")
    for line in joined.splitlines():
        words = line.split()
        if not words or words[0] != "COPY" or any(w.startswith("--from") for w in words):
            continue
        for source in [w for w in words[1:-1] if not w.startswith("--")]:
            if source == ".":
                continue
            if not (ROOT / source).exists():
                problem(f"{path}: COPY {source}: no such file in the repository")
            if any(source == pattern or source.startswith(pattern.rstrip("/") + "/") for pattern in ignored):
                problem(f"{path}: COPY {source}: excluded by .dockerignore")


def check_trainer_configs(compose):
    """The configs the trainer services and the no-Docker pipeline name exist (the images copy
    policy-trainer/configs/ to configs/)."""
    named = {"configs/tiny.toml"}  # scripts/pipeline-no-docker.sh
    for service in compose.get("services", {}).values():
        command = service.get("command") or []
        if "--config" in command:
            named.add(command[command.index("--config") + 1])
    for config in sorted(named):
        if not (ROOT / "policy-trainer" / config).is_file():
            problem(f"policy-trainer/{config} is named by the deployment but does not exist")


def check_env_example(env_text, compose_text):
    defined = re.findall(r"^([A-Z][A-Z0-9_]*)=", env_text, re.M)
    referenced = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", compose_text))
    for var in defined:
        if var not in referenced and not var.startswith("COMPOSE_"):
            problem(f".env.example: {var} is not used by docker-compose.yml")
        # Every variable is explained by the comment above it (one comment may cover a group).
        above = [line for line in env_text.split(f"\n{var}=")[0].splitlines() if not re.match(r"^[A-Z][A-Z0-9_]*=", line)]
        if not above or not above[-1].startswith("#"):
            problem(f".env.example: {var} has no comment explaining it")
    for var in sorted(referenced - set(defined)):
        problem(f"docker-compose.yml: ${{{var}}} is not in .env.example")


def check_dockerfile_env(path, allowed, prefix):
    text = (ROOT / path).read_text()
    joined = text.replace("\\\n", " ")
    for line in joined.splitlines():
        if line.startswith("ENV "):
            for var in re.findall(r"\b(" + prefix + r"[A-Z0-9_]+)=", line):
                if var not in allowed:
                    problem(f"{path}: ENV {var} is not read by the binary")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--compose", required=True, help="output of `docker-compose config` with every profile")
    parser.add_argument("--k8s", required=True, help="output of `kubectl kustomize deploy/k8s`")
    parser.add_argument("--verdict", required=True)
    parser.add_argument("--trainer")
    args = parser.parse_args()

    verdict_vars = clap_env_vars(args.verdict)
    if "VERDICT_DATABASE_URL" not in verdict_vars:
        problem(f"verdict help lists no VERDICT_DATABASE_URL; found {sorted(verdict_vars)}")
    trainer_vars = clap_env_vars(args.trainer) if args.trainer else None
    print(f"check-deploy: verdict reads {', '.join(sorted(verdict_vars))}")
    if trainer_vars is not None:
        print(f"check-deploy: policy-trainer reads {', '.join(sorted(trainer_vars)) or 'nothing'}")

    compose = yaml.safe_load(Path(args.compose).read_text())
    check_compose(compose, verdict_vars, trainer_vars)
    check_env_example((ROOT / ".env.example").read_text(), (ROOT / "docker-compose.yml").read_text())
    check_mounts(compose)
    check_dockerfile_env("Dockerfile", verdict_vars, "VERDICT_")
    check_dockerfile_copies("Dockerfile")
    if trainer_vars is not None:
        for dockerfile in ("policy-trainer/Dockerfile", "policy-trainer/Dockerfile.cuda"):
            check_dockerfile_env(dockerfile, trainer_vars, "POLICY_TRAINER_")
            check_dockerfile_copies(dockerfile)
        check_trainer_configs(compose)
    docs = [d for d in yaml.safe_load_all(Path(args.k8s).read_text()) if d]
    check_k8s(docs, verdict_vars, (ROOT / "deploy/verdict.toml").read_text())

    if PROBLEMS:
        for message in PROBLEMS:
            print(f"check-deploy: {message}", file=sys.stderr)
        sys.exit(1)
    print(f"check-deploy: compose, .env.example, Dockerfiles and {len(docs)} Kubernetes objects agree")


if __name__ == "__main__":
    main()
