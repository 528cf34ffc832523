"""Code that runs inside the Rasa environment (Python 3.10): custom NLU components and the
parse tool used by `bot classify`. Nothing here may import `bot` (Python 3.11)."""
