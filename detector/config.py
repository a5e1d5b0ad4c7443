"""Validated detector settings: model, batching and temporal smoothing."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

_MODELS = Path(__file__).resolve().parents[1] / "models"
#: The shipped default model directory (the service, the benchmarks and the tests use it).
DEFAULT_MODEL = _MODELS / "ember-tiles-v4"
#: The colour-rule model that scores the synthetic demo camera (``benchmarks.synth_model``).
DEMO_MODEL = _MODELS / "demo-plume"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


#: Default time constant of each tile's baseline (seconds); chosen on the clip benchmark.
BASELINE_TAU_S: float | None = 1800.0


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
        BASELINE_TAU_S,
        gt=0,
        description="Evidence is each tile's score against its own slow baseline (time "
        "constant in seconds), so views that score high all day (fog, haze, glare) do not open "
        "events and smoke that appears does; null compares scores with the threshold directly.",
    )
    growth_ratio: float = Field(
        1.5,
        ge=1,
        description="An open event whose region grows to this many times its size at its last "
        "alert closes and a new, linked event opens (a fresh alert).",
    )
    rise_delta: float = Field(
        0.3,
        gt=0,
        description="An open event whose evidence rises this much above its last alert closes "
        "and a new, linked event opens.",
    )
    realert_min_s: float = Field(
        300.0, ge=0, description="At most one growth or rise re-alert per event this often."
    )
    mute_half_life_s: float = Field(
        3 * 3600.0,
        gt=0,
        description="A dismissed region's muted level halves this often (seconds).",
    )
    look_alike_s: float = Field(
        1800.0,
        gt=0,
        description="A tile scoring above its threshold this long without an event is shown "
        "as a likely look-alike (with a mask proposal).",
    )
    mute_margin: float = Field(
        0.15,
        ge=0,
        description="Inside a muted region, evidence must exceed the muted level by this much.",
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
