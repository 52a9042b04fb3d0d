"""Package discovery for setuptools; everything else is in pyproject.toml.

The import packages live under `flowreel` while the folders keep short names (pyproject's package-dir):
flowreel -> flowreel_api/, flowreel.trainer -> trainer/, flowreel.addon -> addon/. Every folder with an
__init__.py under them is a package of the wheel, so a new subpackage needs no entry anywhere.
"""

from setuptools import find_packages, setup


def under(package: str, folder: str) -> list[str]:
    """`package` and every package below it, found in `folder`."""
    return [package, *(f"{package}.{name}" for name in find_packages(folder))]


setup(packages=["flowreel", *under("flowreel.trainer", "trainer"), *under("flowreel.addon", "addon"),
                "flowreel.addon.blend_templates"])
