"""An HTML widget drawn from one model: drawn again whenever the model changes, empty while there is none."""

from __future__ import annotations

from typing import Any, ClassVar, Generic, TypeVar

import ipywidgets as ipw

M = TypeVar("M")


class ModelView(ipw.HTML, Generic[M]):  # type: ignore[misc]
    """Subclasses declare the model's trait, name it in `model_trait` and turn a model into markup in `html`.

    Every piece of customer-supplied text that `html` puts in the markup goes through `fragments.text`.
    """

    model_trait: ClassVar[str]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.add_class("hd-html")
        self.observe(self._render, names=self.model_trait)
        self._render()

    def html(self, model: M) -> str:
        """Return the markup showing the model."""
        raise NotImplementedError

    def _render(self, change: Any = None) -> None:
        model = getattr(self, self.model_trait)
        self.value = "" if model is None else self.html(model)
