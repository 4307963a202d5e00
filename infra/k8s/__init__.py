"""Pure Kubernetes code the components render: manifests and the tenant-map format."""
