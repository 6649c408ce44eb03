"""The base of every scenario section: immutable, strict, documented."""

from pydantic import BaseModel, ConfigDict


class Section(BaseModel):
    """A scenario section: immutable, no unknown fields, attribute docstrings become the schema's text."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        use_attribute_docstrings=True,
        arbitrary_types_allowed=True,
        validate_default=True,
    )
