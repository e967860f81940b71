"""The VQ-VAE-2 of VqVae.Functional (src/VqVae.Functional/Hierarchical/) as a PyTorch module, to load our
VQ-VAE-2 checkpoints with strict ``load_state_dict``. Module names follow rosinality/vq-vae-2-pytorch's
layout (enc_b, enc_t, quantize_conv_t, quantize_t, dec_t, quantize_conv_b, quantize_b, upsample_t, dec);
the quantizers are vqvae_torch.VectorQuantizer ([K, D] ``embedding.weight``).

    import vqvae2_torch
    model = vqvae2_torch.load("runs/v2/model.safetensors")   # strict: no missing or unexpected keys
    terms = model.loss_terms(x)                              # recon, codebook_t, codebook_b, commitment_t, commitment_b, total

Images are padded with black up to sides that are multiples of 8 and the reconstruction is cropped back,
as the .NET model does. Checked by tests/fixtures/make_vqvae2_fixture.py (a .NET test compares values and gradients).
"""
import json
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vqvae_torch import VectorQuantizer, ResidualStack, read_safetensors  # noqa: E402

__all__ = ["VQVAE2", "load", "MNIST"]

# The vqvae2 preset (VqVae2Config.Mnist), in the checkpoint's config JSON form.
MNIST = dict(Channels=1, Hidden=64, TopCodebookSize=128, BottomCodebookSize=128, CodeDim=32, Beta=0.25,
             ResidualLayers=1, ResidualHidden=0, Reconstruction="Mse", Quantizer="Straight",
             EmaDecay=0.99, EmaEpsilon=1e-5, InputShift=-0.5, Preset="vqvae2")


def _padded(side):
    return (side + 7) // 8 * 8


class VQVAE2(nn.Module):
    def __init__(self, config):
        super().__init__()
        c = dict(MNIST)
        c.update(config)
        self.config = c
        C, h, D, n = c["Channels"], c["Hidden"], c["CodeDim"], c["ResidualLayers"]
        h2 = max(1, h // 2)
        r = c["ResidualHidden"] or h2
        ema = c["Quantizer"] == "Ema"
        self.enc_b = nn.Sequential(nn.Conv2d(C, h2, 4, 2, 1), nn.ReLU(), nn.Conv2d(h2, h, 4, 2, 1), nn.ReLU(),
                                   nn.Conv2d(h, h, 3, 1, 1), ResidualStack(n, h, r))
        self.enc_t = nn.Sequential(nn.Conv2d(h, h2, 4, 2, 1), nn.ReLU(), nn.Conv2d(h2, h, 3, 1, 1), ResidualStack(n, h, r))
        self.quantize_conv_t = nn.Conv2d(h, D, 1)
        self.quantize_t = VectorQuantizer(c["TopCodebookSize"], D, ema, c["EmaDecay"], c["EmaEpsilon"])
        self.dec_t = nn.Sequential(nn.Conv2d(D, h, 3, 1, 1), ResidualStack(n, h, r), nn.ConvTranspose2d(h, D, 4, 2, 1))
        self.quantize_conv_b = nn.Conv2d(D + h, D, 1)
        self.quantize_b = VectorQuantizer(c["BottomCodebookSize"], D, ema, c["EmaDecay"], c["EmaEpsilon"])
        self.upsample_t = nn.ConvTranspose2d(D, D, 4, 2, 1)
        self.dec = nn.Sequential(nn.Conv2d(2 * D, h, 3, 1, 1), ResidualStack(n, h, r), nn.ConvTranspose2d(h, h2, 4, 2, 1),
                                 nn.ReLU(), nn.ConvTranspose2d(h2, C, 4, 2, 1))

    def forward(self, x):
        """x [B, C, H, W] pixels in [0, 1] → (x̂ [B, C, H, W], top codes, bottom codes, per-level terms)."""
        H, W = x.shape[2], x.shape[3]
        ph, pw = _padded(H) - H, _padded(W) - W
        xp = F.pad(x, (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2)) + self.config["InputShift"]
        f = self.enc_b(xp)
        qt_in, _, codes_t, cb_t, cm_t = self.quantize_t(self.quantize_conv_t(self.enc_t(f)))
        qb_in, _, codes_b, cb_b, cm_b = self.quantize_b(self.quantize_conv_b(torch.cat([f, self.dec_t(qt_in)], 1)))
        y = self.dec(torch.cat([self.upsample_t(qt_in), qb_in], 1))
        y = y[:, :, ph // 2:ph // 2 + H, pw // 2:pw // 2 + W] - self.config["InputShift"]
        return y, codes_t, codes_b, (cb_t, cb_b, cm_t, cm_b)

    def loss_terms(self, x):
        x_hat, _, _, (cb_t, cb_b, cm_t, cm_b) = self(x)
        recon = ((x_hat - x) ** 2).mean()
        if self.config["Reconstruction"] == "MseOverVariance":
            recon = recon / x.detach().var(unbiased=False)
        beta = self.config["Beta"]
        ema = self.config["Quantizer"] == "Ema"
        total = recon + beta * (cm_t + cm_b) if ema else recon + cb_t + cb_b + beta * (cm_t + cm_b)
        return {"recon": recon, "codebook_t": cb_t, "codebook_b": cb_b, "commitment_t": cm_t, "commitment_b": cm_b, "total": total}


def load(path):
    """The VQ-VAE-2 in a checkpoint of ours (``model`` = ``vqvae2``): built from its config, loaded strictly."""
    tensors, meta = read_safetensors(path)
    if meta.get("model") != "vqvae2":
        raise ValueError(f"{path}: not a VQ-VAE-2 checkpoint (metadata model = {meta.get('model')!r})")
    model = VQVAE2(json.loads(meta["config"]))
    model.load_state_dict(tensors, strict=True)
    return model.eval()


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python3 vqvae2_torch.py CHECKPOINT.safetensors")
    m = load(sys.argv[1])
    print(f"loaded {sys.argv[1]} strictly: {len(m.state_dict())} tensors, config {json.dumps(m.config)}")
