"""The VQ-VAE of VqVae.Functional as a PyTorch module, to load our checkpoints with strict
``load_state_dict`` (DESIGN §4 architectures, §6 checkpoint names), EMA buffers included.

    import vqvae_torch
    model = vqvae_torch.load("runs/latest/model.safetensors")   # builds from the stored config, strict
    x_hat, z_e, z_q, codes = model(x)                            # x: [B, C, 28, 28] float32

Only the Python standard library and torch are needed (the safetensors file is read by hand).
Kept in sync with src/VqVae.Functional/Model/Architectures.cs and checked by
tests/fixtures/check_torch_module.py against checkpoints the .NET tool writes.
"""
import json
import struct
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = ["VectorQuantizer", "ResidualStack", "VQVAE", "build", "load", "read_safetensors", "PRESETS"]

# The presets of src/VqVae.Functional/Model/VqVaeConfig.cs, in the checkpoint's config JSON form.
PRESETS = {
    "mnist": dict(channels=1, hidden=128, codebook=512, dim=64, beta=0.25, architecture="reference",
                  reconstruction="mse", quantizer="straight", residual_layers=0, residual_hidden=0),
    "small": dict(channels=1, hidden=8, codebook=16, dim=4, beta=0.25, architecture="reference",
                  reconstruction="mse", quantizer="straight", residual_layers=0, residual_hidden=0),
    "mnistSmall": dict(channels=1, hidden=64, codebook=128, dim=16, beta=0.25, architecture="compact",
                       reconstruction="mse_over_variance", quantizer="straight", residual_layers=0, residual_hidden=0),
    "paper": dict(channels=1, hidden=256, codebook=512, dim=64, beta=0.25, architecture="residual",
                  reconstruction="mse_over_variance", quantizer="straight", residual_layers=2, residual_hidden=0),
}


class VectorQuantizer(nn.Module):
    """Nearest code by ‖z‖² + ‖e‖² − 2 z·e (ties → lowest index), straight-through decoder input.
    State: ``embedding.weight`` [K, D]; with ``ema=True`` also the buffers ``cluster_size`` [K]
    and ``ema_w`` [K, D] (our starting values: counts 1, sums = the codebook)."""

    def __init__(self, K, D, ema=False, decay=0.99, epsilon=1e-5):
        super().__init__()
        self.embedding = nn.Embedding(K, D)
        nn.init.uniform_(self.embedding.weight, -1.0 / K, 1.0 / K)
        self.ema, self.decay, self.epsilon = ema, decay, epsilon
        if ema:
            self.embedding.weight.requires_grad_(False)   # the EMA codebook gets no gradient
            self.register_buffer("cluster_size", torch.ones(K))
            self.register_buffer("ema_w", self.embedding.weight.detach().clone())

    def forward(self, z_e):
        """z_e [B, D, H, W] → (decoder input, z_q, codes [B, H, W], codebook loss, commitment loss)."""
        B, D, H, W = z_e.shape
        rows = z_e.permute(0, 2, 3, 1).reshape(-1, D)
        e = self.embedding.weight
        dist = (rows ** 2).sum(1, keepdim=True) + (e ** 2).sum(1) - 2 * rows @ e.t()
        codes = dist.argmin(1)
        z_q = e[codes].reshape(B, H, W, D).permute(0, 3, 1, 2)
        codebook = ((z_q - z_e.detach()) ** 2).mean()
        commitment = ((z_e - z_q.detach()) ** 2).mean()
        return z_e + (z_q - z_e).detach(), z_q, codes.reshape(B, H, W), codebook, commitment


class ResidualBlock(nn.Module):
    """x + Conv1x1(ReLU(Conv3x3(ReLU(x)))); state_dict names block.1.*, block.3.*."""

    def __init__(self, h, inner):
        super().__init__()
        self.block = nn.Sequential(nn.ReLU(), nn.Conv2d(h, inner, 3, padding=1), nn.ReLU(), nn.Conv2d(inner, h, 1))

    def forward(self, x):
        return x + self.block(x)


class ResidualStack(nn.Module):
    """Blocks in sequence, then a ReLU; state_dict names layers.{i}.block.*."""

    def __init__(self, n, h, inner):
        super().__init__()
        self.layers = nn.ModuleList([ResidualBlock(h, inner) for _ in range(n)])

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return F.relu(x)


def _stacks(c):
    C, h, D, arch = c["channels"], c["hidden"], c["dim"], c["architecture"]
    if arch == "reference":
        return (nn.Sequential(nn.Conv2d(C, h, 4, 2, 1), nn.ReLU(), nn.Conv2d(h, h, 4, 2, 1), nn.ReLU(),
                              nn.Conv2d(h, D, 3, 1, 1)),
                nn.Sequential(nn.Conv2d(D, h, 3, 1, 1), nn.ReLU(), nn.ConvTranspose2d(h, h, 4, 2, 1), nn.ReLU(),
                              nn.ConvTranspose2d(h, C, 4, 2, 1), nn.Sigmoid()))
    if arch == "compact":
        return (nn.Sequential(nn.Conv2d(C, h // 2, 3, 2, 1), nn.ReLU(), nn.Conv2d(h // 2, h, 3, 2, 1), nn.ReLU(),
                              nn.Conv2d(h, D, 1)),
                nn.Sequential(nn.ConvTranspose2d(D, h, 3, 2, 1, output_padding=1), nn.ReLU(),
                              nn.ConvTranspose2d(h, h // 2, 3, 2, 1, output_padding=1), nn.ReLU(),
                              nn.ConvTranspose2d(h // 2, C, 3, 1, 1)))
    if arch == "residual":
        n, inner = c["residual_layers"], c["residual_hidden"] or h
        return (nn.Sequential(nn.Conv2d(C, h, 4, 2, 1), nn.ReLU(), nn.Conv2d(h, h, 4, 2, 1),
                              ResidualStack(n, h, inner), nn.Conv2d(h, D, 1)),
                nn.Sequential(nn.Conv2d(D, h, 3, 1, 1), ResidualStack(n, h, inner),
                              nn.ConvTranspose2d(h, h, 4, 2, 1), nn.ReLU(), nn.ConvTranspose2d(h, C, 4, 2, 1)))
    raise ValueError(f"unknown architecture {arch!r}; expected reference, compact or residual")


class VQVAE(nn.Module):
    """encoder · vq · decoder; ``forward(x)`` → (x̂, z_e, z_q, codes), ``loss_terms(x)`` → dict of
    recon, codebook, commitment, total (DESIGN §4; with EMA: total = recon + β·commitment)."""

    def __init__(self, config):
        super().__init__()
        self.config = dict(config)
        encoder, decoder = _stacks(self.config)
        ema = self.config.get("quantizer", "straight") == "ema"
        vq = VectorQuantizer(self.config["codebook"], self.config["dim"], ema,
                             self.config.get("ema_decay", 0.99), self.config.get("ema_epsilon", 1e-5))
        self.encoder, self.vq, self.decoder = encoder, vq, decoder

    def forward(self, x):
        z_e = self.encoder(x)
        dec_in, z_q, codes, _, _ = self.vq(z_e)
        return self.decoder(dec_in), z_e, z_q, codes

    def loss_terms(self, x):
        z_e = self.encoder(x)
        dec_in, _, _, codebook, commitment = self.vq(z_e)
        x_hat = self.decoder(dec_in)
        kind = self.config.get("reconstruction", "mse")
        if kind == "mse":
            recon = ((x_hat - x) ** 2).mean()
        elif kind == "mse_over_variance":
            recon = ((x_hat - x) ** 2).mean() / x.detach().var(unbiased=False)
        elif kind == "bce":
            recon = F.binary_cross_entropy(x_hat, x)
        else:
            raise ValueError(f"unknown reconstruction {kind!r}")
        beta = self.config["beta"]
        total = recon + beta * commitment if self.vq.ema else recon + codebook + beta * commitment
        return {"recon": recon, "codebook": codebook, "commitment": commitment, "total": total}


def build(config):
    """A fresh module for a config dict (a preset name, or the checkpoint's JSON config; missing keys from the preset)."""
    if isinstance(config, str):
        config = {"preset": config}
    base = dict(PRESETS.get(config.get("preset", ""), PRESETS["mnist"]))
    base.update(config)
    return VQVAE(base)


def read_safetensors(path):
    """(tensors by name, metadata dict) of a safetensors file of F32 tensors."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    meta = header.pop("__metadata__", {}) or {}
    body = data[8 + n:]
    tensors = {}
    for name, info in header.items():
        if info["dtype"] != "F32":
            raise ValueError(f"{path}: tensor {name!r} is {info['dtype']}, expected F32")
        a, b = info["data_offsets"]
        t = torch.frombuffer(bytearray(body[a:b]), dtype=torch.float32)
        tensors[name] = t.reshape(info["shape"]).clone()
    return tensors, meta


def load(path):
    """The model in a checkpoint of ours: built from ``__metadata__["config"]``, loaded strictly."""
    tensors, meta = read_safetensors(path)
    config = json.loads(meta["config"]) if "config" in meta else {}
    model = build(config)
    model.load_state_dict(tensors, strict=True)
    return model.eval()


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python3 vqvae_torch.py CHECKPOINT.safetensors")
    m = load(sys.argv[1])
    print(f"loaded {sys.argv[1]} strictly: {len(m.state_dict())} tensors, config {json.dumps(m.config)}")
