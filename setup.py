"""Package discovery; the metadata lives in setup.cfg.

Every subpackage of rmrl_env and rmrl_agents ships, including ones added later. The MJCF folder
sits at the top of the checkout (assets/) and installs as rmrl_env.assets: setup.cfg maps it with
package_dir, which discovery cannot see, so it is named here.
"""

from setuptools import find_packages, setup

setup(packages=[*find_packages(include=["rmrl_env", "rmrl_env.*", "rmrl_agents", "rmrl_agents.*"]), "rmrl_env.assets"])
