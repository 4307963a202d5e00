# A tenant move Job from the deploy's migration Job (docs/shards.md, "In a cluster: a Kubernetes Job"):
#   kubectl -n nexus get job/<migrate-...> -o json \
#     | jq --arg tenant acme --arg to shard-b -f docs/tenant-move-job.jq | kubectl -n nexus create -f -
# Cleanup after the grace period: --arg tenant acme --arg to "" --arg cleanup true.
# Keeps the pod template (image, env, the app and owner Secrets, service account, security context); drops
# what the API server filled in for the migration Job (uid, selector, controller labels, status).
($ARGS.named.cleanup // "false") as $cleanup
| (if $cleanup == "true"
   then {name: ("tenant-cleanup-" + $tenant), args: ["move", "--cleanup", $tenant]}
   else {name: ("tenant-move-" + $tenant), args: ["move", $tenant, "--to", $to, "--stack", "prod"]}
   end) as $run
| {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: {
      name: $run.name,
      namespace: .metadata.namespace,
      labels: (.metadata.labels
        + {"app.kubernetes.io/component": "tenant-move", "app.kubernetes.io/managed-by": "kubectl"})
    },
    spec: {
      backoffLimit: 0,
      activeDeadlineSeconds: 3600,
      template: {
        metadata: {labels: ((.spec.template.metadata.labels // {})
          | with_entries(select(.key | test("controller-uid|job-name") | not))
          | . + {"app.kubernetes.io/component": "tenant-move", "app.kubernetes.io/managed-by": "kubectl"})},
        spec: (.spec.template.spec
          | .containers[0].name = "tenant-move"
          | .containers[0].command = (["python", "-m", "app.tenants"] + $run.args))
      }
    }
  }
