"""Tiny RANDOM-weight models of the architectures behind the task types of issue 15: CLIP (zero-shot image
classification), a ControlNet for the tiny Stable Diffusion of tests/tiny_models.py, and ModelScope's
text-to-video UNet3D pipeline. Written with save_pretrained (safetensors), a few MB each; their
outputs are noise, so tests that use them assert mechanics only."""

from __future__ import annotations

import json
from pathlib import Path

from tests.tiny_models import _byte_symbols


def _clip_tokenizer(folder: Path):
    import transformers as tf

    folder.mkdir(parents=True, exist_ok=True)
    symbols = _byte_symbols()
    vocab = symbols + [s + "</w>" for s in symbols] + ["<|startoftext|>", "<|endoftext|>"]
    (folder / "vocab.json").write_text(json.dumps({s: i for i, s in enumerate(vocab)}))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    return tf.CLIPTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"), model_max_length=77)


def _clip_text(tok):
    import transformers as tf

    return tf.CLIPTextConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=37, num_hidden_layers=2,
                             num_attention_heads=2, max_position_embeddings=77, projection_dim=32,
                             bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=1)


def clip(folder: Path) -> Path:
    import transformers as tf

    tok = _clip_tokenizer(folder.with_name(folder.name + "-tok"))
    vision = tf.CLIPVisionConfig(hidden_size=32, intermediate_size=37, num_hidden_layers=2, num_attention_heads=2,
                                 image_size=32, patch_size=8, projection_dim=32)
    cfg = tf.CLIPConfig(text_config=_clip_text(tok).to_dict(), vision_config=vision.to_dict(), projection_dim=32)
    proc = tf.CLIPProcessor(image_processor=tf.CLIPImageProcessor(size={"shortest_edge": 32},
                                                                  crop_size={"height": 32, "width": 32}),
                            tokenizer=tok)
    model = tf.CLIPModel(cfg).eval()
    model.save_pretrained(folder, safe_serialization=True)
    proc.save_pretrained(folder)
    return folder


def controlnet(folder: Path) -> Path:
    """A ControlNet matching tiny_stable_diffusion's UNet (2 blocks; VAE scale 2 = one downsampling
    in the conditioning embedding)."""
    import torch
    from diffusers import ControlNetModel

    torch.manual_seed(0)
    net = ControlNetModel(block_out_channels=(32, 64), layers_per_block=1, in_channels=4,
                          down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"), cross_attention_dim=32,
                          attention_head_dim=(2, 4), norm_num_groups=32, conditioning_embedding_out_channels=(16, 32))
    net.save_pretrained(folder, safe_serialization=True)
    return folder


def text_to_video(folder: Path) -> Path:
    """ModelScope's TextToVideoSDPipeline: UNet3D, VAE, CLIP text encoder, DDIM."""
    import torch
    import transformers as tf
    from diffusers import AutoencoderKL, DDIMScheduler, TextToVideoSDPipeline, UNet3DConditionModel

    torch.manual_seed(0)
    unet = UNet3DConditionModel(block_out_channels=(32, 64), layers_per_block=1, sample_size=16, in_channels=4,
                                out_channels=4, down_block_types=("CrossAttnDownBlock3D", "DownBlock3D"),
                                up_block_types=("UpBlock3D", "CrossAttnUpBlock3D"), cross_attention_dim=32,
                                attention_head_dim=4, norm_num_groups=32)
    vae = AutoencoderKL(block_out_channels=[32, 64], in_channels=3, out_channels=3,
                        down_block_types=["DownEncoderBlock2D"] * 2, up_block_types=["UpDecoderBlock2D"] * 2,
                        latent_channels=4, norm_num_groups=32, sample_size=32)
    tok = _clip_tokenizer(folder.with_name(folder.name + "-tok"))
    text = tf.CLIPTextModel(_clip_text(tok))
    scheduler = DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", clip_sample=False,
                              set_alpha_to_one=False, steps_offset=1)
    pipe = TextToVideoSDPipeline(vae=vae, text_encoder=text, tokenizer=tok, unet=unet, scheduler=scheduler)
    pipe.save_pretrained(folder, safe_serialization=True)
    return folder
