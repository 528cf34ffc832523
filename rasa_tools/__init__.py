"""Code that runs inside the Rasa environment (Python 3.10): custom NLU components, the
policies and the parse tool used by `bot classify`. Nothing here may import `bot` (Python 3.11).

Importing the package (Rasa does, to load our components) installs `fastpaths`."""
from rasa_tools import fastpaths

fastpaths.install()
