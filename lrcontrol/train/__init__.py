"""Real training runs to check schedules on: a character-level transformer on Shakespeare (optional extra
`[train]`: `pip install "lrcontrol[train]"`), trained by `train(config, schedule, seed, out)` into `LossCurve`
CSVs.
Importing this package needs no extra; loading the data does."""

from .data import Corpus, load_corpus
from .harness import TrainConfig, TrainResult, schedule_rates, train
from .model import SIZES, ModelConfig, Transformer, init_model

__all__ = ["Corpus", "load_corpus", "TrainConfig", "TrainResult", "schedule_rates", "train", "SIZES",
           "ModelConfig",
           "Transformer", "init_model"]
