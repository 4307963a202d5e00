"""The Kubernetes workload rules (policy/workloads.py): each one catches the flaw it exists for on a copy of
the real prod graph, broken on purpose. That every rule holds on every stack is tests/policy/test_policy.py's
job; that the pack runs them is tests/delivery/test_policy_pack.py's."""

from __future__ import annotations

import base64
import copy
import dataclasses
from collections.abc import Callable
from typing import Any

import pytest

from policy import PolicyResource, Violation, check_all, check_rule
from policy.workloads import WORKLOAD_RULES

pytestmark = pytest.mark.infra

DEPLOYMENT = "kubernetes:apps/v1:Deployment"
JOB = "kubernetes:batch/v1:Job"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
SECRET = "kubernetes:core/v1:Secret"
NAMESPACE = "kubernetes:core/v1:Namespace"
PDB = "kubernetes:policy/v1:PodDisruptionBudget"
TARGET_GROUP = "aws:lb/targetGroup:TargetGroup"
Graph = list[PolicyResource]
Inputs = dict[str, Any]


def _rule_violations(name: str, resources: Graph) -> list[Violation]:
    return check_rule(next(rule for rule in WORKLOAD_RULES if rule.name == name), resources)


def _find(graph: Graph, type_: str, name: str | None = None) -> PolicyResource:
    found = [
        r
        for r in graph
        if r.type == type_ and (name is None or (r.inputs.get("metadata") or {}).get("name") == name)
    ]
    assert len(found) == 1, f"expected one {type_} {name or ''}, found {len(found)}"
    return found[0]


def _app_secret(graph: Graph) -> PolicyResource:
    """The API's and the worker's Secret (the migrations have one of their own, the owner passwords)."""
    (found,) = [r for r in graph if r.type == SECRET and r.urn.endswith("-workloads-secret")]
    return found


def _edited(graph: Graph, target: PolicyResource, change: Callable[[Inputs], object]) -> Graph:
    inputs = copy.deepcopy(dict(target.inputs))
    change(inputs)
    edited = dataclasses.replace(target, inputs=inputs)
    return [edited if r is target else r for r in graph]


def _pod(inputs: Inputs) -> Inputs:
    return inputs["spec"]["template"]["spec"]  # type: ignore[no-any-return]


def _box(inputs: Inputs) -> Inputs:
    return _pod(inputs)["containers"][0]  # type: ignore[no-any-return]


# (rule, object broken, how, what the violation says): one flaw per rule, on the object that carries it.
BREAKERS: list[tuple[str, str, str | None, Callable[[Inputs], object], str]] = [
    (
        "k8s-containers-hardened",
        DEPLOYMENT,
        "worker",
        lambda i: _box(i)["securityContext"].update(runAsUser=0),
        "container worker: runAsUser 0 is not a fixed uid >= 10000",
    ),
    (
        "k8s-containers-hardened",
        DEPLOYMENT,
        "api",
        lambda i: _box(i)["securityContext"].update(readOnlyRootFilesystem=False),
        "container api: writable root filesystem",
    ),
    (
        "k8s-containers-hardened",
        DEPLOYMENT,
        "api",
        lambda i: _box(i)["securityContext"].update(capabilities={"drop": ["NET_RAW"]}),
        "container api: capabilities do not drop ALL",
    ),
    (
        "k8s-containers-hardened",
        DEPLOYMENT,
        "api",
        lambda i: _box(i)["volumeMounts"][0].update(mountPath="/app/data"),
        "container api: writable mount at /app/data (only /tmp may be)",
    ),
    (
        "k8s-requests-set",
        DEPLOYMENT,
        "api",
        lambda i: _box(i)["resources"]["requests"].pop("cpu"),
        "container api: no cpu request",
    ),
    (
        "k8s-requests-set",
        DEPLOYMENT,
        "worker",
        lambda i: _box(i)["resources"]["limits"].update(memory="4096Mi"),
        "container worker: memory limit 4096Mi differs from the request",
    ),
    (
        "k8s-no-token-mount",
        JOB,
        None,
        lambda i: _pod(i).update(automountServiceAccountToken=True),
        "automountServiceAccountToken is not false",
    ),
    (
        "k8s-served-probes",
        DEPLOYMENT,
        "api",
        lambda i: _box(i)["readinessProbe"]["httpGet"].update(path="/healthz"),
        "container api: readiness probe is not GET /readyz",
    ),
    (
        "k8s-zero-downtime-rollout",
        DEPLOYMENT,
        "api",
        lambda i: i["spec"]["strategy"]["rollingUpdate"].update(maxUnavailable=1),
        "not a RollingUpdate with maxUnavailable 0",
    ),
    (
        "k8s-zone-spread",
        DEPLOYMENT,
        "worker",
        lambda i: _pod(i)["topologySpreadConstraints"].pop(0),
        "no topology spread across zones",
    ),
    (
        "k8s-autoscaled",
        DEPLOYMENT,
        "api",
        lambda i: i["spec"].update(replicas=3),
        "sets replicas although an HPA owns the count",
    ),
    (
        "k8s-disruption-budgets",
        PDB,
        "worker",
        lambda i: i["spec"].update(maxUnavailable=0),
        "blocks every voluntary disruption",
    ),
    (
        "k8s-pre-stop-covers-deregistration",
        DEPLOYMENT,
        "api",
        lambda i: _box(i)["lifecycle"]["preStop"]["sleep"].update(seconds=5),
        "container api: preStop sleep 5 is under the 30 s the ALB needs to stop sending",
    ),
    (
        "k8s-pre-stop-covers-deregistration",
        DEPLOYMENT,
        "api",
        lambda i: _pod(i).update(terminationGracePeriodSeconds=40),
        "container api: terminationGracePeriodSeconds 40 leaves no room for preStop 30 s plus the app's 20 s",
    ),
    (
        "k8s-workers-match-cpu",
        DEPLOYMENT,
        "api",
        lambda i: _box(i)["env"][0].update(value="16"),
        "container api: NEXUS_WORKERS=16 but the CPU request 2000m gives 2",
    ),
    (
        "k8s-restricted-namespace",
        NAMESPACE,
        None,
        lambda i: i["metadata"]["labels"].update({"pod-security.kubernetes.io/enforce": "baseline"}),
        "does not enforce the restricted pod security standard",
    ),
    (
        "k8s-job-no-ttl",
        JOB,
        None,
        lambda i: i["spec"].update(ttlSecondsAfterFinished=86400),
        "sets ttlSecondsAfterFinished",
    ),
]


@pytest.mark.parametrize(
    ("rule_name", "type_", "name", "breaks", "expected"),
    BREAKERS,
    ids=[f"{rule}-{index}" for index, (rule, *_) in enumerate(BREAKERS)],
)
def test_each_rule_catches_its_flaw(
    prod_graph: Graph,
    rule_name: str,
    type_: str,
    name: str | None,
    breaks: Callable[[Inputs], object],
    expected: str,
) -> None:
    assert _rule_violations(rule_name, prod_graph) == []
    target = _find(prod_graph, type_, name)
    found = _rule_violations(rule_name, _edited(prod_graph, target, breaks))
    assert [v.urn for v in found] == [target.urn], found
    assert expected in found[0].message, found[0].message


def test_every_workload_rule_has_a_breaker() -> None:
    covered = {rule for rule, *_ in BREAKERS} | {"k8s-no-secret-in-config-map", "explicit-k8s-provider"}
    assert covered == {rule.name for rule in WORKLOAD_RULES}


def test_numbers_arrive_as_floats_in_a_policy_pack(prod_graph: Graph) -> None:
    """The engine hands a pack numbers as doubles (protobuf Struct): 10001.0 is the uid 10001, 0.0 is root."""
    worker = _find(prod_graph, DEPLOYMENT, "worker")
    as_floats = _edited(prod_graph, worker, lambda i: _box(i)["securityContext"].update(runAsUser=10001.0))
    assert _rule_violations("k8s-containers-hardened", as_floats) == []
    root = _edited(prod_graph, worker, lambda i: _box(i)["securityContext"].update(runAsUser=0.0))
    assert [v.message for v in _rule_violations("k8s-containers-hardened", root)] == [
        "container worker: runAsUser 0 is not a fixed uid >= 10000"
    ]


def test_a_deployment_without_its_hpa_or_budget_is_caught(prod_graph: Graph) -> None:
    api = _find(prod_graph, DEPLOYMENT, "api")
    # The HPA and the budget are found by name and labels in the Deployment's namespace, not by position.
    moved = _edited(prod_graph, api, lambda i: i["metadata"].update(namespace="elsewhere"))
    autoscaled = [v.message for v in _rule_violations("k8s-autoscaled", moved)]
    budgets = [v.message for v in _rule_violations("k8s-disruption-budgets", moved)]
    assert autoscaled == ["no HorizontalPodAutoscaler scales it"]
    assert budgets == ["no PodDisruptionBudget selects its pods"]


# --- preStop follows the target group in front of the pods ------------------------------------------------


def test_the_pre_stop_rule_reads_the_target_groups_delay(prod_graph: Graph) -> None:
    group = _find(prod_graph, TARGET_GROUP)
    sleep = _box(dict(_find(prod_graph, DEPLOYMENT, "api").inputs))["lifecycle"]["preStop"]["sleep"][
        "seconds"
    ]
    assert group.inputs["deregistrationDelay"] == sleep  # the program matched them
    slower = _edited(prod_graph, group, lambda i: i.update(deregistrationDelay=sleep + 90))
    found = _rule_violations("k8s-pre-stop-covers-deregistration", slower)
    assert [v.message for v in found] == [
        f"container api: preStop sleep {sleep} is under the {sleep + 90} s the ALB needs to stop sending"
    ]


def test_an_unset_delay_is_the_providers_default_of_300_seconds(prod_graph: Graph) -> None:
    # pulumi_aws lb/target_group.py: "The default value is 300 seconds."
    group = _find(prod_graph, TARGET_GROUP)
    unset = _edited(prod_graph, group, lambda i: i.pop("deregistrationDelay"))
    found = _rule_violations("k8s-pre-stop-covers-deregistration", unset)
    assert [v.message.split(" the ALB")[0] for v in found] == [
        "container api: preStop sleep 30 is under the 300 s"
    ]


def test_the_rules_drain_time_is_the_apps() -> None:
    from app.serve import GRACEFUL_SHUTDOWN_SECONDS
    from policy.workloads import APP_DRAIN_SECONDS

    assert APP_DRAIN_SECONDS == GRACEFUL_SHUTDOWN_SECONDS


# --- replicas: the program's declaration vs a live object --------------------------------------------------


def _live(graph: Graph, manager: str) -> Graph:
    """The api Deployment as the API server returns it: replicas defaulted, and who set them."""
    api = _find(graph, DEPLOYMENT, "api")

    def live(inputs: Inputs) -> None:
        inputs["spec"]["replicas"] = 4
        inputs["metadata"]["managedFields"] = [
            {
                "manager": "pulumi-kubernetes-5d8a1c",
                "operation": "Apply",
                "fieldsV1": {"f:spec": {"f:strategy": {}}},
            },
            {"manager": manager, "operation": "Update", "fieldsV1": {"f:spec": {"f:replicas": {}}}},
        ]

    return _edited(graph, api, live)


def test_replicas_set_by_the_hpa_in_a_live_object_are_not_the_programs(prod_graph: Graph) -> None:
    assert _rule_violations("k8s-autoscaled", _live(prod_graph, "kube-controller-manager")) == []


def test_replicas_the_provider_applied_are_caught_in_a_live_object(prod_graph: Graph) -> None:
    found = _rule_violations("k8s-autoscaled", _live(prod_graph, "pulumi-kubernetes-5d8a1c"))
    assert [v.message.split(" (")[0] for v in found] == ["sets replicas although an HPA owns the count"]


# --- secrets never in a ConfigMap: the reconciled rule ------------------------------------------------------


def _config_map_with(graph: Graph, **data: str) -> Graph:
    return _edited(graph, _find(graph, CONFIG_MAP), lambda i: i["data"].update(data))


def _secret_messages(resources: Graph) -> list[str]:
    return [v.message for v in _rule_violations("k8s-no-secret-in-config-map", resources)]


def _string_data(graph: Graph) -> dict[str, str]:
    return dict(_app_secret(graph).inputs["stringData"])


@pytest.mark.parametrize(
    "key",
    [
        "NEXUS_DB_PASSWORD_SHARD_A",  # a marker (PASSWORD), both old lists had it
        "SIGNING_PRIVATE_KEY",  # a marker only policy/rules.py had
        "NEXUS_JWT_ACTIVE_KID",  # no marker: caught because the stack's Secret delivers this key
    ],
)
def test_a_secret_setting_by_name_is_caught(prod_graph: Graph, key: str) -> None:
    assert _secret_messages(prod_graph) == []
    assert _secret_messages(_config_map_with(prod_graph, **{key: "x"})) == [
        f"key {key} names a secret setting; deliver it through a Secret"
    ]


def test_a_secret_value_inside_a_config_map_value_is_caught(prod_graph: Graph) -> None:
    redis_url = _string_data(prod_graph)["NEXUS_REDIS_URL"]
    found = _secret_messages(_config_map_with(prod_graph, CACHE=f"primary={redis_url}"))
    assert found == ["key CACHE contains a value of a Secret of the stack"]


def test_a_short_secret_value_counts_only_when_equal(prod_graph: Graph) -> None:
    kid = _string_data(prod_graph)["NEXUS_JWT_ACTIVE_KID"]
    assert len(kid) < 8, "the active key id is the short secret value this test needs"
    assert _secret_messages(_config_map_with(prod_graph, KEY_NOTE=f"rotated-{kid}-last-week")) == []
    assert _secret_messages(_config_map_with(prod_graph, CURRENT=kid)) == [
        "key CURRENT contains a value of a Secret of the stack"
    ]


def test_a_live_secret_with_base64_data_only_is_read(prod_graph: Graph) -> None:
    """In state a Secret has ``data`` (base64) and no ``stringData``; its values still count."""
    secret = _app_secret(prod_graph)
    live = {
        key: base64.b64encode(value.encode()).decode() for key, value in secret.inputs["stringData"].items()
    }
    as_state = _edited(prod_graph, secret, lambda i: (i.pop("stringData"), i.update(data=live)))
    redis_url = _string_data(prod_graph)["NEXUS_REDIS_URL"]
    assert _secret_messages(as_state) == []
    assert _secret_messages(_config_map_with(as_state, CACHE=redis_url)) == [
        "key CACHE contains a value of a Secret of the stack"
    ]


def test_the_default_kubernetes_provider_is_caught(prod_graph: Graph) -> None:
    job = _find(prod_graph, JOB)
    broken = [dataclasses.replace(r, provider=None) if r is job else r for r in prod_graph]
    found = _rule_violations("explicit-k8s-provider", broken)
    assert [v.urn for v in found] == [job.urn]
    assert "default Kubernetes provider" in found[0].message


def test_a_cron_job_is_checked_through_its_job_template(prod_graph: Graph) -> None:
    job = _find(prod_graph, JOB)
    template = copy.deepcopy(dict(job.inputs["spec"]["template"]))
    template["spec"]["containers"][0]["securityContext"]["runAsNonRoot"] = False
    cron = dataclasses.replace(
        job,
        urn=job.urn.replace("batch/v1:Job", "batch/v1:CronJob") + "-cron",
        type="kubernetes:batch/v1:CronJob",
        inputs={
            **job.inputs,
            "spec": {"schedule": "0 * * * *", "jobTemplate": {"spec": {"template": template}}},
        },
    )
    found = check_all([*prod_graph, cron], WORKLOAD_RULES)
    assert [(v.rule, v.urn) for v in found] == [("k8s-containers-hardened", cron.urn)]
    assert "runAsNonRoot is not true" in found[0].message
