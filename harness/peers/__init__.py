"""Peers side by side: the harness against diffusers' UNet2DModel and schedulers on the same work."""

from ._compare import GUIDANCE_INTERVAL, PEERS_FILE, peers_table, run_peers
from ._diffusers import load_diffusers, peer_schedulers, peer_unet

__all__ = ["GUIDANCE_INTERVAL", "PEERS_FILE", "load_diffusers", "peer_schedulers", "peer_unet", "peers_table", "run_peers"]
