"""Settings of `eigendsl train`, one model per stage, read from `train.toml`; fields map to TRL's.

A `train.toml` has a section per stage and optional shared ones:

    [sft]                     # also used by --stage user-sft
    learning_rate = 3e-3
    max_steps = 120
    [grpo]
    num_generations = 8       # G rollouts per task
    max_steps = 10
    dynamic_filtering = true
    [grpo.trl]                # any other field of TRL's GRPOConfig, passed to it as is
    steps_per_generation = 16
    [lora]                    # present = train a LoRA adapter through peft
    r = 16

The fields declared here are the ones eigendsl reads or gives its own default; those marked
"ours" belong to the episode loop, the others are TRL's and passed to `SFTConfig` /
`GRPOConfig` as they are. Every other TRL field goes in the stage's `trl` table, checked against
TRL's own dataclass (`trl_arguments`) and validated by TRL when the run starts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator


Positive = Annotated[int, Field(ge=1)]
PositiveFloat = Annotated[float, Field(gt=0)]
Share = Annotated[float, Field(ge=0, le=1)]
NonNegative = Annotated[float, Field(ge=0)]


TRACKERS = {"tensorboard": "tensorboard", "trackio": "trackio", "wandb": "wandb", "mlflow": "mlflow",
            "comet_ml": "comet_ml", "clearml": "clearml"}  # report_to name -> the module it needs


class TrainError(Exception):
    """A problem with the training's inputs or settings; the message says which."""


class Common(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    learning_rate: PositiveFloat = 1e-4
    max_steps: Annotated[int, Field(ge=-1)] = 100  # -1: as many as num_train_epochs take
    per_device_train_batch_size: Positive = 8
    gradient_accumulation_steps: Positive = 1
    warmup_steps: Annotated[int, Field(ge=0)] = 0
    lr_scheduler_type: str = "constant"
    optim: str = "adamw_torch"        # the optimizer, by TRL's name: "adamw_torch", "sgd", ...
    weight_decay: NonNegative = 0.0
    max_grad_norm: PositiveFloat = 1.0
    seed: int = 0
    logging_steps: Positive = 1
    save_steps: Positive = 50
    save_total_limit: Positive | None = 2
    report_to: list[str] = Field(default_factory=list)  # TRL's reporting: "trackio", "tensorboard", ...
    bf16: bool | None = None          # None: on a GPU, off on a CPU (the model then loads in bf16 too)
    activation_checkpointing: bool = False  # transformers 5's name of gradient_checkpointing
    trl: dict[str, Any] = Field(default_factory=dict)  # [STAGE.trl]: further TRL fields, passed as they are

    @field_validator("report_to")
    @classmethod
    def trackers_installed(cls, names: list[str]) -> list[str]:
        """A tracker TRL would report to must be importable: found here, not as a traceback mid-start."""
        import importlib.util

        missing = [n for n in names if n not in ("none", "all") and importlib.util.find_spec(TRACKERS.get(n, n)) is None]
        if missing:
            raise ValueError(f"{', '.join(missing)} is not installed (pip install {' '.join(TRACKERS.get(n, n) for n in missing)}), "
                             "or leave it out of report_to")
        return names

    def trl_fields(self, exclude: tuple[str, ...] = ()) -> dict:
        """The declared TRL fields (not ours, not the trl table) with their values."""
        return self.model_dump(exclude={*self.ours(), "trl", *exclude})

    @classmethod
    def ours(cls) -> tuple[str, ...]:
        return ()


class SFTSettings(Common):
    """SFTTrainer: loss only on the trained role's tokens (masks.py)."""

    max_length: Positive | None = None  # default: the model's positions (a longer dialogue cannot be trained whole)
    num_train_epochs: PositiveFloat = 1.0
    max_dialogues: Positive | None = None  # ours: cap on the dialogues used

    @classmethod
    def ours(cls) -> tuple[str, ...]:
        return ("max_dialogues",)


class GRPOSettings(Common):
    """GRPOTrainer with a rollout function that plays real episodes (grpo.py)."""

    num_generations: Positive = 8     # G rollouts per task
    temperature: NonNegative = 1.0
    top_p: Annotated[float, Field(gt=0, le=1)] = 1.0
    beta: NonNegative = 0.0           # KL weight; 0 needs no reference model
    epsilon: NonNegative = 0.2
    num_iterations: Positive = 1      # optimizer steps per generated batch (PPO-style epochs, ratio clipped)
    loss_type: str = "dapo"
    scale_rewards: str = "group"
    max_completion_length: Positive = 1024  # the whole multi-turn completion, in tokens: the episode's budget
    use_vllm: bool = False
    vllm_mode: Literal["colocate", "server"] = "colocate"
    vllm_server_base_url: str | None = None
    vllm_gpu_memory_utilization: Share = 0.3
    # TRL's default, sequence_mask, sums the log-ratio over every policy token of a long
    # multi-turn episode and drops the whole episode past its bound; per token, clipped, suits them
    vllm_importance_sampling_mode: Literal["token_truncate", "token_mask", "sequence_truncate", "sequence_mask"] = "token_truncate"
    max_turn_tokens: Positive = 256   # ours: tokens the policy may generate per turn
    max_episode_steps: Positive = 30  # ours: messages before an episode is cut
    max_tool_errors: Positive = 5     # ours: failed tool calls before an episode is cut
    dynamic_filtering: bool = True    # ours: drop groups whose rewards all agree, refill the batch
    refill_rounds: Annotated[int, Field(ge=0)] = 2  # ours: extra rounds of groups drawn to refill a filtered batch
    user: str = "scripted"            # ours: scripted | openai:MODEL (with user_base_url) | hf:PATH (a local user model)
    user_base_url: str | None = None  # ours
    user_max_new_tokens: Positive = 256  # ours: tokens an hf: user may generate per turn
    user_temperature: NonNegative | None = None  # ours: an hf: user's sampling temperature (None: greedy)

    @classmethod
    def ours(cls) -> tuple[str, ...]:
        return ("max_turn_tokens", "max_episode_steps", "max_tool_errors", "dynamic_filtering", "refill_rounds",
                "user", "user_base_url", "user_max_new_tokens", "user_temperature")


# Set by eigendsl itself (the run's folder, the device, the columns its rollouts need).
RESERVED = ("output_dir", "use_cpu", "remove_unused_columns", "save_strategy", "disable_tqdm", "gradient_checkpointing")


def trl_arguments(section: str, settings: Common, config_class) -> dict:
    """The keyword arguments of TRL's CONFIG_CLASS (SFTConfig, GRPOConfig) for SETTINGS: the
    declared TRL fields, then the `[SECTION.trl]` table, whose names are checked against the
    dataclass's own fields (TRL validates the values when the config is built)."""
    import dataclasses

    known = {f.name for f in dataclasses.fields(config_class) if f.init}
    table = settings.trl
    for name in table:
        where = f"[{section}.trl] {name}"
        if name in settings.ours():
            raise TrainError(f"{where}: {name} is eigendsl's own setting, not TRL's; set it in [{section}]")
        if name in type(settings).model_fields:
            raise TrainError(f"{where}: a setting of [{section}] itself; set it there")
        if name in RESERVED:
            raise TrainError(f"{where}: eigendsl sets {name} itself")
        if name not in known:
            raise TrainError(f"{where}: not a field of TRL's {config_class.__name__} (trl {_trl_version()}); "
                             f"its documentation lists the fields")
    return {**settings.trl_fields(), **table}


def _trl_version() -> str:
    from importlib.metadata import version

    return version("trl")


class LoraSettings(BaseModel):
    """peft's LoraConfig."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    r: Positive = 16
    lora_alpha: Positive = 32
    lora_dropout: Annotated[float, Field(ge=0, lt=1)] = 0.05
    target_modules: list[str] | str = "all-linear"


class TrainConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sft: SFTSettings = SFTSettings()
    grpo: GRPOSettings = GRPOSettings()
    lora: LoraSettings | None = None


def load_config(path: str | Path | None) -> TrainConfig:
    """The settings in PATH (TOML), or the defaults; a clear error for a bad file or field."""
    if path is None:
        return TrainConfig()
    from ..eval.config import ConfigProblem, read_config

    try:
        raw = read_config(path)
    except ConfigProblem as e:
        raise TrainError(str(e)) from None
    try:
        return TrainConfig.model_validate(raw)
    except ValidationError as e:
        first = e.errors()[0]
        if not first["loc"]:
            raise TrainError(f"{path}: expected a table of stage sections ([sft], [grpo], [lora])") from None
        raise TrainError(f"{path}: setting {'.'.join(map(str, first['loc']))}: {first['msg']}") from None
