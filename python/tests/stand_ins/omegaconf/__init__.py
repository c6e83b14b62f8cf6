"""Stand-in for omegaconf: OmegaConf.structured(dataclass type) -> a typed, strict config.

Like the real DictConfig built from a structured config: fields are read and written as
attributes, an undeclared key raises (ConfigAttributeError is an AttributeError), a value of the
wrong type raises ValidationError, and reading a "???" (MISSING) field raises
MissingMandatoryValue.
"""
import dataclasses
from typing import Any

MISSING = "???"


class ValidationError(ValueError):
    pass


class ConfigAttributeError(AttributeError):
    pass


class MissingMandatoryValue(ValueError):
    pass


class _Node:
    def __init__(self, instance: Any) -> None:
        types = {f.name: f.type for f in dataclasses.fields(instance)}
        values = {}
        for name in types:
            value = getattr(instance, name)
            values[name] = _Node(value) if dataclasses.is_dataclass(value) else value
        object.__setattr__(self, "_types", types)
        object.__setattr__(self, "_values", values)

    def __getattr__(self, name: str) -> Any:
        values = object.__getattribute__(self, "_values")
        if name not in values:
            raise ConfigAttributeError(f"Key '{name}' is not in struct")
        if values[name] == MISSING:
            raise MissingMandatoryValue(f"Missing mandatory value: {name}")
        return values[name]

    def __setattr__(self, name: str, value: Any) -> None:
        types = object.__getattribute__(self, "_types")
        if name not in types:
            raise ConfigAttributeError(f"Key '{name}' is not in struct")
        wanted = types[name]
        ok = isinstance(value, wanted) and not (wanted is int and isinstance(value, bool))
        if wanted is float and isinstance(value, int) and not isinstance(value, bool):
            value, ok = float(value), True
        if not ok:
            raise ValidationError(f"Value {value!r} of {name} is not a {getattr(wanted, '__name__', wanted)}")
        object.__getattribute__(self, "_values")[name] = value


class OmegaConf:
    @staticmethod
    def structured(obj: Any) -> Any:
        """A strict config node from a dataclass type or instance."""
        return _Node(obj() if isinstance(obj, type) else obj)
