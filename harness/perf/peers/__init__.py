"""Peers side by side: the harness against diffusers' UNet2DModel and schedulers on the same work."""

from ._compare import GUIDANCE_INTERVAL, LIKE_ROUNDS, PEERS_FILE, run_peers
from ._diffusers import load_diffusers, peer_schedulers, peer_unet
from ._quality import QUALITY_FILE, quality_lines, quality_table, run_peer_quality, run_time, verdict
from ._sample import sample_peer, sample_peer_as_shipped
from ._table import LIMITED, Judged, Speeds, peers_markdown, peers_table, side_by_side
from ._time_to_quality import TIME_FILE, equal_quality, run_time_to_quality, time_lines
from ._train import train_peer

__all__ = ["GUIDANCE_INTERVAL", "LIKE_ROUNDS", "LIMITED", "PEERS_FILE", "QUALITY_FILE", "TIME_FILE", "Judged",
           "equal_quality", "load_diffusers", "peer_schedulers", "peer_unet", "peers_markdown", "peers_table",
           "quality_lines", "quality_table", "run_peer_quality", "run_peers", "run_time_to_quality", "run_time",
           "sample_peer", "sample_peer_as_shipped", "side_by_side", "Speeds", "time_lines", "train_peer", "verdict"]
