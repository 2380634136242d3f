"""The data-centric scaling study: cached steps from real text to corpora, the training grid and its runner, the
results table, fits, effects and the report."""
