"""Kubernetes manifests in ``k8s/``: checked offline against the MPI Operator's CRD and rules.

What is covered:

* every ``MPIJob`` document against the v2beta1 ``openAPIV3Schema`` of the real CRD
  (``../shared/k8s/kubeflow.org_mpijobs.yaml``, skipped when absent), made strict: null values
  dropped as the API server does, and ``additionalProperties: false`` added wherever a schema
  lists ``properties`` without saying anything about other keys, so that misspelt field names
  are rejected. The CRD types the embedded pod templates in full (no
  ``x-kubernetes-preserve-unknown-fields`` anywhere, which a test asserts), so the containers,
  volumes and security contexts are checked field by field as well;
* the rules the operator enforces in code (its ``validation.go``): only ``Launcher`` and
  ``Worker`` replica keys, exactly one Launcher replica, at least one Worker,
  ``restartPolicy`` Never or OnFailure, ``cleanPodPolicy`` None, Running or All;
* the project's rules: non-root pods, ``launcherCreationPolicy: WaitForWorkersReady``, CPU and
  memory requests and limits on every container, the hostfile passed to mpirun explicitly
  (OpenMPI 5 ignores the operator's environment variable), ``-n`` equal to workers x slots, the
  job file mounted from a ConfigMap of these manifests whose key holds a TOML job file, and the
  result written to a mounted PersistentVolumeClaim of these manifests.

What is not: ``metadata`` beyond a valid name (the CRD leaves ObjectMeta untyped; the API server
checks it), the ConfigMap and PVC documents against Kubernetes' own schemas (not available
offline; only the project's rules apply to them), quantity values beyond the CRD's pattern,
admission policies of a real cluster, and whether the image runs (no Docker here).
"""

from __future__ import annotations

import copy
import re
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

yaml = pytest.importorskip("yaml", reason="PyYAML (the `test` extra) reads the manifests")
jsonschema = pytest.importorskip("jsonschema", reason="jsonschema (the `test` extra) is missing")

ROOT = Path(__file__).resolve().parents[1]
K8S = ROOT / "k8s"
CRD = ROOT / ".." / "shared" / "k8s" / "kubeflow.org_mpijobs.yaml"
DEMO_JOB = ROOT / "jobs" / "demo.toml"
HOSTFILE = "/etc/mpi/hostfile"

REPLICA_KEYS = {"Launcher", "Worker"}
RESTART_POLICIES = {"Never", "OnFailure"}
CLEAN_POD_POLICIES = {"None", "Running", "All"}
_DNS1123 = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


# ---------------------------------------------------------------------------------------------
# loading


def _manifests() -> list[tuple[str, dict[str, Any]]]:
    """Every document of every ``k8s/*.yaml``, labelled ``file#index``."""
    docs = []
    for path in sorted(K8S.glob("*.yaml")):
        with path.open() as fh:
            for i, doc in enumerate(yaml.safe_load_all(fh)):
                if doc is not None:
                    docs.append((f"{path.name}#{i}", doc))
    return docs


def _of_kind(kind: str) -> list[tuple[str, dict[str, Any]]]:
    return [(label, doc) for label, doc in _manifests() if doc.get("kind") == kind]


def _drop_nulls(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _drop_nulls(v) for k, v in node.items() if v is not None}
    if isinstance(node, list):
        return [_drop_nulls(v) for v in node if v is not None]
    return node


def _strict(node: Any) -> Any:
    """Close every object schema that lists its properties, unless it keeps unknown fields."""
    if isinstance(node, list):
        return [_strict(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: _strict(v) for k, v in node.items()}
    if (
        isinstance(out.get("properties"), dict)
        and "additionalProperties" not in out
        and not out.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    return out


def _has_preserve_unknown(node: Any) -> bool:
    if isinstance(node, dict):
        if node.get("x-kubernetes-preserve-unknown-fields"):
            return True
        return any(_has_preserve_unknown(v) for v in node.values())
    if isinstance(node, list):
        return any(_has_preserve_unknown(v) for v in node)
    return False


@pytest.fixture(scope="module")
def crd_schema() -> dict[str, Any]:
    """The v2beta1 openAPIV3Schema of the MPIJob CRD, as published (nulls dropped)."""
    if not CRD.is_file():
        pytest.skip(f"MPIJob CRD not found at {CRD} (reference material beside the project)")
    crd = yaml.safe_load(CRD.read_text())
    for version in crd["spec"]["versions"]:
        if version["name"] == "v2beta1":
            return _drop_nulls(version["schema"]["openAPIV3Schema"])
    pytest.fail(f"{CRD} has no v2beta1 version")


@pytest.fixture(scope="module")
def validator(crd_schema: dict[str, Any]) -> Any:
    schema = _strict(crd_schema)
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator)
    cls.check_schema(schema)
    return cls(schema)


# ---------------------------------------------------------------------------------------------
# rules


def schema_errors(validator: Any, doc: dict[str, Any]) -> list[str]:
    """Schema violations of an MPIJob document, as ``path: message`` strings."""
    return [
        f"{'/'.join(str(p) for p in err.absolute_path)}: {err.message}"
        for err in validator.iter_errors(_drop_nulls(doc))
    ]


def operator_errors(doc: dict[str, Any]) -> list[str]:
    """The MPI Operator's own checks, which the CRD schema does not express."""
    errors = []
    spec = doc.get("spec", {})
    replicas = spec.get("mpiReplicaSpecs") or {}
    extra = set(replicas) - REPLICA_KEYS
    if extra:
        errors.append(f"mpiReplicaSpecs: unknown replica type(s) {sorted(extra)}")
    launcher = replicas.get("Launcher")
    if launcher is None:
        errors.append("mpiReplicaSpecs.Launcher: missing")
    elif launcher.get("replicas", 1) != 1:
        errors.append(f"mpiReplicaSpecs.Launcher.replicas: must be 1, not {launcher['replicas']}")
    worker = replicas.get("Worker")
    if worker is None or worker.get("replicas", 1) < 1:
        errors.append("mpiReplicaSpecs.Worker.replicas: need at least 1 worker")
    for name, rspec in replicas.items():
        policy = (rspec or {}).get("restartPolicy")
        if policy is not None and policy not in RESTART_POLICIES:
            errors.append(
                f"mpiReplicaSpecs.{name}.restartPolicy: {policy!r} not in Never/OnFailure"
            )
    clean = (spec.get("runPolicy") or {}).get("cleanPodPolicy")
    if clean is not None and clean not in CLEAN_POD_POLICIES:
        errors.append(f"runPolicy.cleanPodPolicy: {clean!r} not in None/Running/All")
    return errors


_UNITS = {
    "m": 1e-3,
    "": 1.0,
    "k": 1e3,
    "M": 1e6,
    "G": 1e9,
    "T": 1e12,
    "Ki": 2.0**10,
    "Mi": 2.0**20,
    "Gi": 2.0**30,
    "Ti": 2.0**40,
}


def _quantity(value: str | int | float) -> float:
    match = re.fullmatch(r"([0-9.]+)([a-zA-Z]*)", str(value))
    if not match or match.group(2) not in _UNITS:
        raise ValueError(f"unsupported quantity {value!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def _containers(rspec: dict[str, Any]) -> list[dict[str, Any]]:
    pod = (rspec.get("template") or {}).get("spec") or {}
    return list(pod.get("initContainers") or []) + list(pod.get("containers") or [])


def _flag_value(argv: list[str], *flags: str) -> str | None:
    for i, arg in enumerate(argv):
        for flag in flags:
            if arg == flag and i + 1 < len(argv):
                return argv[i + 1]
            if arg.startswith(flag + "="):
                return arg.split("=", 1)[1]
    return None


def project_errors(doc: dict[str, Any], others: list[dict[str, Any]]) -> list[str]:
    """xiphpc's rules for an MPIJob; `others` are the other documents of ``k8s/``."""
    errors = []
    name = doc.get("metadata", {}).get("name", "")
    if not _DNS1123.match(name) or len(name) > 63:
        errors.append(f"metadata.name: {name!r} is not a DNS-1123 label")
    spec = doc.get("spec", {})
    if spec.get("launcherCreationPolicy") != "WaitForWorkersReady":
        errors.append("spec.launcherCreationPolicy: must be WaitForWorkersReady")
    if "slotsPerWorker" not in spec:
        errors.append("spec.slotsPerWorker: must be set")
    if "cleanPodPolicy" not in (spec.get("runPolicy") or {}):
        errors.append("spec.runPolicy.cleanPodPolicy: must be set")
    replicas = spec.get("mpiReplicaSpecs") or {}
    for rname, rspec in replicas.items():
        rspec = rspec or {}
        where = f"mpiReplicaSpecs.{rname}"
        if "restartPolicy" not in rspec:
            errors.append(f"{where}.restartPolicy: must be set")
        pod = (rspec.get("template") or {}).get("spec") or {}
        pod_sc = pod.get("securityContext") or {}
        for c in _containers(rspec):
            c_sc = c.get("securityContext") or {}
            user = c_sc.get("runAsUser", pod_sc.get("runAsUser"))
            non_root = c_sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot"))
            if non_root is not True or user in (None, 0):
                errors.append(
                    f"{where} container {c.get('name')}: runAsNonRoot and a non-zero runAsUser"
                )
            if c_sc.get("privileged") or c_sc.get("allowPrivilegeEscalation", True):
                errors.append(
                    f"{where} container {c.get('name')}: allowPrivilegeEscalation must be false"
                )
            res = c.get("resources") or {}
            for kind in ("requests", "limits"):
                for resource in ("cpu", "memory"):
                    if resource not in (res.get(kind) or {}):
                        errors.append(
                            f"{where} container {c.get('name')}: {kind}.{resource} missing"
                        )
            for resource in ("cpu", "memory"):
                try:
                    req = _quantity(res["requests"][resource])
                    lim = _quantity(res["limits"][resource])
                except (KeyError, TypeError, ValueError):
                    continue
                if req > lim:
                    errors.append(f"{where} container {c.get('name')}: {resource} request > limit")
        if spec.get("sshAuthMountPath", "/root/.ssh").startswith("/root"):
            errors.append("spec.sshAuthMountPath: must be in the non-root user's home")

    launcher = replicas.get("Launcher") or {}
    worker = replicas.get("Worker") or {}
    lcont = _containers(launcher)
    argv = (
        [str(a) for a in (lcont[-1].get("command") or []) + (lcont[-1].get("args") or [])]
        if lcont
        else []
    )
    if not argv or Path(argv[0]).name not in ("mpirun", "mpiexec"):
        errors.append("Launcher: the launcher container must run mpirun")
        return errors
    if _flag_value(argv, "--hostfile", "-hostfile", "--machinefile") != HOSTFILE:
        errors.append(f"Launcher: mpirun needs --hostfile {HOSTFILE} (OpenMPI 5 ignores the env)")
    ranks = _flag_value(argv, "-n", "-np", "--np", "--n")
    try:
        expected = int(worker.get("replicas", 1)) * int(spec.get("slotsPerWorker", 1))
        ranks_ok = ranks is not None and int(ranks) == expected
    except (TypeError, ValueError):
        # A non-integer field: the schema reports it.
        expected, ranks_ok = None, False
    if not ranks_ok:
        errors.append(f"Launcher: mpirun -n {ranks} != workers x slotsPerWorker = {expected}")
    if "run" not in argv:
        errors.append("Launcher: mpirun must start `xiphpc run`")
        return errors
    run_args = argv[argv.index("run") + 1 :]
    job_path = run_args[0] if run_args else ""
    out_path = _flag_value(run_args, "--out", "-o")

    # The ranks run on the workers: the job file and the result volume must be mounted there.
    wpod = (worker.get("template") or {}).get("spec") or {}
    volumes = {v.get("name"): v for v in wpod.get("volumes") or []}
    mounts = [m for c in _containers(worker) for m in c.get("volumeMounts") or []]
    configmaps = {d["metadata"]["name"]: d for d in others if d.get("kind") == "ConfigMap"}
    claims = {d["metadata"]["name"] for d in others if d.get("kind") == "PersistentVolumeClaim"}

    job_ok = False
    for mount in mounts:
        volume = volumes.get(mount.get("name")) or {}
        cm_ref = volume.get("configMap")
        if not cm_ref or not job_path.startswith(mount["mountPath"].rstrip("/") + "/"):
            continue
        rel = job_path[len(mount["mountPath"].rstrip("/")) + 1 :]
        items = {i["path"]: i["key"] for i in cm_ref.get("items") or []}
        key = items.get(rel, rel if not cm_ref.get("items") else None)
        cm = configmaps.get(cm_ref.get("name"))
        if cm is None:
            errors.append(f"ConfigMap {cm_ref.get('name')!r} is not in k8s/")
        elif key is None or key not in (cm.get("data") or {}):
            errors.append(f"ConfigMap {cm_ref.get('name')!r} has no key for {job_path}")
        else:
            try:
                tomllib.loads(cm["data"][key])
            except tomllib.TOMLDecodeError as exc:
                errors.append(f"ConfigMap {cm_ref['name']!r} key {key!r}: not TOML ({exc})")
            else:
                job_ok = True
    if not job_ok and not any(e.startswith("ConfigMap") for e in errors):
        errors.append(f"Worker: job file {job_path!r} is not mounted from a ConfigMap")

    out_ok = False
    for mount in mounts:
        volume = volumes.get(mount.get("name")) or {}
        claim = (volume.get("persistentVolumeClaim") or {}).get("claimName")
        if claim and out_path and out_path.startswith(mount["mountPath"].rstrip("/") + "/"):
            if claim not in claims:
                errors.append(f"PersistentVolumeClaim {claim!r} is not in k8s/")
            elif mount.get("readOnly"):
                errors.append(f"Worker: result volume {claim!r} is mounted read-only")
            else:
                out_ok = True
    if not out_ok and not any(e.startswith("PersistentVolumeClaim") for e in errors):
        errors.append(f"Worker: result {out_path!r} is not on a mounted PersistentVolumeClaim")
    return errors


def all_errors(validator: Any, doc: dict[str, Any], others: list[dict[str, Any]]) -> list[str]:
    return schema_errors(validator, doc) + operator_errors(doc) + project_errors(doc, others)


# ---------------------------------------------------------------------------------------------
# tests


def test_manifests_present() -> None:
    """k8s/ holds at least one MPIJob, and every document names its kind and API version."""
    docs = _manifests()
    assert _of_kind("MPIJob"), "no MPIJob manifest in k8s/"
    for label, doc in docs:
        assert doc.get("apiVersion") and doc.get("kind"), label
        assert _DNS1123.match(doc.get("metadata", {}).get("name", "")), label
    for label, doc in _of_kind("MPIJob"):
        assert doc["apiVersion"] == "kubeflow.org/v2beta1", label


def test_crd_types_pod_templates(crd_schema: dict[str, Any]) -> None:
    """No part of the v2beta1 schema keeps unknown fields: strict checking reaches the pod
    templates (if a newer CRD preserved them, misspellings there would pass unseen)."""
    assert not _has_preserve_unknown(crd_schema)
    template = crd_schema["properties"]["spec"]["properties"]["mpiReplicaSpecs"][
        "additionalProperties"
    ]["properties"]["template"]
    assert "containers" in template["properties"]["spec"]["properties"]


@pytest.mark.parametrize("label", [label for label, _ in _of_kind("MPIJob")])
def test_mpijob_valid(label: str, validator: Any) -> None:
    """Each MPIJob passes the strict CRD schema, the operator's rules and the project's."""
    docs = dict(_manifests())
    doc = docs[label]
    others = [d for lbl, d in docs.items() if lbl != label]
    assert all_errors(validator, doc, others) == []


def test_configmap_matches_demo_job() -> None:
    """The ConfigMap carries the demo job file itself (not a drifting copy)."""
    if not DEMO_JOB.is_file():
        pytest.skip("jobs/demo.toml not present yet")
    demo = tomllib.loads(DEMO_JOB.read_text())
    found = [
        tomllib.loads(text)
        for _, cm in _of_kind("ConfigMap")
        for key, text in (cm.get("data") or {}).items()
        if key == "demo.toml"
    ]
    assert found, "no ConfigMap with key demo.toml"
    for job in found:
        assert job == demo


def _mpijob() -> tuple[dict[str, Any], list[dict[str, Any]]]:
    (label, doc), *_ = _of_kind("MPIJob")
    others = [d for lbl, d in _manifests() if lbl != label]
    return copy.deepcopy(doc), others


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def apply(doc: dict[str, Any]) -> None:
        node = doc
        keys = path.split(".")
        for key in keys[:-1]:
            node = node[int(key)] if isinstance(node, list) else node[key]
        node[keys[-1]] = value

    return apply


def _rename(path: str, old: str, new: str) -> Callable[[dict[str, Any]], None]:
    def apply(doc: dict[str, Any]) -> None:
        node = doc
        for key in path.split(".") if path else []:
            node = node[int(key)] if isinstance(node, list) else node[key]
        node[new] = node.pop(old)

    return apply


def _extra_replica(doc: dict[str, Any]) -> None:
    doc["spec"]["mpiReplicaSpecs"]["Server"] = copy.deepcopy(
        doc["spec"]["mpiReplicaSpecs"]["Worker"]
    )


def _drop_hostfile(doc: dict[str, Any]) -> None:
    args = doc["spec"]["mpiReplicaSpecs"]["Launcher"]["template"]["spec"]["containers"][0]["args"]
    i = args.index("--hostfile")
    del args[i : i + 2]


LAUNCHER_C = "spec.mpiReplicaSpecs.Launcher.template.spec.containers.0"
WORKER_POD = "spec.mpiReplicaSpecs.Worker.template.spec"

BROKEN = {
    "misspelt spec field": (_rename("spec", "slotsPerWorker", "slotPerWorker"), "slotPerWorker"),
    "misspelt container field": (
        _rename(LAUNCHER_C, "imagePullPolicy", "imagePullPolice"),
        "imagePullPolice",
    ),
    "misspelt pod field": (
        _rename(WORKER_POD, "securityContext", "securityContexts"),
        "securityContexts",
    ),
    "wrong type": (_set("spec.slotsPerWorker", "one"), "slotsPerWorker"),
    "two launchers": (_set("spec.mpiReplicaSpecs.Launcher.replicas", 2), "must be 1"),
    "zero workers": (_set("spec.mpiReplicaSpecs.Worker.replicas", 0), "at least 1 worker"),
    "restartPolicy Always": (
        _set("spec.mpiReplicaSpecs.Worker.restartPolicy", "Always"),
        "not in Never/OnFailure",
    ),
    "bad cleanPodPolicy": (
        _set("spec.runPolicy.cleanPodPolicy", "Sometimes"),
        "not in None/Running/All",
    ),
    "extra replica key": (_extra_replica, "unknown replica type"),
    "launcher at startup": (
        _set("spec.launcherCreationPolicy", "AtStartup"),
        "WaitForWorkersReady",
    ),
    "root worker": (_set(f"{WORKER_POD}.securityContext.runAsUser", 0), "runAsNonRoot"),
    "no limits": (
        _set(f"{LAUNCHER_C}.resources", {"requests": {"cpu": "1", "memory": "1Gi"}}),
        "limits.cpu missing",
    ),
    "request over limit": (
        _set(f"{WORKER_POD}.containers.0.resources.requests.memory", "4Gi"),
        "memory request > limit",
    ),
    "no hostfile": (_drop_hostfile, "--hostfile"),
    "rank count": (_set("spec.mpiReplicaSpecs.Worker.replicas", 3), "mpirun -n 2"),
    "configmap key": (
        _set(f"{WORKER_POD}.volumes.0.configMap.items.0.key", "other.toml"),
        "has no key",
    ),
    "unknown configmap": (_set(f"{WORKER_POD}.volumes.0.configMap.name", "nope"), "is not in k8s/"),
    "no results claim": (
        _set(f"{WORKER_POD}.volumes.1.persistentVolumeClaim.claimName", "nope"),
        "PersistentVolumeClaim 'nope'",
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_variants_rejected(case: str, validator: Any) -> None:
    """Each single breakage of the demo MPIJob is caught, by the rule meant to catch it."""
    doc, others = _mpijob()
    mutate, expected = BROKEN[case]
    mutate(doc)
    errors = all_errors(validator, doc, others)
    assert any(expected in e for e in errors), errors


def test_broken_configmap_toml_rejected(validator: Any) -> None:
    """A ConfigMap whose job key is not TOML is caught."""
    doc, others = _mpijob()
    others = copy.deepcopy(others)
    for other in others:
        if other.get("kind") == "ConfigMap":
            other["data"] = {k: "name = \n" for k in other["data"]}
    errors = all_errors(validator, doc, others)
    assert any("not TOML" in e for e in errors), errors


def test_persistent_volume_claim_shared() -> None:
    """The results claim can be mounted by workers on different nodes."""
    claims = _of_kind("PersistentVolumeClaim")
    assert claims
    for label, claim in claims:
        assert "ReadWriteMany" in claim["spec"]["accessModes"], label
        assert claim["spec"]["resources"]["requests"]["storage"], label


# ---------------------------------------------------------------------------------------------
# the image (read, not built: no Docker here)

DOCKERFILE = K8S / "Dockerfile"


def _dockerfile_stages() -> list[list[str]]:
    """The instructions of each stage of ``k8s/Dockerfile``, continuation lines joined and
    comments dropped."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text())
    stages: list[list[str]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("FROM "):
            stages.append([])
        if stages:
            stages[-1].append(line)
    return stages


def _ignored(path: str, patterns: list[str]) -> bool:
    """Whether a context path is left out by dockerignore `patterns` (last match wins; a
    pattern that matches a folder leaves out what it holds)."""
    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    ignored = False
    for pattern in patterns:
        keep = pattern.startswith("!")
        glob = pattern.lstrip("!").strip("/")
        regex = re.escape(glob).replace(r"\*\*/", "(.*/)?").replace(r"\*", "[^/]*")
        if any(re.fullmatch(regex, p) for p in prefixes):
            ignored = not keep
    return ignored


def test_image_installs_the_wheel() -> None:
    """The build stage builds xiphpc's wheel and installs that file, never the source tree and
    never editable; the runtime stage takes the environment from it, not the sources."""
    build, runtime = _dockerfile_stages()
    runs = [i for i in build if i.startswith("RUN ")]
    assert any(re.search(r"pip wheel .*--no-deps .*--wheel-dir (\S+) /src", r) for r in runs)
    assert any(re.search(r"pip install [^&]*\.whl", r) for r in runs), runs
    assert not any(re.search(r"pip install [^&]*(\s-e\s|--editable|\s/src(\s|$))", r) for r in runs)
    copies = [i for i in runtime if i.startswith("COPY ")]
    assert "COPY --from=build /opt/venv /opt/venv" in copies
    assert not any("/src" in c or "/dist" in c for c in copies), copies


def test_image_context_holds_what_the_build_reads() -> None:
    """What the Dockerfile copies exists, and the dockerignore keeps what building the wheel
    and running the demo read: pyproject.toml, README.md, every module, the sbatch templates
    and the job files."""
    patterns = [
        ln.strip()
        for ln in (K8S / "Dockerfile.dockerignore").read_text().splitlines()
        if ln.strip() and not ln.startswith("#")
    ]
    for stage in _dockerfile_stages():
        for copy_ in (i.split() for i in stage if i.startswith("COPY ")):
            if not any(a.startswith("--from") for a in copy_):
                for source in (a for a in copy_[1:-1] if not a.startswith("--")):
                    assert (ROOT / source).exists(), source
    needed = ["pyproject.toml", "README.md", "jobs/demo.toml"]
    needed += [p.relative_to(ROOT).as_posix() for p in (ROOT / "xiphpc").rglob("*.py")]
    needed += [
        p.relative_to(ROOT).as_posix()
        for p in (ROOT / "xiphpc" / "scheduler" / "templates").glob("*.sbatch.in")
    ]
    assert not [p for p in needed if _ignored(p, patterns)]
    assert _ignored(".venv/bin/python", patterns) and _ignored("xiphpc/__pycache__/x.pyc", patterns)
    assert _ignored("results/demo.h5", patterns) and _ignored("demo.h5", patterns)
