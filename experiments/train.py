"""Train a LLaMA with the ziya2lab trainer: an alias of ``python -m ziya2lab.train`` (``ziya2lab/train/app.py``).

    python experiments/train.py                                   # smallest model, packaged corpus, ~1 min on CPU
    python experiments/train.py model=llama_10m train.max_tokens=2000000 train.max_steps=null train.schedule=wsd
    ACCELERATE_USE_CPU=1 torchrun --standalone --nproc_per_node 2 experiments/train.py   # 2-process DDP, CPU
"""

from ziya2lab.train.app import main

if __name__ == "__main__":
    main()
