"""The LLaMA-2 model shared by every run, from a CPU toy to 13B (``llama.py``), and its FLOP accounting."""

from ziya2lab.model.llama import Llama, LlamaBlock, LlamaConfig, LlamaOutput

__all__ = ["Llama", "LlamaBlock", "LlamaConfig", "LlamaOutput"]
