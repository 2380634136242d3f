"""Expand the LLaMA-2 tokenizer with frequent Chinese characters (Ziya2 §4) and report before/after efficiency: an
alias of ``python -m ziya2lab.study.expand_tokenizer`` (``ziya2lab/study/expand_tokenizer.py``)."""

from ziya2lab.study.expand_tokenizer import main

if __name__ == "__main__":
    main()
