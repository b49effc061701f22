"""Peers side by side: the harness against diffusers' UNet2DModel and schedulers on the same work."""

from ._compare import GUIDANCE_INTERVAL, PEERS_FILE, run_peers
from ._diffusers import load_diffusers, peer_schedulers, peer_unet
from ._quality import QUALITY_FILE, quality_lines, quality_table, run_peer_quality, run_time, verdict
from ._table import peers_table

__all__ = ["GUIDANCE_INTERVAL", "PEERS_FILE", "QUALITY_FILE", "load_diffusers", "peer_schedulers", "peer_unet",
           "peers_table", "quality_lines", "quality_table", "run_peer_quality", "run_peers", "run_time", "verdict"]
