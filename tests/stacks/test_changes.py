"""The change view (stacks/changes.py and ``python -m stacks.preview --against``/``--against-json``).

The pure comparison runs on small hand-written preview documents; the pinned views run the real program
through the offline engine for the operator's daily edits of Pulumi.dev.yaml: add a tenant, add a shard,
resize a node group, move a tenant.
"""

from __future__ import annotations

import io
import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from stacks.changes import compare, render
from stacks.preview import document, main
from tests.support.harness import PROJECT_DIR, StackRun, run_stack, stack_config


# The default type is one the program does not use, so stacks/force_new.json has no rules for it.
def resource(name: str, type_: str = "aws:sqs/queue:Queue", protect: bool = False, **inputs: Any) -> Any:
    return {
        "urn": f"urn:pulumi:t::p::{type_}::{name}",
        "type": type_,
        "name": name,
        "protect": protect,
        "parent": None,
        "dependencies": [],
        "ignoreChanges": [],
        "inputs": inputs,
    }


def doc(*resources: Any, tenants: dict[str, str] | None = None) -> dict[str, Any]:
    return {"resources": list(resources), "outputs": {"tenantMap": {"tenants": tenants or {}}}}


# --- the pure comparison ----------------------------------------------------------------------------------


@pytest.mark.unit
def test_create_update_delete_and_same_are_told_apart() -> None:
    old = doc(resource("kept", a=1), resource("edited", a=1, b={"c": 1, "d": 2}, x=0), resource("gone"))
    new = doc(resource("kept", a=1), resource("edited", a=2, b={"c": 1, "d": 3}, y=0), resource("new"))
    changes = compare(old, new)
    assert render(changes) == [
        "  ~ aws:sqs/queue:Queue edited  [diff: ~a, ~b.d, -x, +y]",
        "  - aws:sqs/queue:Queue gone",
        "  + aws:sqs/queue:Queue new",
        "",
        "Replacement rules not extracted for (stacks/force_new.json), so these updates may be replaces: "
        "aws:sqs/queue:Queue",
        "",
        "Resources: + 1 to create, ~ 1 to update, - 1 to delete, 1 unchanged",
    ]
    assert changes.summary() == {"create": 1, "update": 1, "replace": 0, "delete": 1, "same": 1}


@pytest.mark.unit
def test_a_changed_secret_shows_its_key_never_its_value() -> None:
    old = doc(resource("db", password="[secret]", tags={"team": "a"}))
    new = doc(resource("db", password="[secret]", tags={"team": "b"}, token="s3cr3t-but-unmasked"))
    view = "\n".join(render(compare(old, new)))
    assert "~tags.team" in view
    assert "+token" in view
    assert "s3cr3t" not in view
    assert "[secret]" not in view


@pytest.mark.unit
def test_ignore_changes_paths_are_not_an_update() -> None:
    before = resource("ng", scalingConfig={"desiredSize": 1, "maxSize": 2})
    after = resource("ng", scalingConfig={"desiredSize": 2, "maxSize": 2})
    after["ignoreChanges"] = ["scalingConfig.desiredSize"]
    assert compare(doc(before), doc(after)).summary()["update"] == 0
    after["inputs"]["scalingConfig"]["maxSize"] = 3
    assert [step.diff for step in compare(doc(before), doc(after)).of("update")] == [
        ("~scalingConfig.maxSize",)
    ]


@pytest.mark.unit
def test_a_removed_shard_and_a_deleted_protected_resource_are_warned_about() -> None:
    old = doc(resource("nexus-dev-shard-b", "nexus:database:TenantShard"), resource("db", protect=True))
    warnings = compare(old, doc()).warnings
    assert warnings == (
        "protected resource aws:sqs/queue:Queue db is deleted: pulumi up refuses until it is unprotected",
        "shard nexus-dev-shard-b is removed: its database, replicas and proxy are deleted",
    )
    assert render(compare(old, doc()))[0] == "WARNING: read before applying"


@pytest.mark.unit
def test_a_tenant_leaving_or_moving_is_warned_about() -> None:
    old = doc(tenants={"acme": "shard-a", "globex": "shard-a", "initech": "shard-b"})
    new = doc(tenants={"acme": "shard-a", "globex": "shard-b"})
    warnings = compare(old, new).warnings
    assert len(warnings) == 2
    assert (
        warnings[0] == "tenant globex moves from shard-a to shard-b: run the move first, see docs/shards.md"
    )
    assert warnings[1].startswith("tenant 'initech' leaves the tenant map (was on shard-b)")
    assert compare(old, old).warnings == ()


# --- the pinned views of the daily edits ------------------------------------------------------------------


def view_of(dev_run: StackRun, config: dict[str, Any]) -> list[str]:
    return render(compare(document(dev_run), document(run_stack(config, stack="dev"))))


@pytest.mark.infra
def test_adding_a_tenant_changes_the_map_and_its_consumers(dev_run: StackRun) -> None:
    config = stack_config("dev")
    config["nexus:shards"]["shard-a"]["tenants"].append("hooli")
    assert view_of(dev_run, config) == [
        # The migration Job's name carries a hash of the tenant map, so each map runs its own migration: a new
        # name is a new Job (pulumi-kubernetes replaces on metadata.name), and a ConfigMap's data is immutable
        # to the provider unless enableConfigMapMutable is set (stacks/force_new.json).
        "  +- kubernetes:batch/v1:Job nexus-dev-workloads-migrate  "
        "[replace: metadata.name; diff: ~metadata.name]",
        "  +- kubernetes:core/v1:ConfigMap nexus-dev-workloads-settings  "
        "[replace: data.NEXUS_TENANT_MAP; diff: ~data.NEXUS_TENANT_MAP]",
        "",
        "Outputs:",
        "  ~ tenantMap",
        "  ~ tenantShards",
        "",
        "Resources: + 0 to create, ~ 0 to update, +- 2 to replace, - 0 to delete, 197 unchanged",
    ]


@pytest.mark.infra
def test_adding_shard_c_creates_that_shard_only(dev_run: StackRun) -> None:
    config = stack_config("dev")
    config["nexus:shards"]["shard-c"] = {"tenants": ["hooli"]}
    view = view_of(dev_run, config)
    created = [line for line in view if line.startswith("  + ")]
    assert len(created) == 37
    assert all("nexus-dev-shard-c" in line for line in created)
    assert "  + aws:rds/instance:Instance nexus-dev-shard-c-primary" in created
    assert "  + aws:rds/instance:Instance nexus-dev-shard-c-replica-0" in created
    outputs = view.index("Outputs:")
    assert [line for line in view[:outputs] if line.startswith(("  ~ ", "  +- "))] == [
        "  ~ aws:iam/rolePolicy:RolePolicy nexus-dev-workloads-api-policy  [diff: ~policy]",
        "  ~ aws:iam/rolePolicy:RolePolicy nexus-dev-workloads-worker-policy  [diff: ~policy]",
        "  +- kubernetes:batch/v1:Job nexus-dev-workloads-migrate  "
        "[replace: metadata.name; diff: ~metadata.name]",
        "  +- kubernetes:core/v1:ConfigMap nexus-dev-workloads-settings  "
        "[replace: data.NEXUS_TENANT_MAP; diff: ~data.NEXUS_TENANT_MAP]",
    ]
    assert not any(line.startswith(("  - ", "WARNING")) for line in view)
    assert view[outputs + 1 : -2] == [
        "  ~ apiPolicyDocument",
        "  ~ shards",
        "  ~ tenantMap",
        "  ~ tenantShards",
        "  ~ workerPolicyDocument",
    ]
    assert (
        view[-1] == "Resources: + 37 to create, ~ 2 to update, +- 2 to replace, - 0 to delete, 195 unchanged"
    )


@pytest.mark.infra
def test_resizing_a_node_group_updates_its_node_groups_only(dev_run: StackRun) -> None:
    config = stack_config("dev")
    config["nexus:cluster"]["nodeGroups"]["general"].update(maxSize=3, desiredSize=2)
    # desiredSize is in the node groups' ignoreChanges (the autoscaler owns it after creation): not an update.
    assert view_of(dev_run, config) == [
        "  ~ aws:eks/nodeGroup:NodeGroup nexus-dev-cluster-general-0  [diff: ~scalingConfig.maxSize]",
        "  ~ aws:eks/nodeGroup:NodeGroup nexus-dev-cluster-general-1  [diff: ~scalingConfig.maxSize]",
        "",
        "Resources: + 0 to create, ~ 2 to update, - 0 to delete, 197 unchanged",
    ]


@pytest.mark.infra
def test_changing_the_alb_target_port_replaces_the_target_group(dev_run: StackRun) -> None:
    # internal/service/elbv2/target_group.go marks port ForceNew: a new port is a new target group.
    config = stack_config("dev")
    config["nexus:alb"]["targetPort"] = 8081
    view = view_of(dev_run, config)
    assert "  +- aws:lb/targetGroup:TargetGroup nexus-dev-alb-api  [replace: port; diff: ~port]" in view
    assert view[-1] == (
        "Resources: + 0 to create, ~ 4 to update, +- 2 to replace, - 0 to delete, 193 unchanged"
    )


@pytest.mark.infra
def test_moving_a_tenant_is_a_loud_warning(dev_run: StackRun) -> None:
    config = stack_config("dev")
    config["nexus:shards"]["shard-a"]["tenants"].remove("globex")
    config["nexus:shards"]["shard-b"]["tenants"].append("globex")
    view = view_of(dev_run, config)
    assert view[:3] == [
        "WARNING: read before applying",
        "  !! tenant globex moves from shard-a to shard-b: run the move first, see docs/shards.md",
        "",
    ]


# --- the command line -------------------------------------------------------------------------------------


@pytest.mark.infra
def test_against_a_stack_file_and_against_a_saved_json_print_the_same_view(tmp_path: Path) -> None:
    edited = yaml.safe_load((PROJECT_DIR / "Pulumi.dev.yaml").read_text())
    edited["config"]["nexus:shards"]["shard-a"]["tenants"].append("hooli")
    edited_file = tmp_path / "Pulumi.dev.yaml"
    edited_file.write_text(yaml.safe_dump(edited))
    base_json = tmp_path / "base.json"
    out = io.StringIO()
    assert main(["--stack", "dev", "--json"], out=out) == 0
    base_json.write_text(out.getvalue())
    views = []
    for against in (["--against", str(PROJECT_DIR / "Pulumi.dev.yaml")], ["--against-json", str(base_json)]):
        out = io.StringIO()
        assert main(["--stack", "dev", "--config-file", str(edited_file), *against], out=out) == 0
        title, *lines = out.getvalue().splitlines()
        if against[0] == "--against":
            # The edited copy has the base's file name: the title names it by its path, so the two differ.
            assert title == f"Change view of nexus/dev: {edited_file} against {against[1]}"
        # Up to the summary line: a stack file as the base adds the monthly cost change (stacks/cost.py),
        # which a saved document (inputs only) cannot give.
        views.append(lines[: next(i for i, line in enumerate(lines) if line.startswith("Resources:")) + 1])
    assert views[0] == views[1]
    assert (
        views[0][-1]
        == "Resources: + 0 to create, ~ 0 to update, +- 2 to replace, - 0 to delete, 197 unchanged"
    )
    out = io.StringIO()
    assert (
        main(
            ["--stack", "dev", "--config-file", str(edited_file), "--against-json", str(base_json), "--json"],
            out=out,
        )
        == 0
    )
    digest = json.loads(out.getvalue())
    assert digest["changeSummary"] == {"create": 0, "update": 0, "replace": 2, "delete": 0, "same": 197}
    replaces = [step for step in digest["steps"] if step["op"] == "replace"]
    assert [step["diffReasons"] for step in replaces] == [["metadata"], ["data"]]
    assert [step["replaceReasons"] for step in replaces] == [["metadata"], ["data"]]
    assert replaces[1]["detailedDiff"] == {
        "data.NEXUS_TENANT_MAP": {"kind": "update-replace", "inputDiff": True}
    }


@pytest.mark.unit
def test_a_file_that_is_no_preview_document_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "base.json"
    bad.write_text('{"resources": 3}')
    err = io.StringIO()
    assert main(["--stack", "dev", "--against-json", str(bad)], err=err) == 1
    assert "not a preview --json document" in err.getvalue()


# --- replacements from the providers' force-new inputs (stacks/force_new.json) ----------------------------

RDS = "aws:rds/instance:Instance"


@pytest.mark.unit
@pytest.mark.parametrize("key", ["identifier", "engine"])
def test_a_changed_rds_identifier_or_engine_is_a_replace(key: str) -> None:
    # internal/service/rds/instance.go marks both ForceNew: RDS cannot rename or re-engine an instance.
    old = doc(resource("db", RDS, identifier="a", engine="postgres", instanceClass="db.t4g.medium"))
    new = doc(
        resource(
            "db", RDS, **{"identifier": "a", "engine": "postgres", "instanceClass": "db.t4g.medium", key: "b"}
        )
    )
    changes = compare(old, new)
    assert [(step.op, step.replace_reasons) for step in changes.steps] == [("replace", (key,))]
    assert render(changes)[0] == f"  +- {RDS} db  [replace: {key}; diff: ~{key}]"
    assert (
        render(changes)[-1]
        == "Resources: + 0 to create, ~ 0 to update, +- 1 to replace, - 0 to delete, 0 unchanged"
    )


@pytest.mark.unit
def test_a_changed_rds_instance_class_is_an_update_in_place() -> None:
    old = doc(resource("db", RDS, identifier="a", instanceClass="db.t4g.medium"))
    new = doc(resource("db", RDS, identifier="a", instanceClass="db.r7g.large"))
    assert [step.op for step in compare(old, new).steps] == ["update"]


@pytest.mark.unit
def test_a_node_group_instance_type_change_is_a_replace_and_a_size_change_is_not() -> None:
    # internal/service/eks/node_group.go: instance_types ForceNew; scaling_config's sizes are not.
    group = "aws:eks/nodeGroup:NodeGroup"
    old = doc(resource("ng", group, instanceTypes=["m6i.xlarge"], scalingConfig={"maxSize": 2}))
    resized = doc(resource("ng", group, instanceTypes=["m6i.xlarge"], scalingConfig={"maxSize": 3}))
    retyped = doc(resource("ng", group, instanceTypes=["m7i.xlarge"], scalingConfig={"maxSize": 2}))
    assert [step.op for step in compare(old, resized).steps] == ["update"]
    assert [step.replace_reasons for step in compare(old, retyped).steps] == [("instanceTypes",)]


@pytest.mark.unit
def test_a_protected_resource_replaced_is_a_loud_warning_and_a_json_replace_step() -> None:
    from stacks.changes import preview_steps

    old = doc(resource("db", RDS, protect=True, engine="postgres"))
    new = doc(resource("db", RDS, protect=True, engine="mysql"))
    changes = compare(old, new)
    assert changes.warnings == (
        f"protected resource {RDS} db would be REPLACED (changed: engine): pulumi up refuses to delete the "
        "old one while it is protected; its data does not move to the new one",
    )
    assert render(changes)[0] == "WARNING: read before applying"
    assert preview_steps(changes) == [
        {
            "op": "replace",
            "urn": f"urn:pulumi:t::p::{RDS}::db",
            "diffReasons": ["engine"],
            "replaceReasons": ["engine"],
            "detailedDiff": {"engine": {"kind": "update-replace", "inputDiff": True}},
        }
    ]


KMS_KEY = "aws:kms/key:Key"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
VPC_ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"


@pytest.mark.unit
def test_a_changed_kms_key_spec_is_a_replace_and_a_rotation_change_is_not() -> None:
    # internal/service/kms/key.go: customer_master_key_spec is ForceNew (KMS cannot change a key's spec);
    # enable_key_rotation is updated in place (UpdateKeyRotation...).
    old = doc(resource("key", KMS_KEY, customerMasterKeySpec="SYMMETRIC_DEFAULT", enableKeyRotation=True))
    respec = doc(resource("key", KMS_KEY, customerMasterKeySpec="RSA_2048", enableKeyRotation=True))
    rotation = doc(
        resource("key", KMS_KEY, customerMasterKeySpec="SYMMETRIC_DEFAULT", enableKeyRotation=False)
    )
    changes = compare(old, respec)
    assert [(step.op, step.replace_reasons) for step in changes.steps] == [
        ("replace", ("customerMasterKeySpec",))
    ]
    assert render(changes)[0] == (
        f"  +- {KMS_KEY} key  [replace: customerMasterKeySpec; diff: ~customerMasterKeySpec]"
    )
    assert [step.op for step in compare(old, rotation).steps] == ["update"]


@pytest.mark.unit
def test_a_changed_log_group_name_is_a_replace_and_its_retention_an_update() -> None:
    # internal/service/logs/group.go: name ForceNew; retention_in_days is PutRetentionPolicy in Update.
    def log_group(name: str, retention: int) -> Any:
        group = resource("logs", LOG_GROUP)  # ``name`` is resource()'s own parameter: inputs set here
        group["inputs"] = {"name": name, "retentionInDays": retention}
        return group

    old = doc(log_group("/nexus/dev/api", 30))
    renamed = doc(log_group("/nexus/dev/api-v2", 30))
    retained = doc(log_group("/nexus/dev/api", 90))
    assert [(step.op, step.replace_reasons) for step in compare(old, renamed).steps] == [
        ("replace", ("name",))
    ]
    kept = compare(old, retained)
    assert [(step.op, step.replace_reasons) for step in kept.steps] == [("update", ())]
    assert render(kept)[0] == f"  ~ {LOG_GROUP} logs  [diff: ~retentionInDays]"
    # An extracted type is no longer listed as one whose update may be a replace.
    assert not any("Replacement rules not extracted" in line for line in render(kept))


@pytest.mark.unit
def test_a_changed_vpc_endpoint_service_name_is_a_replace() -> None:
    # internal/service/ec2/vpc_endpoint.go: service_name ForceNew; subnet_ids and security_group_ids are
    # modified in place (ModifyVpcEndpoint).
    service = "com.amazonaws.eu-west-1.s3"
    old = doc(resource("s3", VPC_ENDPOINT, serviceName=service, vpcId="vpc-1", subnetIds=["subnet-a"]))
    moved = doc(
        resource("s3", VPC_ENDPOINT, serviceName=service + "x", vpcId="vpc-1", subnetIds=["subnet-a"])
    )
    widened = doc(
        resource("s3", VPC_ENDPOINT, serviceName=service, vpcId="vpc-1", subnetIds=["subnet-a", "subnet-b"])
    )
    assert [(step.op, step.replace_reasons) for step in compare(old, moved).steps] == [
        ("replace", ("serviceName",))
    ]
    assert [step.op for step in compare(old, widened).steps] == ["update"]


@pytest.mark.unit
def test_the_table_covers_the_programs_log_kms_endpoint_s3_sns_and_waf_types() -> None:
    from stacks.changes import force_new_table

    table = force_new_table()
    for type_, path in [
        (KMS_KEY, "internal/service/kms/key.go"),
        (LOG_GROUP, "internal/service/logs/group.go"),
        (VPC_ENDPOINT, "internal/service/ec2/vpc_endpoint.go"),
        ("aws:wafv2/webAcl:WebAcl", "internal/service/wafv2/web_acl.go"),
        ("aws:sns/topic:Topic", "internal/service/sns/topic.go"),
        ("aws:s3/bucketVersioning:BucketVersioning", "internal/service/s3/bucket_versioning.go"),
    ]:
        assert f" {path}@" in table["types"][type_]["source"], type_
        assert type_ not in table["notExtracted"]
    # Names pulumi-aws renames (provider/resources.go) and a deprecated input (a decorator between the
    # getter and its def) are mapped to the SDK's input names, not dropped.
    assert table["types"]["aws:cloudwatch/metricAlarm:MetricAlarm"]["replaceOn"] == ["name"]
    assert "topic" in table["types"]["aws:sns/topicSubscription:TopicSubscription"]["replaceOn"]
    assert "expectedBucketOwner" in table["types"]["aws:s3/bucketVersioning:BucketVersioning"]["replaceOn"]
    assert table["types"]["aws:wafv2/webAcl:WebAcl"]["replaceOn"] == ["name", "namePrefix", "scope"]


@pytest.mark.unit
def test_the_force_new_table_names_its_sources_and_covers_the_config_driven_types() -> None:
    from stacks.changes import force_new_table

    table = force_new_table()
    assert table["pulumiAws"] == "7.51.1"
    for type_, entry in table["types"].items():
        assert entry["source"].split()[0] in (
            "hashicorp/terraform-provider-aws",
            "pulumi/pulumi-kubernetes",
        ), type_
        assert re.search(r"@[0-9a-f]{40}$", entry["source"]), type_
    assert set(table["types"]) >= {
        RDS,
        "aws:eks/nodeGroup:NodeGroup",
        "aws:elasticache/replicationGroup:ReplicationGroup",
    }
    assert not set(table["types"]) & set(table["notExtracted"])


def test_not_extracted_is_exactly_the_programs_aws_types_the_table_lacks() -> None:
    # The change view warns for the types in notExtracted; a type the program gained since the table was
    # generated would otherwise be called an in-place update with certainty. Runs both stacks' previews.
    from stacks.changes import force_new_table

    table = force_new_table()
    aws_types = {type_ for type_ in _load_extractor().program_types() if type_.startswith("aws:")}
    assert set(table["notExtracted"]) == aws_types - set(table["types"])
    assert table["notExtracted"] == []  # every AWS type the two stacks register has its rules
    # An internet gateway's only input (vpc_id) is detached/attached in place: extracted, and empty.
    assert table["types"]["aws:ec2/internetGateway:InternetGateway"]["replaceOn"] == []


@pytest.mark.unit
def test_the_extractor_reads_sdk_and_framework_schemas() -> None:
    # A schema in each of the provider's two shapes, written for this test (not the provider's code).
    sdk = """
    func resourceThing() *schema.Resource {
        return &schema.Resource{
            Schema: map[string]*schema.Schema{
                "kept": {Type: schema.TypeString, ValidateFunc: validation.StringMatch(x, "a{b}")},
                names.AttrName: {Type: schema.TypeString, ForceNew: true},
                "block": {
                    Type: schema.TypeList,
                    Elem: &schema.Resource{
                        Schema: map[string]*schema.Schema{
                            "inner": {ForceNew: true}, // ForceNew: false would be a comment
                            "other": {Optional: true},
                        },
                    },
                },
                "tags": tftags.TagsSchema(),
            },
        }
    }
    """
    framework = """
    func (r *thing) Schema(ctx context.Context, req resource.SchemaRequest, resp *resource.SchemaResponse) {
        resp.Schema = schema.Schema{
            Attributes: map[string]schema.Attribute{
                "role": schema.StringAttribute{
                    Required: true,
                    PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
                },
                "note": schema.StringAttribute{Optional: true},
            },
        }
    }
    """
    extractor = _load_extractor()
    assert extractor.extract(sdk, {"Name": "name"}) == ["block.inner", "name"]
    assert extractor.extract(framework) == ["role"]


def _load_extractor() -> Any:
    import importlib.util

    spec = importlib.util.spec_from_file_location("force_new", PROJECT_DIR / "scripts" / "force_new.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("force_new", module)  # its dataclasses resolve their module by name
    spec.loader.exec_module(module)
    return module
