"""epu-mapper: where and when UK women are far from an open early pregnancy unit."""

__version__ = "0.1.0"
