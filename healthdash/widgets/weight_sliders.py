"""One slider per factor weight, for asking "what if the weights were different?"."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import ipywidgets as ipw
from traitlets import Dict

from healthdash.scoring import DEFAULT_FACTORS

MAX_WEIGHT = 50.0


class WeightSliders(ipw.VBox):  # type: ignore[misc]
    """Sliders whose values form `weights` (0 leaves a factor out); Reset returns to the starting weights."""

    weights = Dict(help="factor key -> weight")

    def __init__(self, defaults: Mapping[str, float], **kwargs: Any) -> None:
        self.defaults = dict(defaults)
        self._moving = False  # while `show` moves every slider: `weights` changes once, at the end
        self.sliders = {
            f.key: ipw.FloatSlider(
                value=float(self.defaults[f.key]),
                min=0.0,
                max=max(MAX_WEIGHT, float(self.defaults[f.key])),
                step=1.0,
                readout_format=".0f",
                description=f.label,
                continuous_update=True,
                style={"description_width": "140px"},
                layout={"width": "min(100%, 460px)"},
            )
            for f in DEFAULT_FACTORS
        }
        self.reset = ipw.Button(description="Reset weights", tooltip="back to the configured weights")
        self.reset.on_click(lambda _: self.restore())
        heading = ipw.HTML(
            "<h2>What if the weights were different?</h2>"
            '<div class="hd-small hd-muted">Move a slider to re-rank every customer with the same factor scores; '
            "0 leaves a factor out.</div>"
        )
        heading.add_class("hd-html")
        super().__init__([heading, *self.sliders.values(), self.reset], **kwargs)
        self.add_class("hd-card")
        for slider in self.sliders.values():
            slider.observe(self._update, names="value")
        self._update()

    def configure(self, defaults: Mapping[str, float]) -> None:
        """Start again from other weights: each slider's value, maximum and the weight Reset returns to."""
        self.defaults = dict(defaults)
        for key, slider in self.sliders.items():
            slider.max = max(MAX_WEIGHT, float(self.defaults[key]))
        self.restore()

    def show(self, weights: Mapping[str, float]) -> None:
        """Move the sliders to these weights, `weights` changing once (Reset still returns to the starting ones)."""
        self._moving = True
        try:
            for key, slider in self.sliders.items():
                value = float(weights.get(key, self.defaults[key]))
                slider.max = max(MAX_WEIGHT, float(self.defaults[key]), value)
                slider.value = value
        finally:
            self._moving = False
        self._update()

    def restore(self) -> None:
        """Put every slider back to its starting weight."""
        for key, slider in self.sliders.items():
            slider.value = float(self.defaults[key])

    def _update(self, change: Any = None) -> None:
        if self._moving:
            return
        self.weights = {key: float(slider.value) for key, slider in self.sliders.items()}
