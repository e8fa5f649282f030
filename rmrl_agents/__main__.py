"""``python -m rmrl_agents ...`` = the ``rmrl`` command."""

import sys

from rmrl_agents.cli import main

sys.exit(main())
