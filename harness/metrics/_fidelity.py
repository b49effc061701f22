"""FID, KID, precision and recall between two feature sets, computed by torch-fidelity's own code."""

from __future__ import annotations

import torch
from torch import Tensor

from .._util import ConfigError

KID_SUBSETS = 100  # torch-fidelity's default
KID_SUBSET_SIZE = 1000  # torch-fidelity's default; smaller sets use their own size
PRC_NEIGHBORHOOD = 3  # k of the k-NN manifolds (Kynkaanniemi et al. 2019), torch-fidelity's default


def fidelity(generated: Tensor, reference: Tensor, metrics: set[str], seed: int = 0) -> dict[str, float]:
    """Requested subset of {fid, kid, prc} for generated (N, D) against reference (M, D) features.

    FID: Heusel et al. 2017. KID: Binkowski et al. 2018, unbiased MMD^2 with a cubic polynomial
    kernel over random subsets. Precision/recall: Kynkaanniemi et al. 2019, with a random reference
    subset of the generated set's size (k-NN radii depend on the set size; the paper uses equal sizes).
    """
    from torch_fidelity.metric_fid import fid_features_to_statistics, fid_statistics_to_metric  # see _features
    from torch_fidelity.metric_kid import kid_features_to_metric
    from torch_fidelity.metric_prc import prc_features_to_metric

    out: dict[str, float] = {}
    if "fid" in metrics:
        stats = fid_features_to_statistics(generated), fid_features_to_statistics(reference)
        out["fid"] = float(fid_statistics_to_metric(*stats, verbose=False)["frechet_inception_distance"])
    if "kid" in metrics:
        size = min(KID_SUBSET_SIZE, len(generated), len(reference))
        kid = kid_features_to_metric(generated, reference, kid_subsets=KID_SUBSETS, kid_subset_size=size,
                                     kid_degree=3, kid_gamma=None, kid_coef0=1, kid_kernel="poly",
                                     rng_seed=seed, verbose=False)
        out["kid"] = float(kid["kernel_inception_distance_mean"])
        out["kid_std"] = float(kid["kernel_inception_distance_std"])
        out["kid_subset_size"] = size
    if "prc" in metrics:
        if len(generated) <= PRC_NEIGHBORHOOD:
            raise ConfigError(f"precision/recall needs more than {PRC_NEIGHBORHOOD} generated digits (each one's "
                              f"{PRC_NEIGHBORHOOD} nearest neighbours), got {len(generated)}: raise "
                              f"eval.samples_per_class or leave out prc")
        pick = torch.randperm(len(reference), generator=torch.Generator().manual_seed(seed))[:len(generated)]
        prc = prc_features_to_metric(generated, reference[pick], prc_neighborhood=PRC_NEIGHBORHOOD,
                                     prc_batch_size=10_000, verbose=False, cuda=False)
        out["precision"] = float(prc["precision"])
        out["recall"] = float(prc["recall"])
    return out
