"""Stand-in for omegaconf: OmegaConf.structured(dataclass type) -> a mutable config object."""
from typing import Any


class OmegaConf:
    @staticmethod
    def structured(obj: Any) -> Any:
        """Like the real one, fields read and written as attributes; here the dataclass itself."""
        return obj() if isinstance(obj, type) else obj
