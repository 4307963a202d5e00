"""The config boundary. Components never read pulumi.Config: they receive parts of StackConfig."""

from stacks.config.loader import (
    KNOWN_KEYS,
    NAMESPACE,
    PROJECT,
    ConfigError,
    load,
    load_stack_file,
    read_stack_file,
    secret_keys_of,
    stack_name_of,
)
from stacks.config.model import Shard, StackConfig
from stacks.config.sections import ApiConfig, NetworkConfig, ProxyPoolConfig, ShardSettings

__all__ = [
    "KNOWN_KEYS",
    "NAMESPACE",
    "PROJECT",
    "ApiConfig",
    "ConfigError",
    "NetworkConfig",
    "ProxyPoolConfig",
    "Shard",
    "ShardSettings",
    "StackConfig",
    "load",
    "load_stack_file",
    "read_stack_file",
    "secret_keys_of",
    "stack_name_of",
]
