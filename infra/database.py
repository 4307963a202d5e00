"""One tenant shard's database tier: a PostgreSQL primary, its read replicas and an RDS Proxy in front of it.

Reads and writes take different paths, because RDS Proxy on RDS for PostgreSQL (not Aurora) can only
target the writer instance: the app writes through the proxy (pooled, TLS required) and reads from the
replicas directly with its own reader pools. A shard without replicas reads through the proxy as well, which
keeps the primary reachable from the proxy alone.

Network access, security group to security group, never from a CIDR:
- the proxy and the replicas admit 5432 from the workload group only (the cluster's nodes and their pods);
- the primary admits 5432 from the proxy's group only. Migrations (the Kubernetes Job running
  ``python -m app.migrate``) connect through the proxy like the API, so the workload group gets no path to
  the primary at all.

Every child is named from the component's name (which carries the stable shard id) and replicas by their index
within the shard, so adding a shard or a replica never renames anything that exists.

Why one long module: one ComponentResource (primary, replicas, proxy, their groups and secrets) whose
security-group paths above only read right together; the parameter group, subnet group and secrets are
private helpers of it, each a few dozen lines.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from infra.alarms import AlarmTarget, database_alarms, proxy_alarms
from infra.catalog import performance_insights_supported
from infra.db_ops import (
    BACKUP_WINDOW,
    instance_log_group_name,
    log_groups,
    maintenance_window,
    monitoring_role,
    proxy_log_group_name,
)

ENGINE: Final = "postgres"
POSTGRES_PORT: Final = 5432
PROXY_ENGINE_FAMILY: Final = "POSTGRESQL"
# Characters RDS refuses in a master password are '/', '"', '@' and space; the rest of this set also needs no
# quoting in a libpq keyword string (the app URL-quotes it for DSNs anyway).
PASSWORD_SPECIALS: Final = "!#%^*-_=+:?"  # noqa: S105 (a character set)
PASSWORD_LENGTH: Final = 32
# Raising this pushes the current generated password to the instance again (password_wo is write-only, so
# the provider cannot notice a drift by itself). Rotate by replacing the RandomPassword, then bump this.
PASSWORD_VERSION: Final = 1
APP_USERNAME: Final = "nexus_app"
"""The API's and the worker's login on every shard: owns nothing, DML only (app/migrate.py creates it)."""
LOG_EXPORTS: Final = ("postgresql", "upgrade")
PERFORMANCE_INSIGHTS_RETENTION_DAYS: Final = 7  # the free tier


@dataclass(frozen=True, kw_only=True)
class TenantShardArgs:
    """Inputs of a TenantShard. Settings are plain values (the component branches on them)."""

    shard_id: str
    """Stable, DNS-safe id of the shard (tags and descriptions; the component name carries it too)."""
    instance_class: str
    """Instance class of the primary."""
    replica_instance_class: str
    """Instance class of every replica."""
    read_replicas: int
    """Number of read replicas (0-15), named replica-0 ... by index."""
    allocated_storage: int
    """Initial gp3 storage, GiB."""
    max_allocated_storage: int
    """Storage autoscaling ceiling, GiB."""
    multi_az: bool
    """Run a Multi-AZ standby for the primary."""
    backup_retention_days: int
    """Automated backup retention of the primary (replicas need it above 0)."""
    engine_version: str
    """PostgreSQL major version only; minor versions upgrade automatically."""
    database_name: str
    """Database created on the primary."""
    master_username: str
    """Master user; its password is generated and kept in the shard's secret."""
    performance_insights: bool
    """Enable Performance Insights on every instance whose class supports it, decided per instance: the
    primary by ``instance_class``, each replica by ``replica_instance_class``."""
    proxy_max_connections_percent: int
    """Share of the primary's max_connections the proxy may open."""
    proxy_max_idle_connections_percent: int
    """Share of max_connections the proxy keeps open while idle."""
    proxy_connection_borrow_timeout: int
    """Seconds a client waits for a pooled connection."""
    proxy_idle_client_timeout: int
    """Seconds before the proxy drops an idle client."""
    protect: bool
    """Prod: protect=True and deletion protection on the data (primary, replicas, secret)."""
    region: str
    """AWS region (scopes the proxy's KMS permission to Secrets Manager in it)."""
    vpc_id: pulumi.Input[str]
    """VPC of the shard's security groups."""
    isolated_subnet_ids: pulumi.Input[Sequence[str]]
    """Subnets of the databases and the proxy: no route to or from the internet."""
    workload_security_group_id: pulumi.Input[str]
    """Group of the cluster's nodes and pods: the only clients of the proxy and the replicas."""
    log_retention_days: int = 90
    """Retention of the pre-created instance and proxy log groups (infra/db_ops.py)."""
    log_kms_key_arn: pulumi.Input[str] | None = None
    """KMS key of those log groups (None: CloudWatch Logs' default encryption)."""
    monitoring_interval: int = 0
    """Enhanced Monitoring interval of every instance, seconds (0: off; then no monitoring role)."""
    storage_kms_key_arn: pulumi.Input[str] | None = None
    """Customer-managed key of the primary's storage and of Performance Insights (None: aws/rds)."""
    alarms: AlarmTarget | None = None
    """Where the instance and proxy alarms notify, and their thresholds (None: no alarms)."""


def parameter_family(engine_version: str) -> str:
    """Parameter group family of a PostgreSQL major version (``16`` -> ``postgres16``)."""
    major = engine_version.split(".", 1)[0]
    if not major.isdigit():
        raise ValueError(f"engine version {engine_version!r} does not start with a major version number")
    return f"postgres{major}"


def parameter_settings() -> dict[str, str]:
    """The shard's server parameters (all dynamic: applied without a reboot)."""
    return {
        # Refuse unencrypted client connections (the default from 15 on; explicit for older majors).
        "rds.force_ssl": "1",
        # Statements slower than 1 s, lock waits past deadlock_timeout, temp files and long autovacuum runs
        # land in the postgresql log export, which is where a slow shard is diagnosed first.
        "log_min_duration_statement": "1000",
        "log_lock_waits": "1",
        "log_temp_files": "0",
        "log_autovacuum_min_duration": "10000",
        # Connections come through the proxy's pool, so these are rare and worth seeing (a storm of them
        # means the proxy is churning backends).
        "log_connections": "1",
        "log_disconnections": "1",
        # Kill sessions that sit inside an open transaction, holding locks and pinning proxy connections.
        "idle_in_transaction_session_timeout": "60000",
    }


def final_snapshot_name(name: str) -> str:
    """Identifier of the snapshot RDS takes when the primary is deleted."""
    return f"{name}-final"


def proxy_assume_role_policy() -> str:
    """Trust policy: only the RDS service may assume the proxy's role."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "rds.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
    )


def proxy_secret_policy(secret_arn: str | Sequence[str], region: str) -> str:
    """The proxy may read the shard's secrets (the master's and the app's), and decrypt with KMS only on
    Secrets Manager's behalf for them."""
    arns = [secret_arn] if isinstance(secret_arn, str) else sorted(secret_arn)
    resource: str | list[str] = arns[0] if len(arns) == 1 else arns
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "ReadShardSecret",
                    "Effect": "Allow",
                    "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
                    "Resource": resource,
                },
                {
                    # The secret uses the account's aws/secretsmanager key; the conditions limit Decrypt to
                    # calls Secrets Manager makes in this region for this very secret.
                    "Sid": "DecryptShardSecret",
                    "Effect": "Allow",
                    "Action": "kms:Decrypt",
                    "Resource": "*",
                    "Condition": {
                        "StringEquals": {
                            "kms:ViaService": f"secretsmanager.{region}.amazonaws.com",
                            "kms:EncryptionContext:SecretARN": resource,
                        }
                    },
                },
            ],
        },
        indent=2,
    )


class TenantShard(pulumi.ComponentResource):
    """Primary, replicas, proxy, secret, parameter group and security groups of one tenant shard."""

    writer_endpoint: pulumi.Output[str]
    """Host of the RDS Proxy: every write (and the migrations) go here."""
    reader_endpoints: pulumi.Output[list[str]]
    """Hosts of the replicas in index order; the proxy when the shard has no replica."""
    port: int
    """Port of every endpoint."""
    database_name: str
    """Database name on the writer and the readers."""
    master_username: str
    """The owner: the migrations connect as this user."""
    app_username: str
    """The app role the API and the worker connect as (no owner, no superuser, no BYPASSRLS, DML only)."""
    secret_arn: pulumi.Output[str]
    """ARN of the master's Secrets Manager secret holding {username, password} (read by the proxy only)."""
    app_secret_arn: pulumi.Output[str]
    """ARN of the app role's secret, registered with the proxy too."""
    password: pulumi.Output[str]
    """The master password, as a secret Output (for the migration Job's Kubernetes Secret only)."""
    app_password: pulumi.Output[str]
    """The app role's password, as a secret Output (for the Kubernetes Secret of the API and the worker)."""
    primary_identifier: pulumi.Output[str]
    """RDS identifier of the primary."""
    proxy_security_group_id: pulumi.Output[str]
    """Group of the proxy."""

    def __init__(self, name: str, args: TenantShardArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("nexus:database:TenantShard", name, None, opts)
        self._name = name
        self._args = args
        tags = {"Shard": args.shard_id}

        subnet_group = aws.rds.SubnetGroup(
            f"{name}-subnets",
            subnet_ids=args.isolated_subnet_ids,
            description=f"Isolated subnets of shard {args.shard_id}",
            tags=tags,
            opts=self._opts(),
        )
        parameters = self._parameter_group(tags)
        password, secret, secret_version = self._login_secret("master", args.master_username, tags)
        app_password, app_secret, app_secret_version = self._login_secret("app", APP_USERNAME, tags)
        proxy_sg, primary_sg, replica_sg = self._security_groups(tags)
        self._monitoring: tuple[aws.iam.Role, aws.iam.RolePolicyAttachment] | None = (
            monitoring_role(name, self, tags) if args.monitoring_interval else None
        )

        primary = self._primary(subnet_group, parameters, primary_sg, password, tags)
        replicas = [
            self._replica(index, primary, subnet_group, parameters, replica_sg, tags)
            for index in range(args.read_replicas)
        ]
        proxy = self._proxy(
            [(secret, secret_version, "Master user"), (app_secret, app_secret_version, "App role")],
            primary,
            proxy_sg,
            tags,
        )
        if args.alarms is not None:
            database_alarms(f"{name}-primary", self, args.alarms, primary.identifier, replica=False)
            for index, replica in enumerate(replicas):
                database_alarms(
                    f"{name}-replica-{index}", self, args.alarms, replica.identifier, replica=True
                )
            proxy_alarms(f"{name}-proxy", self, args.alarms, proxy.name)

        self.writer_endpoint = proxy.endpoint
        self.reader_endpoints = (
            pulumi.Output.all(*[replica.address for replica in replicas]).apply(list)
            if replicas
            else proxy.endpoint.apply(lambda host: [host])
        )
        self.port = POSTGRES_PORT
        self.database_name = args.database_name
        self.master_username = args.master_username
        self.app_username = APP_USERNAME
        self.secret_arn = secret.arn
        self.app_secret_arn = app_secret.arn
        self.password = pulumi.Output.secret(password.result)
        self.app_password = pulumi.Output.secret(app_password.result)
        self.primary_identifier = primary.identifier
        self.proxy_security_group_id = proxy_sg.id
        self.register_outputs(
            {
                "writerEndpoint": self.writer_endpoint,
                "readerEndpoints": self.reader_endpoints,
                "port": self.port,
                "databaseName": self.database_name,
                "masterUsername": self.master_username,
                "secretArn": self.secret_arn,
                "appUsername": self.app_username,
                "appSecretArn": self.app_secret_arn,
                "password": self.password,
                "appPassword": self.app_password,
                "primaryIdentifier": self.primary_identifier,
                "proxySecurityGroupId": self.proxy_security_group_id,
            }
        )

    def _opts(self, **extra: Any) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self, **extra)

    def _data_opts(self, **extra: Any) -> pulumi.ResourceOptions:
        # Prod data must survive a mistaken `pulumi destroy` or a removed shard entry (docs/shards.md).
        return self._opts(protect=self._args.protect, **extra)

    def _parameter_group(self, tags: dict[str, str]) -> aws.rds.ParameterGroup:
        # Auto-named on purpose: a parameter group in use cannot be deleted, and a family change (a major
        # upgrade) forces a replacement. With a generated name Pulumi creates the new group first, moves the
        # instances to it, then deletes the old one (create-before-delete, the default). A fixed name would
        # force delete-before-create, which fails while instances still use the group.
        return aws.rds.ParameterGroup(
            f"{self._name}-params",
            family=parameter_family(self._args.engine_version),
            description=f"Shard {self._args.shard_id}: TLS forced, slow statements and lock waits logged",
            parameters=[
                aws.rds.ParameterGroupParameterArgs(name=key, value=value)
                for key, value in sorted(parameter_settings().items())
            ],
            tags=tags,
            opts=self._opts(),
        )

    def _login_secret(
        self, kind: str, username: str, tags: dict[str, str]
    ) -> tuple[random.RandomPassword, aws.secretsmanager.Secret, aws.secretsmanager.SecretVersion]:
        """A generated password and its secret, for the master (`kind` "master") or the app role ("app")."""
        args = self._args
        # Generated here, not by RDS: a primary whose password RDS manages in Secrets Manager cannot have read
        # replicas. The RandomPassword result is a secret output (encrypted in state).
        password = random.RandomPassword(
            f"{self._name}-{kind}-password",
            length=PASSWORD_LENGTH,
            special=True,
            override_special=PASSWORD_SPECIALS,
            min_lower=2,
            min_upper=2,
            min_numeric=2,
            min_special=2,
            opts=self._opts(),
        )
        secret = aws.secretsmanager.Secret(
            f"{self._name}-{kind}-secret",
            description=f"{kind.capitalize()} credentials of shard {args.shard_id} (read by its RDS Proxy)",
            # Prod keeps a deleted secret restorable for a week; dev deletes at once so a shard can be
            # recreated under the same name.
            recovery_window_in_days=7 if args.protect else 0,
            tags=tags,
            opts=self._data_opts(),
        )
        # The {username, password} JSON is the format RDS Proxy reads. Written write-only, so the provider
        # keeps no copy of it in its outputs.
        version = aws.secretsmanager.SecretVersion(
            f"{self._name}-{kind}-secret-value",
            secret_id=secret.id,
            secret_string_wo=pulumi.Output.json_dumps({"username": username, "password": password.result}),
            secret_string_wo_version=PASSWORD_VERSION,
            opts=self._opts(),
        )
        return password, secret, version

    def _security_groups(
        self, tags: dict[str, str]
    ) -> tuple[aws.ec2.SecurityGroup, aws.ec2.SecurityGroup, aws.ec2.SecurityGroup | None]:
        args = self._args
        # Groups without inline rules: standalone rule resources below, so that a rule change is one small
        # diff and never a fight between inline and standalone rules. No egress on the data groups.
        proxy_sg = self._group("proxy", "RDS Proxy: admits the workload group", tags)
        primary_sg = self._group("primary", "Primary: admits the proxy of the shard only", tags)
        replica_sg = (
            self._group("replicas", "Replicas: admit the workload group", tags)
            if args.read_replicas
            else None
        )

        self._ingress("proxy-from-workload", proxy_sg, args.workload_security_group_id, "Pods to the proxy")
        self._ingress("primary-from-proxy", primary_sg, proxy_sg.id, "The proxy to the primary")
        aws.vpc.SecurityGroupEgressRule(
            f"{self._name}-proxy-to-primary",
            security_group_id=proxy_sg.id,
            referenced_security_group_id=primary_sg.id,
            ip_protocol="tcp",
            from_port=POSTGRES_PORT,
            to_port=POSTGRES_PORT,
            description="The proxy opens pooled connections to the primary",
            tags=tags,
            opts=self._opts(),
        )
        if replica_sg is not None:
            self._ingress(
                "replicas-from-workload", replica_sg, args.workload_security_group_id, "Pods to replicas"
            )
        return proxy_sg, primary_sg, replica_sg

    def _group(self, role: str, description: str, tags: dict[str, str]) -> aws.ec2.SecurityGroup:
        return aws.ec2.SecurityGroup(
            f"{self._name}-{role}-sg",
            vpc_id=self._args.vpc_id,
            description=f"Shard {self._args.shard_id} {description}",
            revoke_rules_on_delete=True,
            tags={**tags, "Name": f"{self._name}-{role}"},
            opts=self._opts(),
        )

    def _ingress(
        self, key: str, group: aws.ec2.SecurityGroup, source: pulumi.Input[str], description: str
    ) -> aws.vpc.SecurityGroupIngressRule:
        return aws.vpc.SecurityGroupIngressRule(
            f"{self._name}-{key}",
            security_group_id=group.id,
            referenced_security_group_id=source,
            ip_protocol="tcp",
            from_port=POSTGRES_PORT,
            to_port=POSTGRES_PORT,
            description=description,
            tags={"Shard": self._args.shard_id},
            opts=self._opts(),
        )

    def _performance_insights(self, instance_class: str) -> dict[str, Any]:
        # Per instance: a replica's class may differ from the primary's, and RDS checks each one.
        if not (self._args.performance_insights and performance_insights_supported(ENGINE, instance_class)):
            return {"performance_insights_enabled": False}
        settings: dict[str, Any] = {
            "performance_insights_enabled": True,
            "performance_insights_retention_period": PERFORMANCE_INSIGHTS_RETENTION_DAYS,
        }
        if self._args.storage_kms_key_arn is not None:
            settings["performance_insights_kms_key_id"] = self._args.storage_kms_key_arn
        return settings

    def _operations(self, identifier: str) -> tuple[dict[str, Any], list[pulumi.Resource]]:
        """Enhanced Monitoring settings of an instance, and what it waits for: its log groups (created
        first so that RDS does not create them without retention) and the monitoring role's policy."""
        args = self._args
        groups: list[pulumi.Resource] = list(
            log_groups(
                identifier,
                self,
                [instance_log_group_name(identifier, log_type) for log_type in LOG_EXPORTS],
                retention_days=args.log_retention_days,
                kms_key_arn=args.log_kms_key_arn,
            )
        )
        if self._monitoring is None:
            return {"monitoring_interval": 0}, groups
        role, attachment = self._monitoring
        return {"monitoring_interval": args.monitoring_interval, "monitoring_role_arn": role.arn}, [
            *groups,
            attachment,
        ]

    def _primary(
        self,
        subnet_group: aws.rds.SubnetGroup,
        parameters: aws.rds.ParameterGroup,
        primary_sg: aws.ec2.SecurityGroup,
        password: random.RandomPassword,
        tags: dict[str, str],
    ) -> aws.rds.Instance:
        args = self._args
        identifier = f"{self._name}-primary"
        monitoring, waits_for = self._operations(identifier)
        return aws.rds.Instance(
            identifier,
            # Fixed, not auto-named: its log groups are named after it and must exist first (infra/db_ops.py).
            identifier=identifier,
            engine=ENGINE,
            # The major only: RDS applies minor upgrades itself, and a pinned minor would make the next run
            # try to downgrade.
            engine_version=args.engine_version,
            auto_minor_version_upgrade=True,
            instance_class=args.instance_class,
            db_name=args.database_name,
            username=args.master_username,
            # Write-only: sent to RDS, not kept in the provider's outputs. Bump PASSWORD_VERSION to resend.
            password_wo=password.result,
            password_wo_version=PASSWORD_VERSION,
            port=POSTGRES_PORT,
            storage_type="gp3",
            allocated_storage=args.allocated_storage,
            max_allocated_storage=args.max_allocated_storage,
            storage_encrypted=True,
            kms_key_id=args.storage_kms_key_arn,
            publicly_accessible=False,
            db_subnet_group_name=subnet_group.name,
            vpc_security_group_ids=[primary_sg.id],
            parameter_group_name=parameters.name,
            multi_az=args.multi_az,
            backup_retention_period=args.backup_retention_days,
            backup_window=BACKUP_WINDOW,
            maintenance_window=maintenance_window(0),
            # Prod keeps the automated backups after the instance is deleted (restorable for their
            # retention); dev removes them with it.
            delete_automated_backups=not args.protect,
            copy_tags_to_snapshot=True,
            deletion_protection=args.protect,
            skip_final_snapshot=False,
            final_snapshot_identifier=final_snapshot_name(self._name),
            enabled_cloudwatch_logs_exports=list(LOG_EXPORTS),
            tags=tags,
            opts=self._data_opts(depends_on=waits_for),
            **monitoring,
            **self._performance_insights(args.instance_class),
        )

    def _replica(
        self,
        index: int,
        primary: aws.rds.Instance,
        subnet_group: aws.rds.SubnetGroup,
        parameters: aws.rds.ParameterGroup,
        replica_sg: aws.ec2.SecurityGroup | None,
        tags: dict[str, str],
    ) -> aws.rds.Instance:
        args = self._args
        assert replica_sg is not None  # created whenever read_replicas > 0
        identifier = f"{self._name}-replica-{index}"
        monitoring, waits_for = self._operations(identifier)
        return aws.rds.Instance(
            identifier,
            identifier=identifier,
            # Engine, version, database, user and password come from the source. By ARN, not identifier: with
            # a subnet group in the same region RDS refuses an identifier (DBSubnetGroupNotAllowedFault; the
            # pulumi-aws docstring of replicate_source_db says to use the ARN then).
            replicate_source_db=primary.arn,
            instance_class=args.replica_instance_class,
            auto_minor_version_upgrade=True,
            port=POSTGRES_PORT,
            storage_type="gp3",
            max_allocated_storage=args.max_allocated_storage,
            # A same-region replica of an encrypted primary is encrypted with its key; stated for the policy.
            storage_encrypted=True,
            publicly_accessible=False,
            db_subnet_group_name=subnet_group.name,
            vpc_security_group_ids=[replica_sg.id],
            parameter_group_name=parameters.name,
            # Another day than the primary's and every other replica's (infra/db_ops.py).
            maintenance_window=maintenance_window(index + 1),
            copy_tags_to_snapshot=True,
            deletion_protection=args.protect,
            # RDS takes no final snapshot of a read replica (the primary holds the data).
            skip_final_snapshot=True,
            enabled_cloudwatch_logs_exports=list(LOG_EXPORTS),
            tags={**tags, "Role": "replica", "ReplicaIndex": str(index)},
            opts=self._data_opts(depends_on=waits_for),
            **monitoring,
            **self._performance_insights(args.replica_instance_class),
        )

    def _proxy(
        self,
        logins: Sequence[tuple[aws.secretsmanager.Secret, aws.secretsmanager.SecretVersion, str]],
        primary: aws.rds.Instance,
        proxy_sg: aws.ec2.SecurityGroup,
        tags: dict[str, str],
    ) -> aws.rds.Proxy:
        args = self._args
        role = aws.iam.Role(
            f"{self._name}-proxy-role",
            description=f"RDS Proxy of shard {args.shard_id}: reads the shard's login secrets",
            assume_role_policy=proxy_assume_role_policy(),
            tags=tags,
            opts=self._opts(),
        )
        secret_access = aws.iam.RolePolicy(
            f"{self._name}-proxy-secret-access",
            role=role.id,
            policy=pulumi.Output.all(*[secret.arn for secret, _, _ in logins]).apply(
                lambda arns: proxy_secret_policy(arns, args.region)
            ),
            opts=self._opts(),
        )
        proxy_name = f"{self._name}-proxy"
        proxy_logs = log_groups(
            proxy_name,
            self,
            [proxy_log_group_name(proxy_name)],
            retention_days=args.log_retention_days,
            kms_key_arn=args.log_kms_key_arn,
        )
        proxy = aws.rds.Proxy(
            proxy_name,
            # Fixed, not auto-named: its log group is named after it and exists first (infra/db_ops.py).
            name=proxy_name,
            engine_family=PROXY_ENGINE_FAMILY,
            role_arn=role.arn,
            # The proxy is a data-tier component: isolated subnets, reached from the pods through its group.
            vpc_subnet_ids=args.isolated_subnet_ids,
            vpc_security_group_ids=[proxy_sg.id],
            require_tls=True,
            idle_client_timeout=args.proxy_idle_client_timeout,
            # One auth per login the proxy accepts: the master (the migrations) and the app role (the API and
            # the worker); a client may log in through the proxy only as a user with an entry here.
            auths=[
                aws.rds.ProxyAuthArgs(
                    auth_scheme="SECRETS",
                    secret_arn=secret.arn,
                    # Password auth with the shard's secret: pods receive the password as a Kubernetes
                    # Secret. IAM auth stays disabled (it would need per-pod token generation in the app).
                    iam_auth="DISABLED",
                    client_password_auth_type="POSTGRES_SCRAM_SHA_256",  # noqa: S106 (a scheme)
                    description=f"{description} of the shard",
                )
                for secret, _, description in logins
            ],
            tags=tags,
            # The proxy reads its secrets with its role on creation: they must hold a value and the role must
            # already be allowed to read them (role_arn alone orders the proxy after the role, not after the
            # role's policy).
            opts=self._opts(depends_on=[*(version for _, version, _ in logins), secret_access, *proxy_logs]),
        )
        target_group = aws.rds.ProxyDefaultTargetGroup(
            f"{self._name}-proxy-pool",
            db_proxy_name=proxy.name,
            connection_pool_config=aws.rds.ProxyDefaultTargetGroupConnectionPoolConfigArgs(
                max_connections_percent=args.proxy_max_connections_percent,
                max_idle_connections_percent=args.proxy_max_idle_connections_percent,
                connection_borrow_timeout=args.proxy_connection_borrow_timeout,
            ),
            opts=self._opts(),
        )
        aws.rds.ProxyTarget(
            f"{self._name}-proxy-target",
            db_proxy_name=proxy.name,
            target_group_name=target_group.name,
            db_instance_identifier=primary.identifier,
            opts=self._opts(),
        )
        return proxy
