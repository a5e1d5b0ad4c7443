"""Validated detector settings: model, batching and temporal smoothing."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

_MODELS = Path(__file__).resolve().parents[1] / "models"
#: The shipped default model directory (the service, the benchmarks and the tests use it).
DEFAULT_MODEL = _MODELS / "ember-tiles-v3"
#: The colour-rule model that scores the synthetic demo camera (``benchmarks.synth_model``).
DEMO_MODEL = _MODELS / "demo-plume"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SmoothingConfig(_Strict):
    """Temporal smoothing, in seconds of the frames' own timestamps (not frame counts)."""

    tau_s: float = Field(
        20.0, gt=0, description="Time constant of the exponential moving average of scores."
    )
    close_ratio: float = Field(
        0.8, gt=0, le=1, description="Close threshold = open threshold x this (hysteresis)."
    )
    min_persistence_s: float = Field(
        15.0, ge=0, description="The smoothed score must stay above the open threshold this long."
    )
    quiet_s: float = Field(
        60.0,
        ge=0,
        description="Below the close threshold this long before an event closes "
        "(at least two frame intervals of the camera).",
    )
    update_min_delta: float = Field(
        0.05, ge=0, description="Emit an update only when the peak rises by at least this much."
    )
    keepalive_s: float = Field(
        30.0,
        gt=0,
        description="While an event's score holds without a new peak, an update at most this "
        "often, so its last-seen time and duration keep moving.",
    )
    baseline_tau_s: float | None = Field(
        None,
        gt=0,
        description="If set, subtract a slow per-region baseline (time constant in seconds) "
        "so views that score high all day (fog, glare) do not open events.",
    )


class DetectorConfig(_Strict):
    model_dir: Path | None = Field(
        None, description="Model directory (model.onnx + model.yaml). Default: the shipped model."
    )
    max_batch: int = Field(
        32,
        ge=1,
        le=1024,
        description="Largest batch of network inputs (a frame that does not fit waits for the "
        "next batch). On a CPU larger batches are no faster per input, only bigger in memory.",
    )
    batch_timeout_s: float = Field(
        0.05, ge=0, le=5, description="How long to collect frames for a batch before running."
    )
    batch_timeout_max_s: float = Field(
        0.5,
        ge=0,
        le=5,
        description="Upper bound of the adaptive collection timeout: it grows from "
        "batch_timeout_s while batches are small and the model idles, and shrinks when batches "
        "fill. Set it to batch_timeout_s (or lower) to keep the timeout fixed.",
    )
    providers: list[str] = Field(
        default_factory=lambda: ["CPUExecutionProvider"],
        description="onnxruntime execution providers in order of preference.",
    )
    intra_op_threads: int = Field(0, ge=0, description="onnxruntime threads; 0 = its default.")
    scoring_threads: int = Field(
        1,
        ge=1,
        le=64,
        description="Threads that score batches: each runs the batch it collected while the next "
        "collects, so model runs overlap. More than one helps when one thread cannot keep the "
        "cores busy (many streams); use intra_op_threads 1 with it on a CPU.",
    )
    spin_wait: bool = Field(
        False,
        description="Let onnxruntime threads spin between runs: lower latency per batch, but "
        "they burn CPU that decoding needs. Off by default.",
    )
