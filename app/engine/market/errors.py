"""The one error the market engine raises for bad inputs."""


class ScenarioError(ValueError):
    """An input is out of range or inconsistent; `field` names it with a dotted path."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason
