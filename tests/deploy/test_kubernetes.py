"""deploy/kubernetes: valid against the Kubernetes schemas, and wired to the service as it is:
probe paths are routes, ports line up, every MSCDS_ name is a setting, the ConfigMap loads,
the preStop hook matches the drain delay, secrets stay out of the ConfigMap, and the
NetworkPolicy lets out only what the settings point at."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import kubernetes_validate
import orjson
import pytest
import yaml
from fastapi.testclient import TestClient

from service.config import Settings, check_auth, load_settings
from service.http.app import create_app
from service.http.shutdown import DEFAULT_GRACEFUL_TIMEOUT_S
from tests.service.auth_helpers import ec_key, jwks

ROOT = Path(__file__).resolve().parents[2]
KUBE = ROOT / "deploy" / "kubernetes"
HAPROXY = ROOT / "deploy" / "haproxy" / "haproxy.cfg"
EXAMPLE_SECRETS = KUBE / "secrets.example.yaml"
# Read by the libraries under the service, not by it: set for the read-only root filesystem.
NOT_SETTINGS = {"MPLCONFIGDIR", "PYTHONDONTWRITEBYTECODE"}
# The oldest Kubernetes release still supported by the major clouds, and the newest known here.
VERSIONS = ("1.29.0", kubernetes_validate.latest_version())


def documents(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


MANIFESTS = sorted(p for p in KUBE.glob("*.yaml") if p.name != "kustomization.yaml")
ALL = {(p.name, d["kind"], d["metadata"]["name"]): d for p in MANIFESTS for d in documents(p)}


def one(kind: str) -> dict[str, Any]:
    found = [d for (_, k, _), d in ALL.items() if k == kind]
    assert len(found) == 1, (kind, len(found))
    return found[0]


DEPLOYMENT = one("Deployment")
POD = DEPLOYMENT["spec"]["template"]["spec"]
[CONTAINER] = POD["containers"]
CONFIG = one("ConfigMap")["data"]
SECRETS = {d["metadata"]["name"]: d["stringData"] for d in documents(EXAMPLE_SECRETS)}


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("key", list(ALL), ids=lambda k: f"{k[0]}:{k[1]}")
def test_every_manifest_validates_against_the_kubernetes_schemas(
    key: tuple[str, str, str], version: str
) -> None:
    kubernetes_validate.validate(ALL[key], version, strict=True)  # raises on any problem


def test_a_manifest_with_a_mistake_is_refused() -> None:
    broken = orjson.loads(orjson.dumps(DEPLOYMENT))
    broken["spec"]["replicas"] = "three"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, VERSIONS[-1], strict=True)
    broken = orjson.loads(orjson.dumps(DEPLOYMENT))
    broken["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {}  # a typo
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, VERSIONS[-1], strict=True)


def test_kustomization_applies_every_manifest_but_the_example_secrets() -> None:
    [kustomization] = documents(KUBE / "kustomization.yaml")
    listed = set(kustomization["resources"])
    assert listed == {p.name for p in MANIFESTS} - {EXAMPLE_SECRETS.name}
    assert {d["kind"] for d in ALL.values()} >= {
        "Deployment",
        "Service",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "ConfigMap",
        "NetworkPolicy",
        "Secret",
    }


# --- wiring to the service ------------------------------------------------------------------


def _env_names() -> set[str]:
    return set(CONFIG) | {e["name"] for e in CONTAINER["env"]}


def test_every_mscds_name_is_a_setting_of_service_config() -> None:
    names = _env_names()
    prefix = Settings.model_config["env_prefix"]
    settings = {f"{prefix}{field}".upper() for field in Settings.model_fields}
    ours = {n for n in names if n.startswith(prefix)}
    assert ours - settings == set()
    assert names - ours == NOT_SETTINGS


def test_the_configmap_with_the_secrets_loads_and_passes_the_start_up_checks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys_mount = _mount_path("issuer-keys")
    for name in SECRETS["ms-backpain-cds-issuer-keys"]:
        (tmp_path / name).write_bytes(orjson.dumps(jwks(ec_key())))  # a real public key
    for name, value in CONFIG.items():
        monkeypatch.setenv(name, value.replace(keys_mount, str(tmp_path)))
    for entry in CONTAINER["env"]:
        ref = entry.get("valueFrom", {}).get("secretKeyRef")
        value = SECRETS[ref["name"]][ref["key"]] if ref else entry["value"]
        monkeypatch.setenv(entry["name"], value)
    settings = load_settings()
    check_auth(settings)  # MSCDS_AUTH=jwt with an issuer and a public base URL
    assert settings.auth == "jwt"
    assert settings.async_database_url.startswith("postgresql+asyncpg://")
    assert settings.redis_url.startswith("redis://")
    [issuer] = settings.trusted_issuers
    assert issuer.jwks_file is not None
    assert issuer.jwks_file.name in SECRETS["ms-backpain-cds-issuer-keys"]


def test_credentials_come_from_secrets_not_the_configmap() -> None:
    from_secrets = {e["name"] for e in CONTAINER["env"] if "secretKeyRef" in e.get("valueFrom", {})}
    assert from_secrets == {
        "MSCDS_DATABASE_URL",
        "MSCDS_REDIS_URL",
        "MSCDS_ADMIN_TOKEN",
        "MSCDS_METRICS_TOKEN",
    }
    assert not from_secrets & set(CONFIG)
    for entry in CONTAINER["env"]:
        ref = entry.get("valueFrom", {}).get("secretKeyRef")
        if ref:
            assert ref["key"] in SECRETS[ref["name"]], ref
    volumes = {v["name"]: v for v in POD["volumes"]}
    assert volumes["issuer-keys"]["secret"]["secretName"] in SECRETS


def test_probe_paths_are_routes_that_answer(tmp_path: Path) -> None:
    probes = {
        kind: CONTAINER[kind]["httpGet"]["path"]
        for kind in ("startupProbe", "readinessProbe", "livenessProbe")
    }
    assert probes["readinessProbe"] == "/health/ready"
    assert probes["livenessProbe"] == "/health"
    haproxy = HAPROXY.read_text()
    assert "uri /health/ready " in haproxy and "uri /health " in haproxy
    app = create_app(Settings(data_dir=tmp_path, auth="off"))
    routes = {getattr(r, "path", None) for r in app.routes}
    assert set(probes.values()) <= routes
    with TestClient(app) as client:
        for path in probes.values():
            assert client.get(path).status_code == 200, path


def test_ports_line_up() -> None:
    [port] = CONTAINER["ports"]
    default = Settings.model_fields["port"].default
    assert port["containerPort"] == int(CONFIG["MSCDS_PORT"]) == default
    assert f"EXPOSE {port['containerPort']}" in (ROOT / "Dockerfile").read_text()
    assert CONFIG["MSCDS_HOST"] == "0.0.0.0"  # the pod's address, not only its loopback
    for kind in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert CONTAINER[kind]["httpGet"]["port"] == port["name"]
    [service_port] = one("Service")["spec"]["ports"]
    assert service_port["targetPort"] == port["name"]
    [ingress] = one("NetworkPolicy")["spec"]["ingress"]
    assert [p["port"] for p in ingress["ports"]] == [port["name"]]


def test_the_pre_stop_hook_matches_the_shutdown_delay() -> None:
    delay = float(CONFIG["MSCDS_SHUTDOWN_DELAY_S"])
    command = CONTAINER["lifecycle"]["preStop"]["exec"]["command"]
    assert command[0] == "sleep" and float(command[1]) == delay
    needed = float(command[1]) + delay + DEFAULT_GRACEFUL_TIMEOUT_S
    assert POD["terminationGracePeriodSeconds"] >= needed
    readiness = CONTAINER["readinessProbe"]
    # the kubelet's own probe sees a stopping replica as not ready within the drain delay
    assert readiness["periodSeconds"] * readiness["failureThreshold"] <= delay


def test_haproxy_marks_a_stopping_replica_down_within_the_default_drain_delay() -> None:
    text = HAPROXY.read_text()
    ready_backend = text.split("\nbackend replicas")[1].split("\nbackend ")[0]
    options = dict(re.findall(r"\b(inter|fastinter|fall|rise) (\w+)", ready_backend))

    def seconds(value: str) -> float:
        return float(value[:-2]) / 1000 if value.endswith("ms") else float(value.rstrip("s"))

    # The first failed check at most `inter` after SIGTERM, the others `fastinter` apart (a
    # stopping replica answers its check at once, with 503); half the delay to spare.
    worst = seconds(options["inter"]) + (int(options["fall"]) - 1) * seconds(options["fastinter"])
    assert worst <= Settings.model_fields["shutdown_delay_s"].default / 2
    assert "retry-on conn-failure\n" in text  # never a retry that would replay a used jti


def test_the_pod_runs_as_the_images_user_on_a_read_only_root() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    uid = re.search(r"useradd [^\n]*--uid (\d+)", dockerfile)
    assert uid is not None
    assert POD["securityContext"]["runAsUser"] == int(uid.group(1))
    assert POD["securityContext"]["runAsNonRoot"] is True
    container = CONTAINER["securityContext"]
    assert container["readOnlyRootFilesystem"] is True
    assert container["allowPrivilegeEscalation"] is False
    assert container["capabilities"]["drop"] == ["ALL"]
    volumes = {v["name"]: v for v in POD["volumes"]}
    tmp = next(m for m in CONTAINER["volumeMounts"] if m["mountPath"] == "/tmp")
    assert "emptyDir" in volumes[tmp["name"]]
    env = {e["name"]: e.get("value") for e in CONTAINER["env"]}
    assert env["MPLCONFIGDIR"].startswith("/tmp/")
    # with PostgreSQL the service writes no file: no writable MSCDS_DATA_DIR is mounted
    assert not any(m["mountPath"] == "/data" for m in CONTAINER["volumeMounts"])


def _mount_path(volume: str) -> str:
    return next(m["mountPath"] for m in CONTAINER["volumeMounts"] if m["name"] == volume)


def test_the_image_is_the_one_the_dockerfile_builds() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    tag = re.search(r"docker build -t ([\w.-]+)", (ROOT / "Dockerfile").read_text())
    assert tag is not None
    assert CONTAINER["image"] == f"{tag.group(1)}:{project['version']}"
    assert CONTAINER.get("command") is None and CONTAINER.get("args") is None  # its CMD: serve


def test_every_selector_finds_the_pods() -> None:
    labels = DEPLOYMENT["spec"]["template"]["metadata"]["labels"]

    def selects(selector: dict[str, str]) -> bool:
        return all(labels.get(k) == v for k, v in selector.items())

    assert DEPLOYMENT["spec"]["replicas"] == 3
    assert selects(DEPLOYMENT["spec"]["selector"]["matchLabels"])
    assert selects(one("Service")["spec"]["selector"])
    assert selects(one("PodDisruptionBudget")["spec"]["selector"]["matchLabels"])
    assert selects(one("NetworkPolicy")["spec"]["podSelector"]["matchLabels"])
    hpa = one("HorizontalPodAutoscaler")["spec"]
    assert hpa["scaleTargetRef"]["name"] == DEPLOYMENT["metadata"]["name"]
    assert hpa["minReplicas"] == DEPLOYMENT["spec"]["replicas"]
    assert CONTAINER["resources"]["requests"]["cpu"]  # the HPA's utilisation is of the request


def test_egress_goes_only_to_dns_postgres_redis_and_the_fhir_servers() -> None:
    policy = one("NetworkPolicy")["spec"]
    assert set(policy["policyTypes"]) == {"Ingress", "Egress"}
    allowed = {(p["port"], p["protocol"]) for rule in policy["egress"] for p in rule["ports"]}
    database = urlsplit(SECRETS["ms-backpain-cds-database"]["url"]).port
    redis = urlsplit(SECRETS["ms-backpain-cds-redis"]["url"]).port
    fhir = {urlsplit(u).port or 443 for u in orjson.loads(CONFIG["MSCDS_FHIR_SERVERS"])}
    assert {urlsplit(u).scheme for u in orjson.loads(CONFIG["MSCDS_FHIR_SERVERS"])} == {"https"}
    wanted = {(53, "UDP"), (53, "TCP"), (database, "TCP"), (redis, "TCP")}
    wanted |= {(port, "TCP") for port in fhir}
    assert allowed == wanted
    assert all(rule.get("to") for rule in policy["egress"])  # no rule open to every address
