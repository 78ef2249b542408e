"""The k-means training math: each instance streams, then the instances' centres are merged and reduced to k.

As AWS describes it (developer guide "How K-Means Clustering Works"; Liberty et al., "Elastic Machine Learning
Algorithms in Amazon SageMaker", SIGMOD 2020): every instance runs web-scale mini-batch k-means over its shard
(`mini_batch_size` rows a step, `epochs` passes, centres seeded by `init_method`), keeping K = k x
`extra_center_factor` centres, each with the weight of the rows it absorbed; with `half_life_time_size` h > 0 a
row's weight halves after h newer rows. The instances' weighted centres are then merged, and local Lloyd
(`local_lloyd_*`: init method, trials, iterations, tolerance) reduces them to the k centres of the model.

scikit-learn does the work: `MiniBatchKMeans.partial_fit` is the stream's step (the web-scale update: each centre
moves toward its batch mean at the rate weight of the batch / weight absorbed so far), and `KMeans` with
`sample_weight` the reduction. Its tolerance is on centre movement, where AWS's is on the change in loss.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from sklearn.cluster import KMeans, MiniBatchKMeans
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import pairwise_distances_argmin_min

from local_aws.training.hyperparameters import KMeansHyperparameters

SKLEARN_INIT = {"random": "random", "kmeans++": "k-means++"}
RESCALE_EXPONENT = 32.0  # decayed weights grow as 2^(rows / h); fold them back before float32 loses them


@dataclass(frozen=True)
class WeightedCentres:
    """What one instance learned: its centres, the weight each absorbed, and how many rows it read (per epoch)."""

    centres: npt.NDArray[np.float64]
    weights: npt.NDArray[np.float64]
    rows: int


class StreamingKMeans:
    """Web-scale mini-batch k-means over one instance's stream of row batches."""

    def __init__(self, params: KMeansHyperparameters, seed: int) -> None:
        self.params = params
        self.rows = 0  # rows read in the first epoch (what the shard holds)
        self._epoch_rows = 0
        self._pending: list[npt.NDArray[np.float32]] = []  # rows held until there are K of them to seed from
        self._decay_position = 0.0  # rows seen since the weights were last folded back, in half-lives
        self._model = MiniBatchKMeans(
            n_clusters=params.centres_per_instance,
            init=SKLEARN_INIT[params.init_method],
            batch_size=params.mini_batch_size,
            n_init=1,
            compute_labels=False,
            random_state=seed,
        )
        self._fitted = False

    def start_epoch(self) -> None:
        self._epoch_rows = 0

    def end_epoch(self, epoch: int) -> None:
        if epoch == 0:
            self.rows = self._epoch_rows

    def update(self, batch: npt.NDArray[np.float32]) -> None:
        """One mini-batch step (the first waits until K rows have come, to seed K centres from)."""
        self._epoch_rows += len(batch)
        if not self._fitted:
            self._pending.append(batch)
            if sum(len(part) for part in self._pending) < self.params.centres_per_instance:
                return
            batch = np.concatenate(self._pending)
            self._pending = []
        self._model.partial_fit(batch, sample_weight=self._weights(len(batch)))
        self._fitted = True

    def result(self) -> WeightedCentres:
        """The centres and their weights; a shard with fewer than K rows is its own rows, each of weight one."""
        if not self._fitted:
            rows = np.concatenate(self._pending) if self._pending else np.empty((0, self.params.feature_dim))
            return WeightedCentres(rows.astype(np.float64), np.ones(len(rows)), self.rows)
        counts = np.asarray(self._model._counts, dtype=np.float64)  # the weight each centre absorbed
        return WeightedCentres(self._model.cluster_centers_.astype(np.float64), counts, self.rows)

    def _weights(self, count: int) -> npt.NDArray[np.float32] | None:
        """Each row's weight: 1 without decay; with a half-life, 2^(position / h), so older rows count less."""
        half_life = self.params.half_life_time_size
        if not half_life:
            return None
        if self._fitted and self._decay_position > RESCALE_EXPONENT:
            self._model._counts *= np.float32(2.0**-self._decay_position)
            self._decay_position = 0.0
        positions = self._decay_position + np.arange(count) / half_life
        self._decay_position += count / half_life
        return np.exp2(positions).astype(np.float32)


def reduce_centres(
    parts: Iterable[WeightedCentres], params: KMeansHyperparameters, seed: int
) -> npt.NDArray[np.float32]:
    """The instances' weighted centres merged and reduced to k by local Lloyd (best of `local_lloyd_num_trials`)."""
    return reduce_centres_with_msd(parts, params, seed)[0]


def reduce_centres_with_msd(
    parts: Iterable[WeightedCentres], params: KMeansHyperparameters, seed: int
) -> tuple[npt.NDArray[np.float32], float]:
    """`reduce_centres`, and the best trial's weighted mean squared distance of the merged centres to the k
    centroids: what the algorithm reports as `train msd` after "shrinking N centers into k" (a real job's log,
    sagemaker-python-sdk#2815: the train msd equals the best of its "local kmeans attempt" lines)."""
    merged = [part for part in parts if len(part.centres)]
    centres = np.concatenate([part.centres for part in merged])
    weights = np.concatenate([part.weights for part in merged])
    keep = weights > 0
    lloyd = KMeans(
        n_clusters=params.k,
        init=SKLEARN_INIT[params.local_lloyd_init_method],
        n_init=params.local_lloyd_num_trials,
        max_iter=params.local_lloyd_max_iter,
        tol=params.local_lloyd_tol,
        random_state=seed,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # fewer distinct centres than k: some coincide
        lloyd.fit(centres[keep], sample_weight=weights[keep])
    msd = float(lloyd.inertia_) / float(weights[keep].sum())
    return np.ascontiguousarray(lloyd.cluster_centers_, dtype=np.float32), msd


@dataclass
class Score:
    """Squared distances of scored rows to their nearest centroid: sum and count."""

    ssd: float = 0.0
    rows: int = 0

    def add(self, batch: npt.NDArray[np.float32], centroids: npt.NDArray[np.float32]) -> None:
        _, distances = pairwise_distances_argmin_min(batch.astype(np.float64), centroids.astype(np.float64))
        self.ssd += float(np.square(distances).sum())
        self.rows += len(batch)

    @property
    def msd(self) -> float:
        return self.ssd / self.rows if self.rows else float("nan")
