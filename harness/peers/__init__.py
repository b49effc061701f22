"""Peers side by side: the harness against diffusers' UNet2DModel and schedulers on the same work."""

from ._compare import run_peers
from ._diffusers import load_diffusers, peer_schedulers, peer_unet

__all__ = ["load_diffusers", "peer_schedulers", "peer_unet", "run_peers"]
