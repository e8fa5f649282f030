"""Tiny random-weight Grounding DINO and SAM built from configs, saved like hub checkpoints.

No download: the BERT tokenizer is made from a small vocabulary file written here.
"""

from __future__ import annotations

from pathlib import Path

VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ".", "a", "black", "cell", "plate", "box", "shelf"]


def build_tiny_grounding_dino(out_dir: Path, seed: int = 0) -> Path:
    import torch
    from transformers import (
        BertConfig,
        BertTokenizer,
        GroundingDinoConfig,
        GroundingDinoForObjectDetection,
        GroundingDinoImageProcessorPil,
        GroundingDinoProcessor,
        SwinConfig,
    )

    out_dir.mkdir(parents=True, exist_ok=True)
    vocab = out_dir / "vocab.txt"
    vocab.write_text("\n".join(VOCAB) + "\n")
    torch.manual_seed(seed)
    text = BertConfig(
        vocab_size=len(VOCAB),
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
    )
    backbone = SwinConfig(
        image_size=64, patch_size=4, embed_dim=16, depths=[1, 1, 1, 1], num_heads=[1, 1, 1, 1], window_size=4,
        out_features=["stage2", "stage3", "stage4"],
    )  # fmt: skip
    config = GroundingDinoConfig(
        backbone_config=backbone, text_config=text, num_queries=20, encoder_layers=1, decoder_layers=2,
        encoder_ffn_dim=32, decoder_ffn_dim=32, d_model=32, encoder_attention_heads=2, decoder_attention_heads=2,
        num_feature_levels=3, encoder_n_points=2, decoder_n_points=2, max_text_len=16,
    )  # fmt: skip
    GroundingDinoForObjectDetection(config).eval().save_pretrained(out_dir)
    processor = GroundingDinoProcessor(
        image_processor=GroundingDinoImageProcessorPil(size={"shortest_edge": 64, "longest_edge": 96}),
        tokenizer=BertTokenizer(str(vocab)),
    )
    processor.save_pretrained(out_dir)
    return out_dir


def build_tiny_sam(out_dir: Path, seed: int = 0) -> Path:
    import torch
    from transformers import (
        SamConfig,
        SamImageProcessorPil,
        SamMaskDecoderConfig,
        SamModel,
        SamProcessor,
        SamPromptEncoderConfig,
        SamVisionConfig,
    )

    out_dir.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    config = SamConfig(
        vision_config=SamVisionConfig(
            hidden_size=32, num_hidden_layers=1, num_attention_heads=2, mlp_dim=64, output_channels=16,
            image_size=64, patch_size=16, window_size=2, global_attn_indexes=[0], num_pos_feats=8,
        ),
        prompt_encoder_config=SamPromptEncoderConfig(hidden_size=16, image_size=64, patch_size=16, mask_input_channels=4),
        mask_decoder_config=SamMaskDecoderConfig(hidden_size=16, num_hidden_layers=1, num_attention_heads=2, mlp_dim=32, iou_head_hidden_dim=16),
    )  # fmt: skip
    SamModel(config).eval().save_pretrained(out_dir)
    SamProcessor(
        image_processor=SamImageProcessorPil(size={"longest_edge": 64}, pad_size={"height": 64, "width": 64})
    ).save_pretrained(out_dir)
    return out_dir
