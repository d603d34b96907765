#!/usr/bin/env python3
"""Writes the GGUF fuzz seeds (tests/fuzz/corpus/gguf/*.gguf) with the PyPI `gguf` writer, an implementation
independent of ours: small files that still hold every metadata value type, tensors of float and block formats,
a custom alignment, and tiny SentencePiece-style and byte-level BPE vocabularies (so the fuzzer reaches the
vocabulary loader and the tokenizer). Run with the test venv: .venv/bin/python tests/fuzz/make_gguf_seeds.py
"""
import os

import numpy as np
from gguf import GGMLQuantizationType as Q, GGUFValueType as T, GGUFWriter

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "gguf")


def write(name, fill, arch="llama", alignment=None):
    w = GGUFWriter(os.path.join(OUT, name), arch)
    if alignment:
        w.add_custom_alignment(alignment)
    fill(w)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def all_types(w):
    w.add_name("fuzz seed")
    for key, vtype, val in [("u8", T.UINT8, 200), ("i8", T.INT8, -5), ("u16", T.UINT16, 60000), ("i16", T.INT16, -3),
                            ("u32", T.UINT32, 4000000000), ("i32", T.INT32, -7), ("u64", T.UINT64, 2**63),
                            ("i64", T.INT64, -2**40), ("f32", T.FLOAT32, 0.5), ("f64", T.FLOAT64, -1e300),
                            ("bool", T.BOOL, True), ("str", T.STRING, "h\u00e9llo")]:
        w.add_key_value("fuzz." + key, val, vtype)
    w.add_array("fuzz.ints", [1, -2, 3])
    w.add_array("fuzz.floats", [0.25, -4.0])
    w.add_array("fuzz.strings", ["a", "", "\u2581b"])
    w.add_array("fuzz.bools", [True, False])
    w.add_array("fuzz.nested", [[1, 2], ["x"]])
    w.add_context_length(64)
    w.add_embedding_length(8)
    w.add_block_count(1)
    w.add_head_count(2)
    rng = np.random.default_rng(7)
    w.add_tensor("token_embd.weight", rng.standard_normal((4, 8), dtype=np.float32))
    w.add_tensor("output_norm.weight", rng.standard_normal(8).astype(np.float16))
    w.add_tensor("blk.0.attn_q.weight", rng.integers(0, 255, (2, 34), dtype=np.uint8), raw_dtype=Q.Q8_0)
    w.add_tensor("blk.0.ffn_up.weight", rng.integers(0, 255, (1, 144), dtype=np.uint8), raw_dtype=Q.Q4_K)


def spm_vocab(w):
    tokens = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)] + \
             ["\u2581", "\u2581a", "ab", "\u2581hello", "\u2581world", "<|user|>"]
    types = [2, 3, 3] + [6] * 256 + [1, 1, 1, 1, 1, 4]
    w.add_tokenizer_model("llama")
    w.add_token_list(tokens)
    w.add_token_scores([0.0, 0.0, 0.0] + [-1000.0] * 256 + [-1.0, -2.0, -3.0, -4.0, -5.0, 0.0])
    w.add_token_types(types)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_unk_token_id(0)
    w.add_add_bos_token(True)
    w.add_add_space_prefix(True)


def bpe_vocab(w):
    # Byte-level BPE: the 256 bytes as GPT-2 writes them, then a few merges.
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    byte_tokens = [chr(c) for _, c in sorted(zip(bs, cs))]
    merges = ["\u0120 w", "o r", "\u0120w or", "l d", "\u0120wor ld", "h e", "he l"]
    tokens = byte_tokens + ["\u0120w", "or", "\u0120wor", "ld", "\u0120world", "he", "hel", "<|endoftext|>"]
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("gpt-2")
    w.add_token_list(tokens)
    w.add_token_types([1] * (len(tokens) - 1) + [3])
    w.add_token_merges(merges)
    w.add_bos_token_id(len(tokens) - 1)
    w.add_eos_token_id(len(tokens) - 1)


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    write("all-types.gguf", all_types)
    write("aligned-64.gguf", all_types, alignment=64)
    write("vocab-spm.gguf", spm_vocab)
    write("vocab-bpe.gguf", bpe_vocab, arch="gpt2")
