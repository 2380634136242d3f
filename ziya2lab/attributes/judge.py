"""The ``judge`` back-end: a local Hugging Face causal LM answers the Fig. 8 rubric question per document.

The model is loaded from a local directory only (nothing is fetched from a hub). Its greedy answer is parsed for
the rubric's 1/0; the severity is the model's probability of "1" against "0" at the first answer token, which
also decides a document whose answer holds neither digit. With a real instruct model this is the paper's
annotation protocol with an LLM in the annotator's place; a tiny random model exercises only the plumbing.
"""

from __future__ import annotations

import re
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from ziya2lab.attributes.config import JudgeConfig
from ziya2lab.attributes.flags import DocumentFlag

# Fig. 8's annotation questions; 1 = the document has the problem.
RUBRIC_QUESTIONS = {
    "coherence": (
        "Does the given text contain meaningless information such as advertisements or a URL navigation bar? "
        "Also determine whether the multiple pieces of information in this text are unrelated to each other."
    ),
    "readability": (
        "Does the given text have grammatical errors or punctuation errors, such as incomplete sentences?"
    ),
}
ANSWER_DIGIT = re.compile(r"[01]")


def rubric_prompt(attribute: str, text: str) -> str:
    return (
        f"{RUBRIC_QUESTIONS[attribute]} If yes, mark it as 1, otherwise mark it as 0.\n\n"
        f"Text:\n{text}\n\nAnswer with a single digit, 1 or 0.\nAnswer:"
    )


def parse_answer(answer: str) -> bool | None:
    """The first 0/1 in the model's answer, or None when it gave neither."""
    match = ANSWER_DIGIT.search(answer)
    return None if match is None else match.group() == "1"


class JudgeRater:
    """Flags documents by asking a local causal LM the rubric question of ``attribute``."""

    def __init__(self, attribute: str, cfg: JudgeConfig) -> None:
        if attribute not in RUBRIC_QUESTIONS:
            raise KeyError(f"no Fig. 8 rubric question for {attribute!r}; known: {', '.join(RUBRIC_QUESTIONS)}")
        if not cfg.model_path:
            raise ValueError(f"attributes.{attribute}.judge.model_path is empty: give a local causal LM directory")
        path = Path(cfg.model_path)
        if not path.is_dir():
            raise FileNotFoundError(f"attributes.{attribute}.judge.model_path={path}: no such model directory")
        self.attribute, self.cfg = attribute, cfg
        self.tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        self.model = AutoModelForCausalLM.from_pretrained(
            path, local_files_only=True, torch_dtype=getattr(torch, cfg.dtype)
        ).to(cfg.device).eval()
        self.digit_ids = [self.tokenizer.encode(digit, add_special_tokens=False)[-1] for digit in "01"]

    def _input_ids(self, text: str) -> torch.Tensor:
        prompt = rubric_prompt(self.attribute, text[: self.cfg.max_document_chars])
        if self.tokenizer.chat_template:
            return self.tokenizer.apply_chat_template(
                [{"role": "user", "content": prompt}], add_generation_prompt=True, return_tensors="pt"
            )
        return self.tokenizer(prompt, return_tensors="pt").input_ids

    @torch.no_grad()
    def rate(self, docs: list[dict]) -> list[DocumentFlag]:
        flags = []
        pad_id = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else self.tokenizer.eos_token_id
        for index, doc in enumerate(docs):
            input_ids = self._input_ids(doc["text"]).to(self.cfg.device)
            output = self.model.generate(
                input_ids, attention_mask=torch.ones_like(input_ids), max_new_tokens=self.cfg.max_new_tokens,
                do_sample=False, output_scores=True, return_dict_in_generate=True, pad_token_id=pad_id,
            )
            answer = self.tokenizer.decode(output.sequences[0, input_ids.shape[1]:], skip_special_tokens=True)
            digit_logits = output.scores[0][0, self.digit_ids].float()
            p_one = float(torch.softmax(digit_logits, dim=0)[1])
            parsed = parse_answer(answer)
            reasons = [f"judge answered {answer.strip()[:20]!r}"]
            if parsed is None:
                reasons.append("no 0/1 in the answer: decided by p(1)")
            flags.append(DocumentFlag(str(doc.get("id", index)), p_one > 0.5 if parsed is None else parsed, p_one,
                                      reasons))
        return flags
