"""The shared base of every config model: frozen, strict, camelCase keys, unknown keys rejected."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, model_validator
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError


class ConfigModel(BaseModel):
    """Base for a section of stack config.

    Validation runs in strict JSON mode (see ``stacks.config.load``), so ``"3"`` is not an integer and
    ``"true"`` is not a boolean: a stack file must say what it means.
    """

    model_config: ClassVar[ConfigDict] = ConfigDict(
        frozen=True,
        extra="forbid",
        alias_generator=to_camel,
        validate_by_alias=True,
        validate_by_name=False,
        serialize_by_alias=True,
        strict=True,
    )

    @model_validator(mode="before")
    @classmethod
    def _reject_unknown_keys(cls, data: Any) -> Any:
        # pydantic's own "extra_forbidden" does not say what would be valid; this error does, and the
        # formatter appends the offending key to the path.
        if isinstance(data, dict):
            valid = [field.alias or name for name, field in cls.model_fields.items()]
            unknown = sorted(key for key in data if key not in valid)
            if unknown:
                raise PydanticCustomError(
                    "unknown_key",
                    "unknown key(s) {keys}; valid keys are: {valid}",
                    {"keys": ", ".join(unknown), "unknown": unknown, "valid": ", ".join(sorted(valid))},
                )
        return data
