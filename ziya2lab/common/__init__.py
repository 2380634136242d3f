"""Small utilities that every subpackage may import: content hashing, atomic writes, cache paths."""
