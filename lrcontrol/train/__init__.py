"""Real training runs to check schedules on: a character-level transformer on Shakespeare (optional extra
`[train]`: `pip install "lrcontrol[train]"`) or, cheaper, an MLP on scikit-learn's 8×8 digits
(`TrainConfig(task="digits")`, needs scikit-learn), trained by `train(config, schedule, seed, out)` into
`LossCurve` CSVs.
Importing this package needs no extra; loading the data does."""

from .data import Corpus, load_corpus
from .harness import TrainConfig, TrainResult, schedule_rates, train
from .model import SIZES, ModelConfig, Transformer, init_model
from .tasks import DIGITS_WIDTHS, TASKS, Digits, Shakespeare

__all__ = ["Corpus", "load_corpus", "TrainConfig", "TrainResult", "schedule_rates", "train", "SIZES",
           "ModelConfig",
           "Transformer", "init_model", "TASKS", "Shakespeare", "Digits", "DIGITS_WIDTHS"]
