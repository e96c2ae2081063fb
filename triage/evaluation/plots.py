"""The report's plots, drawn with matplotlib and returned as inline SVG (vector: sharp at any zoom, no
files beside the report) or, for large heat maps, as a PNG data URI."""

from __future__ import annotations

import base64
import functools
import io
from collections.abc import Callable
from typing import Any, ParamSpec

import numpy as np

from triage.errors import ConfigError

P = ParamSpec("P")
_STYLE: dict[str, Any] = {"font.size": 9, "axes.spines.top": False, "axes.spines.right": False, "svg.fonttype": "none"}


def _styled(plot: Callable[P, str]) -> Callable[P, str]:
    """Draw with the report's style without touching the caller's matplotlib settings (notebooks)."""

    @functools.wraps(plot)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> str:
        try:
            import matplotlib
        except ImportError as exc:  # a serving-only install
            raise ConfigError("the evaluation report's plots need matplotlib: pip install 'triage[train]'") from exc

        with matplotlib.rc_context(_STYLE):  # type: ignore[arg-type]  # rc keys typed as literals
            return plot(*args, **kwargs)

    return wrapper


def _figure(width: float, height: float) -> Any:
    """A figure outside pyplot (no global figure registry, no GUI backend), and its axes."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    return fig, fig.subplots()


def _svg(fig: Any) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg")
    svg = buffer.getvalue()
    return svg[svg.index("<svg") :]  # drop the XML prolog: the SVG sits inside the HTML page


def _png_uri(fig: Any, dpi: int = 110) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


@_styled
def reliability_svg(bins: list[dict[str, Any]], ece: float) -> str:
    """Accuracy against confidence per bin (marker area ~ tickets), the diagonal of perfect calibration."""
    fig, ax = _figure(4.2, 3.6)
    ax.plot([0, 1], [0, 1], color="#999", linestyle="--", linewidth=1, label="perfect calibration")
    if bins:
        n = np.array([b["n"] for b in bins], dtype=float)
        conf = [b["confidence"] for b in bins]
        acc = [b["accuracy"] for b in bins]
        ax.plot(conf, acc, color="#2b6cb0", linewidth=1.2)
        ax.scatter(conf, acc, s=15 + 200 * n / n.max(), color="#2b6cb0", alpha=0.7, label="tickets per bin")
    ax.set(xlim=(0, 1), ylim=(0, 1.02), xlabel="confidence", ylabel="accuracy", title=f"Reliability (ECE {ece:.3f})")
    ax.legend(loc="upper left", frameon=False)
    return _svg(fig)


@_styled
def risk_coverage_svg(curve: list[dict[str, Any]], operating: dict[str, Any] | None, target: float | None) -> str:
    """Error rate among the most confident tickets against the share routed; the bundle's thresholds as a
    point; the precision target as a line."""
    fig, ax = _figure(4.2, 3.6)
    if curve:
        ax.plot(
            [0] + [c["coverage"] for c in curve],
            [0] + [c["risk"] for c in curve],
            color="#2b6cb0",
            label="most confident first",
        )
    if target is not None:
        ax.axhline(1 - target, color="#c53030", linestyle=":", linewidth=1, label=f"risk at target {target:.2f}")
    if operating and operating.get("precision") is not None:
        ax.scatter(
            [operating["coverage"]],
            [1 - operating["precision"]],
            color="#c53030",
            zorder=3,
            s=40,
            label="bundle thresholds",
        )
    top = max([c["risk"] for c in curve] + [0.05])
    ax.set(
        xlim=(0, 1),
        ylim=(0, top * 1.1),
        xlabel="coverage (share auto-routed)",
        ylabel="risk (error rate)",
        title="Risk-coverage",
    )
    ax.legend(loc="upper left", frameon=False)
    return _svg(fig)


@_styled
def confusion_png(labels: list[str], matrix: list[list[int]]) -> str:
    """Row-normalised confusion matrix (each true class sums to 1). With many classes the diagonal would
    drown the mistakes, so it is hidden (grey) and the colour scale spans the mistakes alone."""
    counts = np.asarray(matrix, dtype=float)
    rows = counts.sum(axis=1, keepdims=True)
    normalised = np.divide(counts, rows, out=np.zeros_like(counts), where=rows > 0)
    k = len(labels)
    many = k > 20
    side = min(max(4.5, 0.2 * k + 3.0), 18.0)
    fig, ax = _figure(side, side * (0.92 if many else 0.85))
    if many:
        shown = np.ma.masked_array(normalised, mask=np.eye(k, dtype=bool))
        cmap = matplotlib_colormap("Reds")
        cmap.set_bad("#d9d9d9")
        image = ax.imshow(shown, cmap=cmap, vmin=0, vmax=max(float(shown.max() or 0), 0.05), interpolation="nearest")
        title = "Mistakes: share of each true class predicted as another (diagonal, the right answers, in grey)"
    else:
        image = ax.imshow(normalised, cmap="Blues", vmin=0, vmax=1, interpolation="nearest")
        title = "Confusion (share of each true class)"
    font = 8 if k <= 20 else 6.5 if k <= 50 else 5.5
    ax.set_xticks(range(k), labels, rotation=90, fontsize=font)
    ax.set_yticks(range(k), labels, fontsize=font)
    ax.set(xlabel="predicted", ylabel="true")
    ax.set_title(title, fontsize=10)
    if many:  # a light grid to follow a row or a column across the matrix
        ax.set_xticks(np.arange(-0.5, k, 1), minor=True)
        ax.set_yticks(np.arange(-0.5, k, 1), minor=True)
        ax.grid(which="minor", color="white", linewidth=0.4)
        ax.tick_params(which="minor", length=0)
    fig.colorbar(image, ax=ax, shrink=0.5)
    if k <= 10:  # few classes: print the shares in the cells
        for i in range(k):
            for j in range(k):
                if normalised[i, j] >= 0.005:
                    colour = "white" if normalised[i, j] > 0.5 else "black"
                    ax.text(j, i, f"{normalised[i, j]:.2f}", ha="center", va="center", fontsize=7, color=colour)
    return _png_uri(fig, dpi=100)


def matplotlib_colormap(name: str) -> Any:
    """A copy of a named colormap (safe to modify)."""
    import matplotlib

    return matplotlib.colormaps[name].copy()
